// The frontier: the seen set, the ready queue, robots.txt per host, and the records.
#include "frontier.hpp"

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace crawler::detail {
namespace {

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "scheme://host/robots.txt" for the host of a canonical URL.
std::string robots_url(const std::string& url, const std::string& host) {
  return url.substr(0, url.find("://") + 3) + host + "/robots.txt";
}

// The path and query of a canonical URL, what robots.txt rules are matched against.
std::string path_of(const std::string& url) {
  const std::size_t authority = url.find("://") + 3;
  const std::size_t path = url.find('/', authority);
  return path == std::string::npos ? "/" : url.substr(path);
}

// "HTTP 503", "timed out after 500 ms", with " after 3 attempts" when there were retries.
std::string error_of(const Outcome& outcome) {
  std::string error = outcome.last.error.empty() ? "HTTP " + std::to_string(outcome.last.status)
                                                 : outcome.last.error;
  if (outcome.attempts > 1) error += " after " + std::to_string(outcome.attempts) + " attempts";
  return error;
}

}  // namespace

void validate(const Options& options) {
  if (options.max_concurrency < 1) throw std::invalid_argument("max_concurrency must be >= 1");
  if (options.max_per_host < 1) throw std::invalid_argument("max_per_host must be >= 1");
  if (options.host_delay.count() < 0) throw std::invalid_argument("host_delay must be >= 0");
  if (options.connect_timeout.count() <= 0 || options.total_timeout.count() <= 0) {
    throw std::invalid_argument("timeouts must be > 0");
  }
  if (options.retry.max_retries < 0) throw std::invalid_argument("max_retries must be >= 0");
  if (options.retry.initial_backoff.count() < 0 || options.retry.max_backoff.count() < 0) {
    throw std::invalid_argument("back-off delays must be >= 0");
  }
  if (options.max_depth < 0) throw std::invalid_argument("max_depth must be >= 0");
  if (options.max_pages < 1) throw std::invalid_argument("max_pages must be >= 1");
  if (options.max_body_bytes < 1) throw std::invalid_argument("max_body_bytes must be >= 1");
  if (options.max_redirects < 0) throw std::invalid_argument("max_redirects must be >= 0");
}

FetchRequest request_for(const Job& job, const Options& options) {
  return FetchRequest{.url = job.url,
                      .connect_timeout = options.connect_timeout,
                      .total_timeout = options.total_timeout,
                      .max_body_bytes = options.max_body_bytes,
                      .user_agent = options.user_agent,
                      .resolve = options.resolve};
}

bool should_retry(const FetchResult& attempt, int attempts_so_far, const RetryPolicy& policy) {
  return attempt.transient && attempts_so_far <= policy.max_retries;
}

std::chrono::milliseconds backoff_before(int retry, const FetchResult& failed,
                                         const RetryPolicy& policy) {
  if (failed.retry_after) {
    return std::min<std::chrono::milliseconds>(*failed.retry_after, policy.max_backoff);
  }
  auto delay = policy.initial_backoff;
  for (int r = 1; r < retry && delay < policy.max_backoff; ++r) delay *= 2;
  return std::min(delay, policy.max_backoff);
}

Outcome fetch_with_retries(const Job& job, const Options& options, const std::stop_token& stop) {
  const auto start = Clock::now();
  const FetchRequest request = request_for(job, options);
  Outcome outcome;
  while (true) {
    outcome.last = fetch(request, stop);
    ++outcome.attempts;
    if (!should_retry(outcome.last, outcome.attempts, options.retry)) break;
    // The back-off is a wait that a stop request interrupts: a condition variable that nobody
    // notifies, waited on with the stop token.
    std::mutex mutex;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mutex);
    const auto delay = backoff_before(outcome.attempts, outcome.last, options.retry);
    if (never_notified.wait_for(lock, stop, delay, [] { return false; }) || stop.stop_requested()) {
      break;
    }
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  find_links(job, outcome);
  return outcome;
}

void find_links(const Job& job, Outcome& outcome) {
  const FetchResult& answer = outcome.last;
  if (job.kind != Job::Kind::page || !answer.answered() || answer.status < 200 ||
      answer.status >= 300 || !is_html(answer.content_type)) {
    return;
  }
  try {
    outcome.links = extract_links(answer.body, job.url);
  } catch (const HtmlError& error) {
    outcome.parse_error = error.what();
  }
}

Frontier::Frontier(const std::vector<std::string>& seeds, const Options& options)
    : options_(options),
      allowed_hosts_(options.allowed_hosts.begin(), options.allowed_hosts.end()) {
  std::vector<std::string> canonical_seeds;
  for (const std::string& seed : seeds) {
    try {
      canonical_seeds.push_back(canonical_url(seed));
    } catch (const UrlError& error) {
      record({.url = seed, .error = error.what()});
    }
  }
  if (options.allowed_hosts.empty()) {
    for (const std::string& seed : canonical_seeds) allowed_hosts_.insert(host_of(seed));
  }
  for (const std::string& seed : canonical_seeds) schedule(seed, 0, 0);
}

Job Frontier::take() {
  assert(!ready_.empty());
  Job job = std::move(ready_.front());
  ready_.pop_front();
  ++taken_;
  return job;
}

std::vector<Job> Frontier::take_all() {
  std::vector<Job> jobs(std::make_move_iterator(ready_.begin()),
                        std::make_move_iterator(ready_.end()));
  ready_.clear();
  taken_ += jobs.size();
  return jobs;
}

Frontier::Host& Frontier::host(const std::string& name) {
  auto [it, made] = hosts_.try_emplace(name);
  if (made) it->second.delay = options_.host_delay;
  return it->second;
}

bool Frontier::host_has_slot(const std::string& host) const {
  const auto it = hosts_.find(host);
  return it == hosts_.end() || it->second.fetching < options_.max_per_host;
}

void Frontier::take_slot(const std::string& name) {
  Host& state = host(name);
  assert(state.fetching < options_.max_per_host);
  ++state.fetching;
  ++fetching_;
  stats_.peak_in_flight = std::max(stats_.peak_in_flight, fetching_);
}

Clock::time_point Frontier::may_start(const std::string& name) const {
  const auto it = hosts_.find(name);
  if (it == hosts_.end() || !it->second.last_start) return Clock::time_point{};
  return *it->second.last_start + it->second.delay;
}

void Frontier::started(const std::string& name, Clock::time_point now) {
  host(name).last_start = now;
}

void Frontier::end_fetch(const std::string& name) {
  --host(name).fetching;
  --fetching_;
}

void Frontier::schedule(const std::string& url, int depth, int redirects) {
  if (depth > options_.max_depth) {
    ++stats_.too_deep;
    return;
  }
  const std::string host = host_of(url);
  if (!allowed_hosts_.contains(host)) {
    ++stats_.off_scope;
    return;
  }
  if (seen_.contains(url)) {
    ++stats_.duplicates;
    return;
  }
  if (scheduled_pages_ >= options_.max_pages) {
    ++stats_.dropped;
    return;
  }
  // Marked seen when scheduled, in the same step as the check above: under the strategy's lock,
  // two pages that link to this URL cannot both schedule it.
  seen_.insert(url);
  ++scheduled_pages_;
  ++pending_at_depth_[depth];
  admit(Job{
      .kind = Job::Kind::page, .url = url, .host = host, .depth = depth, .redirects = redirects});
}

void Frontier::admit(Job job) {
  if (!options_.obey_robots) {
    ready_.push_back(std::move(job));
    return;
  }
  Host& host = this->host(job.host);
  switch (host.robots) {
    case Host::Robots::unknown:
      // The first page of a host: its robots.txt goes first, and the page waits for it. It
      // jumps the queue, so that a sequential crawl stays in breadth-first order.
      host.robots = Host::Robots::fetching;
      ready_.push_front(
          Job{.kind = Job::Kind::robots, .url = robots_url(job.url, job.host), .host = job.host});
      host.waiting_for_robots.push_back(std::move(job));
      return;
    case Host::Robots::fetching:
      host.waiting_for_robots.push_back(std::move(job));
      return;
    case Host::Robots::known:
      if (host.rules.allows(path_of(job.url))) {
        ready_.push_back(std::move(job));
      } else {
        record_page({.url = job.url, .depth = job.depth, .error = "disallowed by robots.txt"});
      }
      return;
  }
}

void Frontier::complete(const Job& job, const Outcome& outcome) {
  assert(taken_ > 0);
  --taken_;
  if (job.kind == Job::Kind::robots) {
    complete_robots(job, outcome);
  } else {
    complete_page(job, outcome);
  }
  release_deferred();
}

void Frontier::complete_robots(const Job& job, const Outcome& outcome) {
  ++stats_.robots_fetches;
  Host& host = this->host(job.host);
  const FetchResult& answer = outcome.last;
  std::string unreachable;  // why the host's pages cannot be fetched, if they cannot
  if (answer.answered() && answer.status >= 200 && answer.status < 300) {
    host.rules = RobotsRules::parse(answer.body, options_.user_agent);
    if (const auto delay = host.rules.crawl_delay()) host.delay = std::max(host.delay, *delay);
  } else if (answer.answered() && answer.status >= 300 && answer.status < 500) {
    host.rules = RobotsRules();  // no robots.txt (RFC 9309: 4xx): everything is allowed
  } else if (options_.stop.stop_requested()) {
    unreachable = "cancelled";
  } else {
    // RFC 9309: a robots.txt that is unreachable (5xx, network failure) disallows everything.
    unreachable = "robots.txt unreachable (" + error_of(outcome) + ")";
  }
  host.robots = Host::Robots::known;
  std::vector<Job> waiting = std::move(host.waiting_for_robots);
  host.waiting_for_robots.clear();
  for (Job& page : waiting) {
    if (unreachable.empty()) {
      admit(std::move(page));
    } else {
      record_page({.url = page.url, .depth = page.depth, .error = unreachable});
    }
  }
}

void Frontier::complete_page(const Job& job, const Outcome& outcome) {
  const FetchResult& answer = outcome.last;
  PageRecord page{.url = job.url,
                  .depth = job.depth,
                  .status = answer.status,
                  .bytes = answer.body.size(),
                  .attempts = outcome.attempts,
                  .elapsed = outcome.elapsed};
  std::vector<Edge> edges;
  if (answer.answered() && is_redirect(answer.status)) {
    follow_redirect(job, answer, page, edges);
  } else if (!answer.answered() || answer.status < 200 || answer.status >= 300) {
    page.error = error_of(outcome);  // no answer, or an answer that is not a page
  } else if (!outcome.parse_error.empty()) {
    page.error = outcome.parse_error;  // a hostile page: fetched, but its links are not followed
  } else if (outcome.links) {
    page.links = outcome.links->size();
    for (const std::string& link : *outcome.links) edges.push_back({link, job.depth + 1, 0});
  }
  expand(job.depth, std::move(edges));
  record_page(std::move(page));
}

void Frontier::follow_redirect(const Job& job, const FetchResult& answer, PageRecord& page,
                               std::vector<Edge>& edges) {
  if (answer.location.empty()) {
    page.error = "HTTP " + std::to_string(answer.status) + " without a Location";
    return;
  }
  if (job.redirects >= options_.max_redirects) {
    page.error = "too many redirects";
    return;
  }
  try {
    const std::string target = resolve_url(job.url, answer.location);
    page.links = 1;
    // The target is one more page at the same depth, found through the seen set like a link.
    edges.push_back({target, job.depth, job.redirects + 1});
  } catch (const UrlError& error) {
    page.error = std::string("bad redirect: ") + error.what();
  }
}

void Frontier::cancel(const Job& job) {
  assert(taken_ > 0);
  --taken_;
  if (job.kind == Job::Kind::page) {
    record_page({.url = job.url, .depth = job.depth, .error = "cancelled"});
  } else {
    // A cancelled robots.txt leaves its waiting pages unrecorded, so record them too.
    Host& host = this->host(job.host);
    for (const Job& page : host.waiting_for_robots) {
      record_page({.url = page.url, .depth = page.depth, .error = "cancelled"});
    }
    host.waiting_for_robots.clear();
  }
  release_deferred();
}

void Frontier::cancel_ready() {
  for (Job& job : take_all()) cancel(job);
}

void Frontier::expand(int depth, std::vector<Edge> edges) {
  const bool nearer_pending =
      !pending_at_depth_.empty() && pending_at_depth_.begin()->first < depth;
  if (nearer_pending) {
    std::vector<Edge>& waiting = deferred_[depth];
    waiting.insert(waiting.end(), std::make_move_iterator(edges.begin()),
                   std::make_move_iterator(edges.end()));
    return;
  }
  for (const Edge& edge : edges) schedule(edge.url, edge.depth, edge.redirects);
}

void Frontier::release_deferred() {
  // After a stop request nothing new is scheduled: what waits here is never fetched.
  while (!deferred_.empty() && !options_.stop.stop_requested()) {
    const auto nearest = deferred_.begin();
    if (!pending_at_depth_.empty() && pending_at_depth_.begin()->first < nearest->first) return;
    // Scheduling may defer or release more, so the group leaves the map first.
    std::vector<Edge> edges = std::move(nearest->second);
    deferred_.erase(nearest);
    for (const Edge& edge : edges) schedule(edge.url, edge.depth, edge.redirects);
  }
}

void Frontier::record_page(PageRecord page) {
  const auto pending = pending_at_depth_.find(page.depth);
  assert(pending != pending_at_depth_.end());
  if (--pending->second == 0) pending_at_depth_.erase(pending);
  record(std::move(page));
}

void Frontier::record(PageRecord page) {
  ++stats_.pages;
  ++(page.ok() ? stats_.fetched : stats_.failed);
  records_.push_back(std::move(page));
  if (options_.on_record) options_.on_record(records_.back());
  if (options_.on_progress) {
    std::size_t waiting = 0;
    for (const auto& [name, host] : hosts_) waiting += host.waiting_for_robots.size();
    options_.on_progress(Progress{.done = records_.size(),
                                  .queued = ready_.size() + (taken_ - fetching_) + waiting,
                                  .in_flight = fetching_});
  }
}

CrawlResult Frontier::result(std::chrono::milliseconds elapsed) && {
  stats_.elapsed = elapsed;
  return CrawlResult{.pages = std::move(records_), .stats = stats_};
}

}  // namespace crawler::detail
