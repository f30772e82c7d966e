#include "test_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <sstream>

namespace crawler::testing {

Web::Web(std::size_t hosts) {
  for (std::size_t i = 0; i < hosts; ++i) {
    servers_.push_back(std::make_unique<HttpTestServer>());
    servers_.back()->start();
  }
}

std::string Web::host(std::size_t host) const {
  return "127.0.0.1:" + std::to_string(servers_.at(host)->port());
}

std::string Web::url(std::size_t host, std::string_view path) const {
  return "http://" + this->host(host) + std::string(path);
}

void Web::page(std::size_t host, const std::string& path, const std::vector<std::string>& links,
               Route route) {
  std::vector<Link> spelled;
  for (const std::string& link : links) spelled.push_back({link, link});
  page_with(host, path, spelled, std::move(route));
}

void Web::page_with(std::size_t host, const std::string& path, const std::vector<Link>& links,
                    Route route) {
  route.path = path;
  route.links.clear();
  std::vector<std::string>& targets = graph_[url(host, path)];
  targets.clear();
  for (const Link& link : links) {
    route.links.push_back(link.href);
    if (!link.target.empty()) targets.push_back(link.target);  // "": not a page (mailto:...)
  }
  if (route.links.empty()) {  // a page without links is still an HTML page
    route.body = "<!DOCTYPE html>\n<html><head><title>" + path +
                 "</title></head><body><p>no links here</p></body></html>\n";
    route.content_type = "text/html; charset=utf-8";
  }
  servers_.at(host)->add(std::move(route));
}

void Web::robots(std::size_t host, const std::string& body) {
  servers_.at(host)->add({.path = "/robots.txt", .body = body, .content_type = "text/plain"});
}

std::map<std::string, int> Web::reachable(const std::vector<std::string>& seeds, int max_depth,
                                          const std::set<std::string>& scope) const {
  const auto host_of_url = [](const std::string& url) {
    const std::size_t start = url.find("://") + 3;
    return url.substr(start, url.find('/', start) - start);
  };
  std::map<std::string, int> depth;
  std::deque<std::string> queue;
  for (const std::string& seed : seeds) {
    if (depth.emplace(seed, 0).second) queue.push_back(seed);
  }
  while (!queue.empty()) {
    const std::string url = queue.front();
    queue.pop_front();
    const auto links = graph_.find(url);
    if (links == graph_.end() || depth[url] == max_depth) continue;
    for (const std::string& link : links->second) {
      if (!scope.contains(host_of_url(link))) continue;
      if (depth.emplace(link, depth[url] + 1).second) queue.push_back(link);
    }
  }
  return depth;
}

std::set<std::string> Web::pages() const {
  std::set<std::string> urls;
  for (const auto& [url, links] : graph_) urls.insert(url);
  return urls;
}

std::size_t Web::hits(const std::string& url) const {
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    const std::string origin = "http://" + host(i);
    if (url.starts_with(origin + "/")) {
      std::string path = url.substr(origin.size());
      path = path.substr(0, path.find('?'));
      return servers_[i]->hits(path);
    }
  }
  return 0;
}

Options test_options(Strategy strategy, std::size_t limit) {
  Options options;
  options.strategy = strategy;
  options.max_concurrency = limit;
  options.max_per_host = limit;
  options.connect_timeout = course::scaled(milliseconds(2'000));
  options.total_timeout = course::scaled(milliseconds(5'000));
  options.retry.max_retries = 2;
  options.retry.initial_backoff = 10ms;
  options.retry.max_backoff = 100ms;
  options.max_depth = 10;
  return options;
}

std::set<std::string> CrawlRun::urls() const {
  std::set<std::string> urls;
  for (const PageRecord& page : result.pages) urls.insert(page.url);
  return urls;
}

const PageRecord* CrawlRun::find(const std::string& url) const {
  for (const PageRecord& page : result.pages) {
    if (page.url == url) return &page;
  }
  return nullptr;
}

BackgroundCrawl::BackgroundCrawl(Web& web, std::vector<std::string> seeds, Options options)
    : web_(web),
      call_([seeds = std::move(seeds), options = std::move(options)](std::stop_token stop) mutable {
        options.stop = std::move(stop);
        return crawl(seeds, options);
      }) {}

BackgroundCrawl::~BackgroundCrawl() { finish(20s); }

CrawlRun BackgroundCrawl::finish(milliseconds deadline) {
  if (run_) return *run_;
  CrawlRun run;
  run.deadline = deadline;
  if (!wait_for(deadline)) {
    run.finished_in_time = false;
    call_.request_stop();
    if (!wait_for(5s)) {
      for (std::size_t i = 0; i < web_.hosts(); ++i) web_.server(i).stop();
      if (!wait_for(10s)) give_up();
    }
  }
  run.exception = call_.error();
  if (run.exception.empty()) run.result = call_.get();
  run.wall = call_.wall();
  run_ = run;
  return run;
}

void BackgroundCrawl::give_up() {
  std::fprintf(stderr,
               "crawl() did not return even after a stop request and after the test servers "
               "stopped (which ends every request they held). It waits for something that never "
               "happens: check that every worker ends when the crawl is over or stopping.\n");
  std::fflush(stderr);
  std::_Exit(1);
}

CrawlRun run_crawl(Web& web, const std::vector<std::string>& seeds, const Options& options,
                   milliseconds deadline) {
  BackgroundCrawl background(web, seeds, options);
  return background.finish(deadline);
}

bool wait_until(BackgroundCrawl& crawl, milliseconds timeout,
                const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    if (crawl.wait_for(0ms)) return predicate();
    std::this_thread::sleep_for(5ms);
  }
  return predicate();
}

std::string describe(const PageRecord& page) {
  std::ostringstream out;
  out << page.url << " (depth " << page.depth << "): ";
  if (page.ok()) {
    out << "HTTP " << page.status << ", " << page.bytes << " bytes, " << page.links << " links";
  } else {
    out << "error \"" << page.error << "\"";
  }
  out << ", " << page.attempts << " attempt(s)";
  return out.str();
}

std::string describe(const std::vector<PageRecord>& pages) {
  std::ostringstream out;
  out << pages.size() << " record(s):";
  std::size_t shown = 0;
  for (const PageRecord& page : pages) {
    if (++shown > 40) {
      out << "\n  ... and " << pages.size() - 40 << " more";
      break;
    }
    out << "\n  " << describe(page);
  }
  return out.str();
}

::testing::AssertionResult completed(const CrawlRun& run) {
  if (!run.exception.empty())
    return ::testing::AssertionFailure() << "crawl() threw " << run.exception;
  if (!run.finished_in_time) {
    return ::testing::AssertionFailure()
           << course::kTimingMark << "crawl() was still running after " << run.deadline.count()
           << " ms (scaled by " << course::time_scale()
           << "), so the test requested a stop. A crawl is over when no page is queued and none "
              "is in flight: check that the workers notice that moment. So far: "
           << describe(run.result.pages);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult crawled_exactly(const Web& web, const CrawlRun& run,
                                           const std::map<std::string, int>& expected) {
  std::ostringstream problems;
  std::map<std::string, std::size_t> records;
  for (const PageRecord& page : run.result.pages) {
    ++records[page.url];
    const auto want = expected.find(page.url);
    if (want == expected.end()) {
      problems << "\n  " << page.url << " was recorded, but it is not reachable within the limits "
               << "(off scope, too deep, or not a page of this web)";
    } else if (page.depth != want->second) {
      problems << "\n  " << page.url << " has depth " << page.depth << ", but its shortest path "
               << "from a seed has " << want->second << " link(s)";
    }
  }
  for (const auto& [url, count] : records) {
    if (count > 1) problems << "\n  " << url << " was recorded " << count << " times";
  }
  for (const auto& [url, depth] : expected) {
    if (!records.contains(url)) problems << "\n  " << url << " (depth " << depth << ") is missing";
    const std::size_t hits = web.hits(url);
    if (hits != 1) {
      problems << "\n  " << url << " was requested " << hits << " times, not once"
               << (hits > 1 ? ": two workers fetched it, so the check-and-insert into the seen set "
                              "is not one atomic step, or a spelling of it was not canonicalised"
                            : "");
    }
  }
  for (const std::string& url : web.pages()) {
    if (!expected.contains(url) && web.hits(url) != 0) {
      problems << "\n  " << url << " is out of reach (off scope, too deep) but was requested "
               << web.hits(url) << " time(s)";
    }
  }
  if (problems.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "the crawl should visit exactly the " << expected.size()
         << " pages a breadth-first search reaches, each once:" << problems.str() << "\n"
         << describe(run.result.pages);
}

}  // namespace crawler::testing
