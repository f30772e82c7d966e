// Level 4: L worker threads around the frontier, which one mutex protects. A worker sleeps on a
// condition variable until a job is ready or the crawl is over; the crawl is over when nothing is
// ready and no worker holds a job (the frontier's pending count), so a slow page that will still
// add links keeps every idle worker waiting instead of letting them quit.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "frontier.hpp"

namespace crawler::detail {
namespace {

class ThreadCrawl {
 public:
  explicit ThreadCrawl(Frontier& frontier) : frontier_(frontier) {}

  void run() {
    {
      std::vector<std::jthread> workers;
      for (std::size_t i = 0; i < frontier_.options().max_concurrency; ++i) {
        workers.emplace_back([this] { work(); });
      }
    }                          // joins every worker
    frontier_.cancel_ready();  // after a stop: what never started is recorded as cancelled
  }

 private:
  void work() {
    const std::stop_token& stop = frontier_.options().stop;
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, stop, [this] { return frontier_.has_ready() || frontier_.finished(); });
      if (stop.stop_requested() || frontier_.finished()) break;
      const Job job = frontier_.take();
      // The job's host may be busy: this worker waits for a slot there (the simple, unfair part:
      // while it waits, it does nothing for the other hosts).
      changed_.wait(lock, stop, [&] { return frontier_.host_has_slot(job.host); });
      if (stop.stop_requested()) {
        frontier_.cancel(job);
        break;
      }
      frontier_.take_slot(job.host);
      wait_for_politeness(job.host, lock, stop);
      frontier_.started(job.host, Clock::now());  // under the lock, in one step with the check
      lock.unlock();
      const Outcome outcome = fetch_with_retries(job, frontier_.options(), stop);
      lock.lock();
      frontier_.end_fetch(job.host);
      frontier_.complete(job, outcome);
      // New jobs, a free host slot, or the end of the crawl: every waiting worker may care.
      changed_.notify_all();
    }
    changed_.notify_all();  // the crawl is over (or stopping): let the other workers see it
  }

  // Waits until the host's delay since its previous start has passed. The wait releases the lock,
  // and a stop request ends it. Another worker holding a slot of the same host may start a fetch
  // there meanwhile, which moves the moment on: so it is checked again after every wait.
  void wait_for_politeness(const std::string& host, std::unique_lock<std::mutex>& lock,
                           const std::stop_token& stop) {
    for (Clock::time_point when = frontier_.may_start(host);
         Clock::now() < when && !stop.stop_requested(); when = frontier_.may_start(host)) {
      changed_.wait_until(lock, stop, when, [] { return false; });
    }
  }

  Frontier& frontier_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
};

}  // namespace

void crawl_threads(Frontier& frontier) { ThreadCrawl(frontier).run(); }

}  // namespace crawler::detail
