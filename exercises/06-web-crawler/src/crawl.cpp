// crawl(): checks the options, runs the chosen strategy on a frontier, and returns its records.
// Level 3, the sequential strategy, is given: it is the loop every other strategy overlaps.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "frontier.hpp"

namespace crawler {

namespace detail {

void crawl_sequential(Frontier& frontier) {
  const std::stop_token& stop = frontier.options().stop;
  while (frontier.has_ready()) {
    const Job job = frontier.take();
    if (stop.stop_requested()) {
      frontier.cancel(job);
      continue;
    }
    // Politeness: wait until the host may be fetched again (a wait that a stop request ends).
    frontier.take_slot(job.host);
    std::mutex mutex;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mutex);
    never_notified.wait_until(lock, stop, frontier.may_start(job.host), [] { return false; });
    frontier.started(job.host, Clock::now());
    const Outcome outcome = fetch_with_retries(job, frontier.options(), stop);
    frontier.end_fetch(job.host);
    frontier.complete(job, outcome);
  }
}

}  // namespace detail

CrawlResult crawl(const std::vector<std::string>& seeds, const Options& options) {
  detail::validate(options);
  const auto start = std::chrono::steady_clock::now();
  detail::Frontier frontier(seeds, options);
  switch (options.strategy) {
    case Strategy::sequential:
      detail::crawl_sequential(frontier);
      break;
    case Strategy::threads:
      detail::crawl_threads(frontier);
      break;
    case Strategy::async:
      detail::crawl_async(frontier);
      break;
    case Strategy::fair:
      detail::crawl_fair(frontier);
      break;
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return std::move(frontier).result(elapsed);
}

}  // namespace crawler
