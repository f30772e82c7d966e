// Levels 3 to 6: the crawl itself, for every strategy. Each page must be fetched exactly once
// (the seen set), the crawl must end exactly when nothing is queued or in flight, and the
// concurrent strategies must keep L fetches in flight, never more, and at most max_per_host per
// host. Concurrency is proved with the test server's rendezvous and its peak in-flight counter.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "course/trace.hpp"
#include "crawler/http.hpp"
#include "test_support.hpp"

namespace crawler::testing {
namespace {

// ---- which pages: exactly the reachable ones, each once ----

// Two hosts in scope and one outside it: cycles (a <-> b, a page linking to itself), a diamond,
// a chain longer than max_depth, links across hosts and out of scope. A page's depth is the
// length of the path by which it was first found, and a concurrent crawl may find a page by a
// longer path first; so every link here that goes back leads to a page whose parent is an
// ancestor of the linking page, and the breadth-first depths hold whatever the order.
void expect_reachable_pages_once(Strategy strategy) {
  Web web(3);
  const auto a = [&](const std::string& path) { return web.url(0, path); };
  const auto b = [&](const std::string& path) { return web.url(1, path); };
  const auto off = [&](const std::string& path) { return web.url(2, path); };
  web.page(0, "/", {a("/one"), a("/two"), b("/"), off("/")});
  web.page(0, "/one", {a("/"), a("/one"), a("/diamond"), a("/chain/1")});
  web.page(0, "/two", {a("/diamond"), a("/two")});
  web.page(0, "/diamond", {a("/one"), b("/")});
  for (int i = 1; i <= 6; ++i) {
    web.page(0, "/chain/" + std::to_string(i), {a("/chain/" + std::to_string(i + 1))});
  }
  web.page(1, "/", {b("/from-a"), a("/"), off("/x")});
  web.page(1, "/from-a", {b("/"), a("/two")});
  web.page(2, "/", {off("/x")});
  web.page(2, "/x", {a("/")});

  Options options = test_options(strategy, 4);
  options.max_depth = 3;
  options.allowed_hosts = {web.host(0), web.host(1)};
  const CrawlRun run = run_crawl(web, {a("/")}, options);
  ASSERT_TRUE(completed(run));
  const auto expected = web.reachable({a("/")}, 3, {web.host(0), web.host(1)});
  EXPECT_TRUE(crawled_exactly(web, run, expected));
  for (std::size_t host = 0; host < 2; ++host) {
    EXPECT_EQ(web.server(host).hits("/robots.txt"), 1U)
        << "robots.txt is fetched once per host (" << web.host(host) << ")";
  }
  EXPECT_EQ(web.server(2).total_hits(), 0U) << "a host out of scope is never contacted";
  for (const PageRecord& page : run.result.pages) {
    EXPECT_TRUE(page.ok()) << describe(page);
    EXPECT_EQ(page.status, 200) << describe(page);
    EXPECT_EQ(page.attempts, 1) << describe(page);
  }
  const Stats& stats = run.result.stats;
  EXPECT_EQ(stats.pages, expected.size());
  EXPECT_EQ(stats.fetched, expected.size());
  EXPECT_EQ(stats.failed, 0U);
  EXPECT_EQ(stats.robots_fetches, 2U);
  EXPECT_GE(stats.off_scope, 2U) << "links to the third host are off scope";
  EXPECT_GE(stats.duplicates, 5U) << "the cycles and the diamond link to pages already scheduled";
  EXPECT_GE(stats.too_deep, 1U) << "the chain goes deeper than max_depth";
}

// The seeds' hosts are the scope when allowed_hosts is empty, and a page records what it found.
void expect_scope_of_seeds_and_link_counts(Strategy strategy) {
  Web web(2);
  web.page(0, "/", {web.url(0, "/a"), web.url(0, "/a"), web.url(1, "/"), web.url(0, "/data.bin")});
  web.page(0, "/a", {});
  web.page(1, "/", {});
  web.server(0).add({.path = "/data.bin", .body_size = 3000});
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, test_options(strategy, 3));
  ASSERT_TRUE(completed(run));
  EXPECT_EQ(run.urls(),
            (std::set<std::string>{web.url(0, "/"), web.url(0, "/a"), web.url(0, "/data.bin")}))
      << "with no allowed_hosts, only the seeds' hosts are in scope\n"
      << describe(run.result.pages);
  EXPECT_EQ(web.server(1).total_hits(), 0U);
  if (const PageRecord* index = run.find(web.url(0, "/"))) {
    EXPECT_EQ(index->links, 4U) << "links counts every <a href> found, repeats and off-scope "
                                   "ones included: "
                                << describe(*index);
    EXPECT_EQ(index->depth, 0);
    EXPECT_GT(index->bytes, 100U);
  }
  if (const PageRecord* data = run.find(web.url(0, "/data.bin"))) {
    EXPECT_TRUE(data->ok()) << describe(*data);
    EXPECT_EQ(data->bytes, 3000U) << "bytes is the size of the body received";
    EXPECT_EQ(data->links, 0U) << "a body that is not HTML has no links";
    EXPECT_EQ(data->depth, 1);
  }
}

// Every spelling of a page gives one fetch: fragment, upper-case host and scheme, "./" and "../"
// segments, percent-encoding of unreserved characters.
void expect_spellings_deduplicated(Strategy strategy) {
  Web web(1);
  const std::string port = std::to_string(web.server(0).port());
  const std::string site = "http://site.test:" + port;
  const std::string target = site + "/dir/~page";
  web.page_with(0, "/",
                {{"dir/~page", target},
                 {"dir/~page#section", target},
                 {"HTTP://SITE.TEST:" + port + "/dir/~page", target},
                 {"./dir/./~page", target},
                 {"dir/sub/../~page", target},
                 {"/dir/%7Epage", target},
                 {"/dir/%7epage#x", target},
                 {"other/../dir/~page", target},
                 {"/index-2", site + "/index-2"}});
  web.page_with(0, "/dir/~page", {{"../", site + "/"}, {"./~page", target}, {"#top", target}});
  web.page_with(0, "/index-2", {{"/", site + "/"}, {"/#again", site + "/"}});
  Options options = test_options(strategy, 4);
  options.resolve = {{"site.test", "127.0.0.1"}};
  const CrawlRun run = run_crawl(web, {site + "/"}, options);
  ASSERT_TRUE(completed(run));
  EXPECT_EQ(run.urls(), (std::set<std::string>{site + "/", target, site + "/index-2"}))
      << "every spelling of a page must canonicalise to one URL\n"
      << describe(run.result.pages);
  EXPECT_EQ(web.server(0).hits("/dir/~page"), 1U)
      << "/dir/~page was linked 10 times in 8 spellings: it must be fetched once";
  EXPECT_EQ(web.server(0).hits("/"), 1U);
}

// A page that 120 others link to, fetched while many of them finish at once.
void expect_popular_page_once(Strategy strategy) {
  Web web(1);
  std::vector<std::string> fan;
  for (int i = 0; i < 120; ++i) fan.push_back(web.url(0, "/p/" + std::to_string(i)));
  web.page(0, "/", fan);
  for (int i = 0; i < 120; ++i) {
    web.page(0, "/p/" + std::to_string(i), {web.url(0, "/popular"), web.url(0, "/")});
  }
  web.page(0, "/popular", {web.url(0, "/")});
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, test_options(strategy, 16));
  ASSERT_TRUE(completed(run));
  EXPECT_EQ(web.server(0).hits("/popular"), 1U)
      << "120 pages link to /popular, and it was fetched " << web.server(0).hits("/popular")
      << " times: checking the seen set and inserting into it must be one step under the lock";
  EXPECT_TRUE(crawled_exactly(web, run, web.reachable({web.url(0, "/")}, 10, {web.host(0)})));
}

// ---- failures are records, and the crawl goes on ----

void expect_failures_recorded(Strategy strategy) {
  Web web(1);
  const std::string closed = "http://127.0.0.1:" + std::to_string([] {
                               HttpTestServer gone;  // a port that nothing listens on any more
                               gone.start();
                               return gone.port();
                             }());
  Options options = test_options(strategy, 4);
  options.total_timeout = course::scaled(milliseconds(400));
  options.max_body_bytes = 100'000;
  options.max_redirects = 3;
  options.retry.max_retries = 1;
  options.obey_robots = false;
  options.allowed_hosts = {web.host(0), closed.substr(7)};
  const auto u = [&](const std::string& path) { return web.url(0, path); };
  web.page_with(0, "/",
                {{"/missing", u("/missing")},
                 {"/broken", u("/broken")},
                 {"/hung", u("/hung")},
                 {"/big.html", u("/big.html")},
                 {"/loop/a", u("/loop/a")},
                 {"/chain/1", u("/chain/1")},
                 {"/cut", u("/cut")},
                 {closed + "/", closed + "/"},
                 {"http://[::1", ""},
                 {"/fine", u("/fine")}});
  web.server(0).add({.path = "/broken", .status = 500});
  web.server(0).add({.path = "/hung", .hang = true});
  web.server(0).add(
      {.path = "/big.html", .body = std::string(300'000, 'x'), .content_type = "text/html"});
  web.server(0).add({.path = "/loop/a", .status = 302, .headers = {{"Location", "/loop/b"}}});
  web.server(0).add({.path = "/loop/b", .status = 302, .headers = {{"Location", "/loop/a"}}});
  for (int i = 1; i <= 6; ++i) {
    web.server(0).add({.path = "/chain/" + std::to_string(i),
                       .status = 301,
                       .headers = {{"Location", "/chain/" + std::to_string(i + 1)}}});
  }
  web.server(0).add({.path = "/cut", .body_size = 50'000, .close_mid_body = true});
  web.page(0, "/fine", {});

  const CrawlRun run = run_crawl(web, {u("/"), "http://exa mple/bad seed"}, options);
  ASSERT_TRUE(completed(run));
  const auto error_of = [&](const std::string& url) -> std::string {
    const PageRecord* page = run.find(url);
    return page == nullptr ? "<no record>" : page->error;
  };
  const auto contains = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  std::ostringstream all;
  all << describe(run.result.pages);
  EXPECT_EQ(error_of(u("/missing")), "HTTP 404") << "a 404 is final at once\n" << all.str();
  EXPECT_EQ(error_of(u("/broken")), "HTTP 500 after 2 attempts")
      << "a 500 is retried (max_retries = 1)\n"
      << all.str();
  EXPECT_TRUE(contains(error_of(u("/hung")), "timed out")) << all.str();
  EXPECT_TRUE(contains(error_of(u("/big.html")), "larger than 100000 bytes")) << all.str();
  if (const PageRecord* big = run.find(u("/big.html"))) {
    EXPECT_EQ(big->status, 200) << "a page over the body cap was answered: its record keeps the "
                                   "answer's status, with the error\n"
                                << describe(*big);
  }
  EXPECT_TRUE(contains(error_of(closed + "/"), "refused")) << all.str();
  EXPECT_TRUE(contains(error_of(u("/cut")), "closed before the end")) << all.str();
  EXPECT_TRUE(error_of(u("/fine")).empty()) << all.str();
  // The redirect loop ends in the seen set; the long chain at max_redirects.
  EXPECT_TRUE(error_of(u("/loop/a")).empty() && error_of(u("/loop/b")).empty())
      << "a redirect is followed once, like a link: /loop/b's redirect back to /loop/a finds it "
         "already seen\n"
      << all.str();
  EXPECT_EQ(web.server(0).hits("/loop/a"), 1U);
  EXPECT_EQ(web.server(0).hits("/loop/b"), 1U);
  EXPECT_EQ(error_of(u("/chain/4")), "too many redirects")
      << "/chain/1 -> 2 -> 3 -> 4: the fourth page is reached after 3 redirects, the most "
         "allowed, so its own redirect is not followed\n"
      << all.str();
  EXPECT_EQ(web.server(0).hits("/chain/5"), 0U);
  if (const PageRecord* first = run.find(u("/chain/1"))) {
    EXPECT_EQ(first->status, 301);
    EXPECT_EQ(first->links, 1U) << "a redirect records one link, its Location";
    EXPECT_EQ(first->depth, 1) << "a redirect's target keeps the depth of the page that redirected";
  }
  if (const PageRecord* third = run.find(u("/chain/3"))) {
    EXPECT_EQ(third->depth, 1);
  }
  const PageRecord* seed = run.find("http://exa mple/bad seed");
  ASSERT_NE(seed, nullptr) << "a malformed seed gets a record with its error\n" << all.str();
  EXPECT_TRUE(contains(seed->error, "malformed")) << describe(*seed);
  EXPECT_EQ(seed->attempts, 0);
  EXPECT_EQ(run.result.stats.failed, 8U) << all.str();
  EXPECT_EQ(run.result.stats.pages, run.result.pages.size());
}

// ---- robots.txt ----

void expect_robots_first_and_obeyed(Strategy strategy) {
  Web web(2);
  web.robots(0,
             "User-agent: *\nDisallow: /private\n\nUser-agent: course-crawler\n"
             "Disallow: /secret\nAllow: /secret/open\n");
  std::vector<std::string> links = {web.url(0, "/private/x"), web.url(0, "/secret/x"),
                                    web.url(0, "/secret/open"), web.url(1, "/")};
  for (int i = 0; i < 10; ++i) links.push_back(web.url(0, "/p" + std::to_string(i)));
  web.page(0, "/", links);
  web.page(0, "/private/x", {});
  web.page(0, "/secret/x", {});
  web.page(0, "/secret/open", {});
  for (int i = 0; i < 10; ++i) web.page(0, "/p" + std::to_string(i), {});
  web.server(1).add({.path = "/robots.txt", .status = 503});
  std::vector<std::string> hidden;
  for (int i = 0; i < 5; ++i) hidden.push_back(web.url(1, "/h" + std::to_string(i)));
  web.page(1, "/", hidden);
  Options options = test_options(strategy, 6);
  options.allowed_hosts = {web.host(0), web.host(1)};
  options.retry.max_retries = 0;
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options);
  ASSERT_TRUE(completed(run));
  const std::string all = describe(run.result.pages);

  EXPECT_EQ(web.server(0).hits("/robots.txt"), 1U) << "once per host";
  const auto robots_at = web.server(0).arrivals("/robots.txt");
  for (const std::string& path : {std::string("/"), std::string("/secret/open")}) {
    const auto arrivals = web.server(0).arrivals(path);
    ASSERT_EQ(arrivals.size(), 1U) << path << "\n" << all;
    ASSERT_EQ(robots_at.size(), 1U);
    EXPECT_LT(robots_at[0], arrivals[0])
        << "robots.txt must be fetched before any other page of its host, and " << path
        << " came first";
  }
  for (const std::string& path : {std::string("/secret/x")}) {
    EXPECT_EQ(web.server(0).hits(path), 0U) << path << " is disallowed for course-crawler";
    const PageRecord* page = run.find(web.url(0, path));
    ASSERT_NE(page, nullptr) << "a disallowed page is recorded, with its error\n" << all;
    EXPECT_EQ(page->error, "disallowed by robots.txt");
    EXPECT_EQ(page->attempts, 0);
  }
  EXPECT_EQ(web.server(0).hits("/private/x"), 1U)
      << "the course-crawler group applies, not '*': /private is allowed for us";
  EXPECT_EQ(web.server(0).hits("/secret/open"), 1U) << "the longer Allow wins";
  // Host 1's robots.txt answers 503: RFC 9309 says to crawl none of it.
  EXPECT_EQ(web.server(1).hits("/"), 0U)
      << "a robots.txt that answers 5xx means the host is unreachable: fetch nothing there";
  const PageRecord* blocked = run.find(web.url(1, "/"));
  ASSERT_NE(blocked, nullptr) << all;
  EXPECT_NE(blocked->error.find("robots.txt unreachable"), std::string::npos) << describe(*blocked);
  EXPECT_EQ(run.result.stats.robots_fetches, 2U);

  // With obey_robots off, no robots.txt is fetched and everything is.
  Web open(1);
  open.robots(0, "User-agent: *\nDisallow: /\n");
  open.page(0, "/", {open.url(0, "/x")});
  open.page(0, "/x", {});
  Options ignoring = test_options(strategy, 2);
  ignoring.obey_robots = false;
  const CrawlRun free_run = run_crawl(open, {open.url(0, "/")}, ignoring);
  ASSERT_TRUE(completed(free_run));
  EXPECT_EQ(open.server(0).hits("/robots.txt"), 0U);
  EXPECT_EQ(open.server(0).hits("/x"), 1U);
}

// ---- max_pages, progress ----

void expect_max_pages_and_progress(Strategy strategy) {
  Web web(1);
  std::vector<std::string> links;
  for (int i = 0; i < 30; ++i) links.push_back(web.url(0, "/n" + std::to_string(i)));
  web.page(0, "/", links);
  for (int i = 0; i < 30; ++i) web.page(0, "/n" + std::to_string(i), {web.url(0, "/")});
  Options options = test_options(strategy, 4);
  options.max_pages = 12;
  std::mutex mutex;
  std::vector<Progress> calls;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  options.on_progress = [&](const Progress& progress) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    {
      const std::scoped_lock lock(mutex);
      calls.push_back(progress);
    }
    std::this_thread::sleep_for(1ms);
    inside.fetch_sub(1);
  };
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options);
  ASSERT_TRUE(completed(run));
  EXPECT_EQ(run.result.pages.size(), 12U) << "max_pages = 12 pages scheduled, seed included\n"
                                          << describe(run.result.pages);
  EXPECT_EQ(web.server(0).total_hits(), 13U) << "12 pages and robots.txt";
  EXPECT_EQ(run.result.stats.dropped, 19U) << "30 links, 11 scheduled, 19 dropped";
  EXPECT_FALSE(overlapped) << "on_progress was called twice at once";
  ASSERT_EQ(calls.size(), 12U) << "on_progress is called once per recorded page";
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].done, i + 1);
  EXPECT_EQ(calls.back().queued, 0U);
  EXPECT_EQ(calls.back().in_flight, 0U);
  const std::size_t most_in_flight =
      std::max_element(calls.begin(), calls.end(), [](const Progress& x, const Progress& y) {
        return x.in_flight < y.in_flight;
      })->in_flight;
  EXPECT_LE(most_in_flight, 4U) << "in_flight counts fetches going on, at most L";
}

// ---- concurrency: L in flight, never more; per host too ----

// n pages behind one index, each answering only when `group` of them wait together.
void add_rendezvous_pages(Web& web, std::size_t host, int n) {
  std::vector<std::string> links;
  for (int i = 0; i < n; ++i) links.push_back(web.url(host, "/r/" + std::to_string(i)));
  web.page(host, "/", links);
  for (int i = 0; i < n; ++i) {
    Route route{.latency = 20ms, .rendezvous = true};
    web.page(host, "/r/" + std::to_string(i), {}, route);
  }
}

// The bound L from above (24 pages, L of them at once, never more) and from below (3 pages
// with L = 8: all 3 at once).
void expect_limit_reached_never_passed(Strategy strategy, std::size_t limit, int pages = 24) {
  Web web(1);
  add_rendezvous_pages(web, 0, pages);
  const std::size_t expected = std::min(limit, static_cast<std::size_t>(pages));
  web.server(0).rendezvous(expected, course::scaled(milliseconds(3000)));
  Options options = test_options(strategy, limit);
  options.max_per_host = 2 * limit;  // so that only L bounds the fetches
  options.retry.max_retries = 0;
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options, 30s);
  ASSERT_TRUE(completed(run));
  const std::string trace = web.server(0).trace().timeline();
  EXPECT_EQ(web.server(0).peak_in_flight(), expected)
      << pages << " pages with L = " << limit << ": the server should see exactly " << expected
      << " requests at once at its peak, saw " << web.server(0).peak_in_flight() << "\n"
      << trace;
  std::size_t failed = 0;
  for (const PageRecord& page : run.result.pages) failed += page.ok() ? 0 : 1;
  EXPECT_EQ(failed, 0U) << "the pages answer only when " << expected << " of them are in flight "
                        << "together (504 otherwise): the crawl did not keep min(pages, L) "
                        << "fetches going\n"
                        << describe(run.result.pages) << "\n"
                        << trace;
  EXPECT_EQ(run.result.stats.peak_in_flight, expected) << "Stats::peak_in_flight must report it";
}

void expect_per_host_limit(Strategy strategy) {
  // Two hosts, 2 slots each, L = 8: each host sees exactly 2 at once, never 3.
  Web web(2);
  for (std::size_t host = 0; host < 2; ++host) {
    add_rendezvous_pages(web, host, 12);
    web.server(host).rendezvous(2, course::scaled(milliseconds(3000)));
  }
  web.page(0, "/", [&] {
    std::vector<std::string> links;
    for (int i = 0; i < 12; ++i) links.push_back(web.url(0, "/r/" + std::to_string(i)));
    links.push_back(web.url(1, "/"));
    return links;
  }());
  Options options = test_options(strategy, 8);
  options.max_per_host = 2;
  options.retry.max_retries = 0;
  options.allowed_hosts = {web.host(0), web.host(1)};
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options, 30s);
  ASSERT_TRUE(completed(run));
  for (std::size_t host = 0; host < 2; ++host) {
    EXPECT_EQ(web.server(host).peak_in_flight(), 2U)
        << "max_per_host = 2: host " << web.host(host) << " should see exactly 2 requests at "
        << "once at its peak\n"
        << web.server(host).trace().timeline();
  }
  for (const PageRecord& page : run.result.pages) EXPECT_TRUE(page.ok()) << describe(page);
}

// The whole crawl's lifetimes, both servers together, never more than L at once.
void expect_global_limit_across_hosts(Strategy strategy) {
  Web web(3);
  std::vector<std::string> seeds;
  for (std::size_t host = 0; host < 3; ++host) {
    std::vector<std::string> links;
    for (int i = 0; i < 10; ++i) {
      links.push_back(web.url(host, "/s/" + std::to_string(i)));
      web.page(host, "/s/" + std::to_string(i), {}, {.latency = 30ms});
    }
    web.page(host, "/", links);
    seeds.push_back(web.url(host, "/"));
  }
  Options options = test_options(strategy, 4);
  options.max_per_host = 4;
  const CrawlRun run = run_crawl(web, seeds, options, 30s);
  ASSERT_TRUE(completed(run));
  course::Trace all;
  for (std::size_t host = 0; host < 3; ++host) {
    const course::Trace& trace = web.server(host).trace();
    for (const auto& task : trace.tasks()) {
      all.record(web.host(host) + " " + task.name, trace.origin() + task.start,
                 trace.origin() + task.end);
    }
  }
  EXPECT_LE(all.max_overlap(), 4U) << "L = 4 holds across every host together\n" << all.timeline();
  EXPECT_GE(all.max_overlap(), 2U) << "the fetches never overlapped\n" << all.timeline();
}

// ---- termination ----

// The last page to answer (slow) links to 4 pages that answer only when all 4 are in flight
// together (a rendezvous), then to a chain. While /slow is in flight the queue is empty and every
// other worker is idle: a worker that takes "nothing queued" for the end of the crawl quits, and
// then the 4 pages can never be in flight together.
void expect_waits_for_the_slowest_page(Strategy strategy) {
  Web web(1);
  std::vector<std::string> links = {web.url(0, "/slow")};
  for (int i = 0; i < 8; ++i) links.push_back(web.url(0, "/quick/" + std::to_string(i)));
  web.page(0, "/", links);
  for (int i = 0; i < 8; ++i) web.page(0, "/quick/" + std::to_string(i), {});
  std::vector<std::string> after;
  for (int i = 0; i < 4; ++i) after.push_back(web.url(0, "/after/" + std::to_string(i)));
  web.page(0, "/slow", after, {.latency = 600ms});
  for (int i = 0; i < 4; ++i) {
    web.page(0, "/after/" + std::to_string(i), {web.url(0, "/chain/0")}, {.rendezvous = true});
  }
  web.server(0).rendezvous(4, course::scaled(milliseconds(3000)));
  for (int i = 0; i < 6; ++i) {
    web.page(0, "/chain/" + std::to_string(i), {web.url(0, "/chain/" + std::to_string(i + 1))});
  }
  web.page(0, "/chain/6", {});
  Options options = test_options(strategy, 4);
  options.retry.max_retries = 0;
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options);
  ASSERT_TRUE(completed(run));
  EXPECT_TRUE(crawled_exactly(web, run, web.reachable({web.url(0, "/")}, 10, {web.host(0)})))
      << course::kTimingMark
      << "the crawl ended before /slow answered, or before what it links to was done: an empty "
         "queue is not the end while a page is still in flight";
  for (int i = 0; i < 4; ++i) {
    const PageRecord* page = run.find(web.url(0, "/after/" + std::to_string(i)));
    if (page != nullptr) {
      EXPECT_TRUE(page->ok())
          << course::kTimingMark << describe(*page)
          << ": the 4 pages /slow links to answer only when all 4 are in "
          << "flight together. Fewer were: did the idle workers quit while /slow was in flight? "
          << "The crawl is over only when nothing is queued and nothing is in flight.\n"
          << web.server(0).trace().timeline();
    }
  }
  EXPECT_LT(run.wall, course::scaled(milliseconds(600 + 3000)))
      << course::kTimingMark
      << "and it should end soon after the last page, not wait for a timeout";
}

// ---- politeness ----

// The starts of the requests a host received, from request `first` on, are at least `delay`
// apart. The server sees a request a little after the client starts it, and on a loaded machine
// that little varies: one late arrival shortens one gap. So each gap must be at least half the
// delay (no delay at all gives gaps near 0), and the whole run of n requests must span at least
// (n - 1) delays, less a small skew, which one late arrival cannot shrink.
void expect_starts_apart(Web& web, std::size_t host, milliseconds delay, std::size_t first,
                         const std::string& why = "") {
  std::vector<std::chrono::nanoseconds> starts;  // since the trace's origin
  for (const auto& task : web.server(host).trace().tasks()) starts.push_back(task.start);
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = first + 1; i < starts.size(); ++i) {
    EXPECT_GE(starts[i] - starts[i - 1], delay / 2)
        << course::kTimingMark << "requests " << i << " and " << i + 1 << " to " << web.host(host)
        << " arrived "
        << std::chrono::duration_cast<milliseconds>(starts[i] - starts[i - 1]).count()
        << " ms apart; the politeness delay is " << delay.count() << " ms" << why << "\n"
        << web.server(host).trace().timeline();
  }
  if (starts.size() > first + 1) {
    const auto span = starts.back() - starts[first];
    const auto gaps = static_cast<long>(starts.size() - first - 1);
    EXPECT_GE(span, delay * gaps - 20ms)
        << course::kTimingMark << gaps << " requests to " << web.host(host)
        << " after the first took " << std::chrono::duration_cast<milliseconds>(span).count()
        << " ms; with a delay of " << delay.count() << " ms between starts they take at least "
        << (delay * gaps).count() << " ms" << why << "\n"
        << web.server(host).trace().timeline();
  }
}

void expect_politeness(Strategy strategy) {
  Web web(2);
  std::vector<std::string> links;
  for (int i = 0; i < 6; ++i) {
    links.push_back(web.url(0, "/p/" + std::to_string(i)));
    web.page(0, "/p/" + std::to_string(i), {});
  }
  links.push_back(web.url(1, "/"));
  web.page(0, "/", links);
  web.robots(1, "User-agent: *\nCrawl-delay: 0.25\n");
  std::vector<std::string> slow_links;
  for (int i = 0; i < 4; ++i) {
    slow_links.push_back(web.url(1, "/q/" + std::to_string(i)));
    web.page(1, "/q/" + std::to_string(i), {});
  }
  web.page(1, "/", slow_links);
  Options options = test_options(strategy, 4);
  options.host_delay = 100ms;
  options.allowed_hosts = {web.host(0), web.host(1)};
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options, 30s);
  ASSERT_TRUE(completed(run));
  expect_starts_apart(web, 0, 100ms, 0);
  // From request 1 on: robots.txt is request 0, and its Crawl-delay applies after it.
  expect_starts_apart(web, 1, 250ms, 1, " (the host's robots.txt Crawl-delay raises it)");
  EXPECT_EQ(run.result.stats.fetched, 12U) << describe(run.result.pages);
}

// host_delay holds without robots.txt too: it is an option of its own, not a robots.txt rule.
void expect_politeness_without_robots(Strategy strategy) {
  Web web(1);
  std::vector<std::string> links;
  for (int i = 0; i < 3; ++i) {
    links.push_back(web.url(0, "/p/" + std::to_string(i)));
    web.page(0, "/p/" + std::to_string(i), {});
  }
  web.page(0, "/", links);
  Options options = test_options(strategy, 4);
  options.obey_robots = false;
  options.host_delay = 150ms;
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options, 30s);
  ASSERT_TRUE(completed(run));
  EXPECT_EQ(web.server(0).hits("/robots.txt"), 0U) << "obey_robots = false: no robots.txt";
  expect_starts_apart(web, 0, 150ms, 0, " (host_delay, with obey_robots = false)");
  EXPECT_EQ(run.result.stats.fetched, 4U) << describe(run.result.pages);
}

// The delay counts from the previous start that happened, not from the moment that start was
// planned for: a fetch that starts late pushes the next one back. The test makes a start late on
// purpose. While host 0's pages wait for their turns, recording host 1's page blocks the crawl's
// callback for two delays: a worker thread cannot take the lock back, an event loop cannot run its
// timers. A crawl that planned its starts on a fixed grid (each one delay after the previous
// plan) then starts two fetches of host 0 at once when the callback returns.
void expect_politeness_from_the_last_real_start(Strategy strategy) {
  constexpr milliseconds kDelay = 250ms;
  Web web(2);
  std::vector<std::string> links;
  for (int i = 0; i < 4; ++i) {
    links.push_back(web.url(0, "/p/" + std::to_string(i)));
    web.page(0, "/p/" + std::to_string(i), {});
  }
  links.push_back(web.url(1, "/block"));
  web.page(0, "/", links);
  web.robots(0, "User-agent: *\nCrawl-delay: 0.25\n");
  web.page(1, "/block", {});
  Options options = test_options(strategy, 4);
  options.max_per_host = 2;  // two of host 0's pages wait for their turn at once
  options.allowed_hosts = {web.host(0), web.host(1)};
  std::atomic<bool> blocked = false;
  const std::string block_url = web.url(1, "/block");
  options.on_record = [&](const PageRecord& page) {
    if (page.url != block_url) return;
    blocked = true;
    std::this_thread::sleep_for(2 * kDelay);  // the fault under test: a callback that is slow
  };
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options, 30s);
  ASSERT_TRUE(completed(run));
  EXPECT_TRUE(blocked) << "the test's slow callback never ran\n" << describe(run.result.pages);
  expect_starts_apart(web, 0, kDelay, 1,
                      " (after a start delayed by a slow callback, the next start must still "
                      "wait a whole delay: count the delay from the previous start that "
                      "happened, checked again after the wait, not from a time planned before it)");
  EXPECT_EQ(run.result.stats.fetched, 6U) << describe(run.result.pages);
}

// Depth is the shortest link distance from a seed, whatever the schedule. Here / links to /a and
// /b; /a, on host 1, links to /t (so /t is at depth 2, and its link /u at depth 3, the limit);
// /b -> /c -> /t is a longer way to /t. The test holds /a's answer until /c has been recorded
// (with the server's rendezvous, formed by a request of the test's own), so a crawl finds /t
// through /c first. Recording /t at depth 3 would leave /u too deep, and missed.
void expect_shortest_depths(Strategy strategy) {
  Web web(2);
  const auto a = [&](const std::string& path) { return web.url(0, path); };
  web.page(0, "/", {web.url(1, "/a"), a("/b")});
  web.page(1, "/a", {a("/t")}, {.rendezvous = true});
  web.server(1).add({.path = "/gate", .body = "open", .rendezvous = true});
  web.server(1).rendezvous(2, 15s);
  web.page(0, "/b", {a("/c")});
  web.page(0, "/c", {a("/t")});
  web.page(0, "/t", {a("/u")});
  web.page(0, "/u", {});
  Options options = test_options(strategy, 4);
  options.max_depth = 3;
  options.allowed_hosts = {web.host(0), web.host(1)};
  std::atomic<bool> c_recorded = false;
  const std::string c_url = a("/c");
  options.on_record = [&](const PageRecord& page) {
    if (page.url == c_url) c_recorded = true;
  };
  BackgroundCrawl background(web, {a("/")}, options);
  const bool held = wait_until(background, 10s, [&] { return c_recorded.load(); });
  if (held) (void)fetch({.url = web.url(1, "/gate")});  // forms the rendezvous: /a answers
  const CrawlRun run = background.finish(20s);
  ASSERT_TRUE(completed(run));
  ASSERT_TRUE(held) << "/c was never recorded while /a was held: /b and /c could not be crawled "
                       "while /a, on another host, was in flight\n"
                    << describe(run.result.pages);
  EXPECT_TRUE(crawled_exactly(web, run, web.reachable({a("/")}, 3, {web.host(0), web.host(1)})))
      << "/t was found first through /b -> /c while /a, nearer the seed, was in flight. A page's "
         "depth is its shortest distance from a seed: schedule a page's links only once no page "
         "nearer the seeds is pending (scheduled and not yet recorded), so that the first path "
         "that finds a page is a shortest one";
}

// ---- timeouts, retries, stop ----

// A port where connecting hangs: a listening socket with a backlog of 0 whose queue is already
// full (Linux drops the SYNs of further connections, so connect() neither succeeds nor fails).
class BlackHole {
 public:
  BlackHole() : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 0) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("BlackHole: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    for (int i = 0; i < 3; ++i) {  // fill the accept queue; never accepted
      const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      (void)::connect(client, reinterpret_cast<sockaddr*>(&address), length);
      fillers_.push_back(client);
    }
    std::this_thread::sleep_for(50ms);  // let the handshakes of the fillers complete
  }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;
  ~BlackHole() {
    for (const int fd : fillers_) ::close(fd);
    ::close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

void expect_connect_timeout(Strategy strategy) {
  Web web(1);  // unused: the crawl goes to the black hole only
  const BlackHole hole;
  Options options = test_options(strategy, 2);
  options.connect_timeout = course::scaled(milliseconds(300));
  options.total_timeout = course::scaled(milliseconds(20'000));
  options.retry.max_retries = 0;
  options.obey_robots = false;
  const CrawlRun run = run_crawl(web, {hole.url()}, options, 30s);
  ASSERT_TRUE(completed(run));
  ASSERT_EQ(run.result.pages.size(), 1U) << describe(run.result.pages);
  const PageRecord& page = run.result.pages[0];
  EXPECT_NE(page.error.find("connect timed out"), std::string::npos)
      << "a host that never completes the TCP handshake must fail after connect_timeout: "
      << describe(page);
  EXPECT_LT(run.wall, course::scaled(milliseconds(5'000)))
      << "connect_timeout (300 ms) bounds the connection, long before total_timeout (20 s)";
}

void expect_hung_host_times_out(Strategy strategy) {
  Web web(2);
  std::vector<std::string> links;
  for (int i = 0; i < 6; ++i) {
    links.push_back(web.url(1, "/h/" + std::to_string(i)));
    web.server(1).add({.path = "/h/" + std::to_string(i), .hang = true});
  }
  links.push_back(web.url(0, "/ok"));
  web.page(0, "/", links);
  web.page(0, "/ok", {});
  Options options = test_options(strategy, 8);
  options.max_per_host = 8;
  const milliseconds timeout = course::scaled(milliseconds(300));
  options.total_timeout = timeout;
  options.retry.max_retries = 1;
  options.retry.initial_backoff = 10ms;
  options.obey_robots = false;
  options.allowed_hosts = {web.host(0), web.host(1)};
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options, 20s);
  ASSERT_TRUE(completed(run));
  for (int i = 0; i < 6; ++i) {
    const PageRecord* page = run.find(web.url(1, "/h/" + std::to_string(i)));
    ASSERT_NE(page, nullptr) << describe(run.result.pages);
    EXPECT_NE(page->error.find("timed out"), std::string::npos) << describe(*page);
    EXPECT_EQ(page->attempts, 2) << "a timeout is transient: retried once" << describe(*page);
  }
  // 6 hung pages on 8 slots run side by side: about 2 timeouts (and a back-off) in all.
  const auto bound = timeout * 2 * 3 + course::scaled(milliseconds(1500));
  EXPECT_LT(run.wall, bound) << course::kTimingMark
                             << "hung pages should time out side by side: the crawl took "
                             << std::chrono::duration_cast<milliseconds>(run.wall).count()
                             << " ms for a timeout of " << timeout.count() << " ms";
}

void expect_retries(Strategy strategy) {
  Web web(1);
  web.page(0, "/", {web.url(0, "/flaky"), web.url(0, "/busy"), web.url(0, "/after")});
  web.page(0, "/flaky", {}, {.fail_first = 2, .fail_status = 503});
  web.page(0, "/busy", {}, {.fail_first = 1, .retry_after_s = 1});
  // 429 with Retry-After: 1, then a 503 without it: retry 2 waits initial_backoff x 2, the
  // formula of its number, not the second of Retry-After doubled.
  web.page(0, "/after", {}, {.fail_first = 2, .retry_after_s = 1, .retry_after_first = 1});
  Options options = test_options(strategy, 3);
  options.retry.max_retries = 2;
  options.retry.initial_backoff = 50ms;
  options.retry.max_backoff = 5000ms;
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options);
  ASSERT_TRUE(completed(run));
  const PageRecord* flaky = run.find(web.url(0, "/flaky"));
  ASSERT_NE(flaky, nullptr) << describe(run.result.pages);
  EXPECT_TRUE(flaky->ok()) << describe(*flaky);
  EXPECT_EQ(flaky->attempts, 3) << describe(*flaky);
  EXPECT_EQ(flaky->status, 200);
  const auto arrivals = web.server(0).arrivals("/flaky");
  ASSERT_EQ(arrivals.size(), 3U);
  EXPECT_GE(arrivals[1] - arrivals[0], 50ms - 5ms)
      << course::kTimingMark << "retry 1 waits initial_backoff";
  EXPECT_GE(arrivals[2] - arrivals[1], 100ms - 5ms)
      << course::kTimingMark << "retry 2 waits twice as long";
  EXPECT_GE(flaky->elapsed, 150ms - 10ms) << "elapsed includes the back-off";
  const auto busy = web.server(0).arrivals("/busy");
  ASSERT_EQ(busy.size(), 2U);
  EXPECT_GE(busy[1] - busy[0], 1000ms - 5ms)
      << course::kTimingMark
      << "a 429 with Retry-After: 1 waits one second, not the 50 ms back-off";
  const auto after = web.server(0).arrivals("/after");
  ASSERT_EQ(after.size(), 3U);
  EXPECT_GE(after[1] - after[0], 1000ms - 5ms)
      << course::kTimingMark << "retry 1 waits the Retry-After of 1 s";
  EXPECT_LT(after[2] - after[1], course::scaled(milliseconds(1000)))
      << course::kTimingMark << "retry 2 of /after waited "
      << std::chrono::duration_cast<milliseconds>(after[2] - after[1]).count()
      << " ms: after a Retry-After of 1 s, a 503 without one waits initial_backoff x 2^(r-1) = "
         "100 ms (the formula of the retry's number), not the previous delay doubled (2 s)";
}

// A stop ends every wait of the crawl, not only fetches in flight: a back-off before a retry,
// and the politeness wait before a host's next fetch. Each wait here is 20 s; the crawl must
// end within 2 s of the stop.
void expect_stop_ends_the_crawls_other_waits(Strategy strategy) {
  const auto stopped_within_two_seconds = [](BackgroundCrawl& background, const char* wait) {
    // Not synchronisation: the crawl has had its answer and is now (or very soon) in the wait.
    std::this_thread::sleep_for(course::scaled(milliseconds(100)));
    const auto asked = std::chrono::steady_clock::now();
    background.request_stop();
    const bool returned = background.wait_for(2s);
    const auto took = std::chrono::steady_clock::now() - asked;
    const CrawlRun run = background.finish(30s);
    EXPECT_TRUE(returned) << course::kTimingMark
                          << "crawl() did not return within 2 s of a stop request made during "
                          << wait << " of 20 s (it took "
                          << std::chrono::duration_cast<milliseconds>(took).count()
                          << " ms): wait with the stop token, as the fetches do\n"
                          << describe(run.result.pages);
  };
  {
    Web web(1);
    web.page(0, "/", {web.url(0, "/failing")});
    web.page(0, "/failing", {}, {.fail_first = 100, .fail_status = 503});
    Options options = test_options(strategy, 2);
    options.obey_robots = false;
    options.retry.max_retries = 3;
    options.retry.initial_backoff = 20'000ms;
    options.retry.max_backoff = 60'000ms;
    BackgroundCrawl background(web, {web.url(0, "/")}, options);
    ASSERT_TRUE(wait_until(
        background, 10s,
        [&] { return web.server(0).hits("/failing") >= 1 && web.server(0).in_flight() == 0; }))
        << course::kTimingMark << "the crawl never fetched /failing";
    stopped_within_two_seconds(background, "a back-off");
  }
  {
    Web web(1);
    web.page(0, "/", {web.url(0, "/next")});
    web.page(0, "/next", {});
    Options options = test_options(strategy, 2);
    options.obey_robots = false;
    options.host_delay = 20'000ms;
    BackgroundCrawl background(web, {web.url(0, "/")}, options);
    ASSERT_TRUE(
        wait_until(background, 10s,
                   [&] { return web.server(0).hits("/") >= 1 && web.server(0).in_flight() == 0; }))
        << course::kTimingMark << "the crawl never fetched its seed";
    stopped_within_two_seconds(background, "the politeness wait (host_delay) before /next");
  }
}

void expect_prompt_stop(Strategy strategy) {
  Web web(1);
  std::vector<std::string> links;
  for (int i = 0; i < 30; ++i) {
    links.push_back(web.url(0, "/slow/" + std::to_string(i)));
    web.page(0, "/slow/" + std::to_string(i), {}, {.latency = 20'000ms});
  }
  web.page(0, "/", links);
  Options options = test_options(strategy, 4);
  options.total_timeout = 60'000ms;
  BackgroundCrawl background(web, {web.url(0, "/")}, options);
  ASSERT_TRUE(wait_until(background, 10s, [&] { return web.server(0).in_flight() >= 4; }))
      << "the crawl never had 4 slow pages in flight";
  const auto asked = std::chrono::steady_clock::now();
  background.request_stop();
  const bool returned = background.wait_for(2s);
  const auto took = std::chrono::steady_clock::now() - asked;
  const CrawlRun run = background.finish(5s);
  ASSERT_TRUE(returned) << "crawl() should return within 2 s of a stop request, even with "
                           "fetches in flight (they are cancelled)";
  EXPECT_LT(took, course::scaled(milliseconds(2000)));
  std::size_t cancelled = 0;
  for (const PageRecord& page : run.result.pages) {
    if (page.error.find("cancelled") != std::string::npos) ++cancelled;
  }
  EXPECT_EQ(run.result.pages.size(), 31U)
      << "every scheduled page is recorded, the unfinished ones as cancelled\n"
      << describe(run.result.pages);
  EXPECT_EQ(cancelled, 30U) << describe(run.result.pages);
}

void expect_invalid_options_refused(Strategy strategy) {
  const auto refused = [&](const std::function<void(Options&)>& change, const char* what) {
    Options options;
    options.strategy = strategy;
    change(options);
    EXPECT_THROW((void)crawl({"http://127.0.0.1:9/"}, options), std::invalid_argument) << what;
  };
  refused([](Options& o) { o.max_concurrency = 0; }, "max_concurrency = 0");
  refused([](Options& o) { o.max_per_host = 0; }, "max_per_host = 0");
  refused([](Options& o) { o.total_timeout = 0ms; }, "total_timeout = 0");
  refused([](Options& o) { o.connect_timeout = -1ms; }, "connect_timeout < 0");
  refused([](Options& o) { o.max_depth = -1; }, "max_depth = -1");
  refused([](Options& o) { o.max_pages = 0; }, "max_pages = 0");
  refused([](Options& o) { o.retry.max_retries = -1; }, "max_retries = -1");
  refused([](Options& o) { o.host_delay = -1ms; }, "host_delay < 0");
  refused([](Options& o) { o.max_body_bytes = 0; }, "max_body_bytes = 0");
  refused([](Options& o) { o.max_redirects = -1; }, "max_redirects = -1");
  refused([](Options& o) { o.retry.initial_backoff = -1ms; }, "initial_backoff < 0");
  // The smallest values in range are accepted: L = 1, one per host, depth 0, no retries.
  Web web(1);
  web.page(0, "/", {web.url(0, "/next")});
  web.page(0, "/next", {});
  Options edge = test_options(strategy, 1);
  edge.max_per_host = 1;
  edge.max_depth = 0;
  edge.max_pages = 1;
  edge.retry.max_retries = 0;
  edge.host_delay = 0ms;
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, edge);
  ASSERT_TRUE(completed(run));
  ASSERT_EQ(run.result.pages.size(), 1U) << "max_depth = 0: the seed only\n"
                                         << describe(run.result.pages);
  EXPECT_TRUE(run.result.pages[0].ok()) << describe(run.result.pages[0]);
  EXPECT_EQ(web.server(0).hits("/next"), 0U);
}

// ---- the async strategy: one thread ----

void expect_async_on_one_thread() {
  Web web(1);
  add_rendezvous_pages(web, 0, 12);
  web.server(0).rendezvous(6, course::scaled(milliseconds(3000)));
  std::mutex mutex;
  std::set<std::thread::id> threads;
  Options options = test_options(Strategy::async, 6);
  options.retry.max_retries = 0;
  options.on_progress = [&](const Progress&) {
    const std::scoped_lock lock(mutex);
    threads.insert(std::this_thread::get_id());
  };
  const CrawlRun run = run_crawl(web, {web.url(0, "/")}, options);
  ASSERT_TRUE(completed(run));
  for (const PageRecord& page : run.result.pages) EXPECT_TRUE(page.ok()) << describe(page);
  EXPECT_EQ(web.server(0).peak_in_flight(), 6U);
  EXPECT_EQ(threads.size(), 1U) << "the async strategy runs on one thread: every page was "
                                   "recorded from "
                                << threads.size() << " threads";
}

// ---- fair: a slow host cannot hold every slot ----

// Host 0 is slow (every page takes 10 s) and its 20 pages are queued first; host 1 is quick. With
// L = 4 and 2 slots per host, a fair scheduler crawls all of host 1 on the 2 slots host 0 cannot
// use, while host 0's pages are still in flight.
void expect_slow_host_isolated(Strategy strategy, bool must_be_fair) {
  Web web(2);
  std::vector<std::string> slow;
  std::vector<std::string> quick;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(web.url(0, "/s/" + std::to_string(i)));
    web.page(0, "/s/" + std::to_string(i), {}, {.latency = 10'000ms});
    quick.push_back(web.url(1, "/q/" + std::to_string(i)));
    web.page(1, "/q/" + std::to_string(i), {});
  }
  web.page(0, "/", slow);
  web.page(1, "/", quick);
  Options options = test_options(strategy, 4);
  options.max_per_host = 2;
  options.total_timeout = 60'000ms;
  options.obey_robots = false;
  BackgroundCrawl background(web, {web.url(0, "/"), web.url(1, "/")}, options);
  const bool quick_done =
      wait_until(background, 5s, [&] { return web.server(1).total_hits() >= 21; });
  background.request_stop();
  const CrawlRun run = background.finish(10s);
  ASSERT_TRUE(run.exception.empty()) << run.exception;
  if (must_be_fair) {
    EXPECT_TRUE(quick_done)
        << course::kTimingMark
        << "host 1's 21 pages should all be fetched while host 0's slow pages are in flight: "
        << web.server(1).total_hits() << " were. Host 0 can use only 2 of the 4 workers; the "
        << "other 2 must go on with host 1 instead of waiting for host 0's slots\n"
        << "host 0:\n"
        << web.server(0).trace().timeline() << "host 1:\n"
        << web.server(1).trace().timeline();
  }
  EXPECT_LE(web.server(0).peak_in_flight(), 2U);
}

// ---- hostile pages: bounded work, a clear error, and the crawl goes on ----

// A page of 100 000 nested elements (a recursive walk of the tree overflows the stack and loses
// every record), pages of unclosed formatting tags (an HTML5 tree builder takes time and memory
// that grow with their square: 30 KB took 6 s and 790 MB), and a page over the body cap. Each
// gets a record, the nested one with its error, and the crawl goes on to the page after them.
void expect_hostile_pages_recorded(Strategy strategy) {
  Web web(1);
  const auto u = [&](const std::string& path) { return web.url(0, path); };
  std::string nested;
  for (int i = 0; i < 100'000; ++i) nested += "<div>";
  nested += "<a href=\"/never\">never</a>";
  std::string formatting;
  for (int i = 0; i < 20'000; ++i) formatting += "<div><b id=" + std::to_string(i) + "></div>";
  formatting += "<a href=\"/after-formatting\">after</a>";
  std::string unclosed(300'000, ' ');
  for (std::size_t i = 0; i + 3 <= unclosed.size(); i += 3) unclosed.replace(i, 3, "<b>");
  web.page(0, "/", {u("/nested"), u("/formatting"), u("/unclosed"), u("/big"), u("/fine")});
  web.server(0).add({.path = "/nested", .body = nested, .content_type = "text/html"});
  web.server(0).add({.path = "/formatting", .body = formatting, .content_type = "text/html"});
  web.server(0).add({.path = "/unclosed", .body = unclosed, .content_type = "text/html"});
  web.server(0).add(
      {.path = "/big", .body = std::string(200'000, 'x'), .content_type = "text/html"});
  web.page(0, "/fine", {});
  web.page(0, "/after-formatting", {});
  Options options = test_options(strategy, 4);
  options.max_body_bytes = 1'000'000;
  options.max_depth = 2;
  options.obey_robots = false;
  Options small = options;
  const CrawlRun run = run_crawl(web, {u("/")}, options);
  ASSERT_TRUE(completed(run)) << "a crawl of five hostile pages must end like any other";
  std::ostringstream all;
  all << describe(run.result.pages);
  const PageRecord* deep = run.find(u("/nested"));
  ASSERT_NE(deep, nullptr) << all.str();
  EXPECT_EQ(deep->status, 200) << describe(*deep);
  EXPECT_EQ(deep->error, "page nested deeper than 256 elements")
      << "a page nested deeper than kMaxHtmlDepth is recorded with HtmlError's message\n"
      << all.str();
  EXPECT_EQ(web.server(0).hits("/never"), 0U);
  for (const char* path : {"/formatting", "/fine"}) {
    const PageRecord* page = run.find(u(path));
    ASSERT_NE(page, nullptr) << path << "\n" << all.str();
    EXPECT_TRUE(page->ok()) << describe(*page);
  }
  // 100 000 <b> nest (a <b> goes inside the one before): parsed, or refused for its nesting.
  const PageRecord* unclosed_page = run.find(u("/unclosed"));
  ASSERT_NE(unclosed_page, nullptr) << all.str();
  EXPECT_TRUE(unclosed_page->ok() || unclosed_page->error == "page nested deeper than 256 elements")
      << describe(*unclosed_page);
  EXPECT_NE(run.find(u("/after-formatting")), nullptr)
      << "the link after 20 000 unclosed formatting tags is found and followed\n"
      << all.str();
  // The same site with a body cap below /big's size: its record has the answer's status.
  small.max_body_bytes = 100'000;
  const CrawlRun capped = run_crawl(web, {u("/big")}, small);
  ASSERT_TRUE(completed(capped));
  const PageRecord* big = capped.find(u("/big"));
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->status, 200) << "over the body cap, the answer's status is kept\n"
                              << describe(*big);
  EXPECT_EQ(big->error, "page larger than 100000 bytes") << describe(*big);
}

}  // namespace

// ---- the tests, per strategy ----

TEST(Sequential, VisitsTheReachablePagesOnce) { expect_reachable_pages_once(Strategy::sequential); }
TEST(Sequential, FailuresAreRecordedAndTheCrawlGoesOn) {
  expect_failures_recorded(Strategy::sequential);
}
TEST(Sequential, PolitenessWithoutRobotsTxt) {
  expect_politeness_without_robots(Strategy::sequential);
}
TEST(Sequential, HostilePagesAreRecordedAndTheCrawlGoesOn) {
  expect_hostile_pages_recorded(Strategy::sequential);
}

#define COURSE_CRAWL_TESTS(Suite, strategy)                                                        \
  TEST(Suite, VisitsTheReachablePagesOnce) { expect_reachable_pages_once(strategy); }              \
  TEST(Suite, ScopeIsTheSeedsHosts) { expect_scope_of_seeds_and_link_counts(strategy); }           \
  TEST(Suite, SpellingsOfAPageAreFetchedOnce) { expect_spellings_deduplicated(strategy); }         \
  TEST(Suite, PopularPageIsFetchedOnce) { expect_popular_page_once(strategy); }                    \
  TEST(Suite, FailuresAreRecordedAndTheCrawlGoesOn) { expect_failures_recorded(strategy); }        \
  TEST(Suite, HostilePagesAreRecordedAndTheCrawlGoesOn) {                                          \
    expect_hostile_pages_recorded(strategy);                                                       \
  }                                                                                                \
  TEST(Suite, RobotsTxtComesFirstAndIsObeyed) { expect_robots_first_and_obeyed(strategy); }        \
  TEST(Suite, MaxPagesAndProgress) { expect_max_pages_and_progress(strategy); }                    \
  TEST(Suite, PeakInFlightIsTheLimit) {                                                            \
    expect_limit_reached_never_passed(strategy, 4);                                                \
    expect_limit_reached_never_passed(strategy, 8, 3);                                             \
  }                                                                                                \
  TEST(Suite, PerHostLimitHolds) { expect_per_host_limit(strategy); }                              \
  TEST(Suite, GlobalLimitHoldsAcrossHosts) { expect_global_limit_across_hosts(strategy); }         \
  TEST(Suite, WaitsForTheSlowestPage) { expect_waits_for_the_slowest_page(strategy); }             \
  TEST(Suite, PolitenessDelayPerHost) { expect_politeness(strategy); }                             \
  TEST(Suite, PolitenessWithoutRobotsTxt) { expect_politeness_without_robots(strategy); }          \
  TEST(Suite, PolitenessCountsFromTheLastRealStart) {                                              \
    expect_politeness_from_the_last_real_start(strategy);                                          \
  }                                                                                                \
  TEST(Suite, DepthIsTheShortestDistanceWhateverTheSchedule) { expect_shortest_depths(strategy); } \
  TEST(Suite, HungHostTimesOut) { expect_hung_host_times_out(strategy); }                          \
  TEST(Suite, HonoursConnectTimeout) { expect_connect_timeout(strategy); }                         \
  TEST(Suite, RetriesTransientFailures) { expect_retries(strategy); }                              \
  TEST(Suite, StopEndsTheCrawlPromptly) { expect_prompt_stop(strategy); }                          \
  TEST(Suite, AStopEndsTheBackoffAndThePolitenessWait) {                                           \
    expect_stop_ends_the_crawls_other_waits(strategy);                                             \
  }                                                                                                \
  TEST(Suite, RefusesInvalidOptions) { expect_invalid_options_refused(strategy); }

COURSE_CRAWL_TESTS(Threads, Strategy::threads)
COURSE_CRAWL_TESTS(Async, Strategy::async)
COURSE_CRAWL_TESTS(Fair, Strategy::fair)

TEST(Async, RunsOnOneThread) { expect_async_on_one_thread(); }
TEST(Fair, SlowHostDoesNotHoldEverySlot) { expect_slow_host_isolated(Strategy::fair, true); }

}  // namespace crawler::testing
