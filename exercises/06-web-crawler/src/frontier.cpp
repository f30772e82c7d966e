// Level 3: the frontier. Read ../README.md first.
// The helpers at the top are given (retries with back-off are exercise 01's); the Frontier's
// member functions are yours.
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

// Given helpers for complete(): use them or not ([[maybe_unused]] keeps the compiler quiet until
// you do).

[[maybe_unused]] bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "scheme://host/robots.txt" for the host of a canonical URL.
[[maybe_unused]] std::string robots_url(const std::string& url, const std::string& host) {
  return url.substr(0, url.find("://") + 3) + host + "/robots.txt";
}

// The path and query of a canonical URL, what robots.txt rules are matched against.
[[maybe_unused]] std::string path_of(const std::string& url) {
  const std::size_t authority = url.find("://") + 3;
  const std::size_t path = url.find('/', authority);
  return path == std::string::npos ? "/" : url.substr(path);
}

// "HTTP 503", "timed out after 500 ms", with " after 3 attempts" when there were retries.
[[maybe_unused]] std::string error_of(const Outcome& outcome) {
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

// Given: where the fetch was, never under a strategy's lock (see Outcome).
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

namespace {
[[noreturn]] void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) + " is not implemented yet (level 3 of 06-web-crawler)");
}
}  // namespace

// Canonicalise the seeds (a malformed one is recorded with its error), work out the scope, and
// schedule each seed at depth 0.
Frontier::Frontier(const std::vector<std::string>& /*seeds*/, const Options& options)
    : options_(options) {
  not_implemented("Frontier::Frontier");
}

Job Frontier::take() { not_implemented("Frontier::take"); }
std::vector<Job> Frontier::take_all() { not_implemented("Frontier::take_all"); }
bool Frontier::host_has_slot(const std::string& /*host*/) const {
  not_implemented("Frontier::host_has_slot");
}
Frontier::Host& Frontier::host(const std::string& /*name*/) { not_implemented("Frontier::host"); }
void Frontier::take_slot(const std::string& /*host*/) { not_implemented("Frontier::take_slot"); }
// The previous start that happened plus the host's delay (host_delay, or a longer Crawl-delay).
Clock::time_point Frontier::may_start(const std::string& /*host*/) const {
  not_implemented("Frontier::may_start");
}
void Frontier::started(const std::string& /*host*/, Clock::time_point /*now*/) {
  not_implemented("Frontier::started");
}
void Frontier::end_fetch(const std::string& /*host*/) { not_implemented("Frontier::end_fetch"); }

// The checks, in order: too deep, off scope, seen already (check and insert in one step),
// max_pages reached; then admit().
void Frontier::schedule(const std::string& /*url*/, int /*depth*/, int /*redirects*/) {
  not_implemented("Frontier::schedule");
}
// Without robots: ready. With: the host's robots.txt first (a job at the front of the queue),
// the page waits for it; once it is known, ready or "disallowed by robots.txt".
void Frontier::admit(Job /*job*/) { not_implemented("Frontier::admit"); }
void Frontier::complete(const Job& /*job*/, const Outcome& /*outcome*/) {
  not_implemented("Frontier::complete");
}
void Frontier::complete_robots(const Job& /*job*/, const Outcome& /*outcome*/) {
  not_implemented("Frontier::complete_robots");
}
void Frontier::complete_page(const Job& /*job*/, const Outcome& /*outcome*/) {
  not_implemented("Frontier::complete_page");
}
void Frontier::follow_redirect(const Job& /*job*/, const FetchResult& /*answer*/,
                               PageRecord& /*page*/, std::vector<Edge>& /*edges*/) {
  not_implemented("Frontier::follow_redirect");
}
// Schedules the edges now, or keeps them in deferred_ while a page nearer the seeds is pending.
void Frontier::expand(int /*depth*/, std::vector<Edge> /*edges*/) {
  not_implemented("Frontier::expand");
}
void Frontier::release_deferred() { not_implemented("Frontier::release_deferred"); }
void Frontier::record_page(PageRecord /*page*/) { not_implemented("Frontier::record_page"); }
void Frontier::cancel(const Job& /*job*/) { not_implemented("Frontier::cancel"); }
void Frontier::cancel_ready() { not_implemented("Frontier::cancel_ready"); }
void Frontier::record(PageRecord /*page*/) { not_implemented("Frontier::record"); }

CrawlResult Frontier::result(std::chrono::milliseconds /*elapsed*/) && {
  not_implemented("Frontier::result");
}

}  // namespace crawler::detail
