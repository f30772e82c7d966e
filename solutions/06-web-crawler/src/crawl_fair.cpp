// Level 6: threads with a per-host scheduler. The jobs wait in one queue per host, and a worker
// only takes a job whose host has a free slot and may be fetched now (its politeness delay has
// passed). Hosts take turns, round-robin. So a slow host holds at most max_per_host workers, and
// the others go on crawling the other hosts: the slow host can no longer stall the crawl.
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "frontier.hpp"

namespace crawler::detail {
namespace {

class FairCrawl {
 public:
  explicit FairCrawl(Frontier& frontier) : frontier_(frontier) {}

  void run() {
    {
      std::vector<std::jthread> workers;
      for (std::size_t i = 0; i < frontier_.options().max_concurrency; ++i) {
        workers.emplace_back([this] { work(); });
      }
    }  // joins every worker
    // After a stop: what never started is recorded as cancelled.
    for (auto& [host, jobs] : queues_) {
      for (const Job& job : jobs) frontier_.cancel(job);
    }
    frontier_.cancel_ready();
  }

 private:
  // Moves the frontier's new jobs into their hosts' queues; a host that had none joins the turn.
  void collect_ready() {
    for (Job& job : frontier_.take_all()) {
      std::deque<Job>& queue = queues_[job.host];
      if (queue.empty()) turns_.push_back(job.host);
      queue.push_back(std::move(job));
    }
  }

  // The next job, in the hosts' turn, whose host has a free slot and may start at `now`. When
  // there is none, `wake` becomes the earliest time a host with a free slot may start.
  std::optional<Job> next_job(Clock::time_point now, std::optional<Clock::time_point>& wake) {
    for (std::size_t tried = 0; tried < turns_.size(); ++tried) {
      std::string host = std::move(turns_.front());
      turns_.pop_front();
      if (frontier_.host_has_slot(host)) {
        const Clock::time_point may_start = frontier_.may_start(host);
        if (may_start <= now) {
          std::deque<Job>& queue = queues_[host];
          Job job = std::move(queue.front());
          queue.pop_front();
          if (queue.empty()) {
            queues_.erase(host);
          } else {
            turns_.push_back(std::move(host));  // the end of the line for its next job
          }
          return job;
        }
        if (!wake || may_start < *wake) wake = may_start;
      }
      turns_.push_back(std::move(host));
    }
    return std::nullopt;
  }

  void work() {
    const std::stop_token& stop = frontier_.options().stop;
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
      collect_ready();
      if (frontier_.finished()) break;
      const Clock::time_point now = Clock::now();
      std::optional<Clock::time_point> wake;
      if (std::optional<Job> job = next_job(now, wake)) {
        fetch(*job, lock, stop);
        continue;
      }
      // Nothing can start now: sleep until a fetch ends (a free slot, new jobs, the end of the
      // crawl) or, when a host only waits for its delay, until that delay is over.
      const std::size_t seen = completions_;
      const auto something_changed = [&] { return completions_ != seen || frontier_.finished(); };
      if (wake) {
        changed_.wait_until(lock, stop, *wake, something_changed);
      } else {
        changed_.wait(lock, stop, something_changed);
      }
    }
    changed_.notify_all();  // the crawl is over (or stopping): let the other workers see it
  }

  void fetch(const Job& job, std::unique_lock<std::mutex>& lock, const std::stop_token& stop) {
    frontier_.take_slot(job.host);
    frontier_.started(job.host, Clock::now());  // under the lock, one step with next_job's check
    lock.unlock();
    const Outcome outcome = fetch_with_retries(job, frontier_.options(), stop);
    lock.lock();
    frontier_.end_fetch(job.host);
    frontier_.complete(job, outcome);
    ++completions_;
    changed_.notify_all();
  }

  Frontier& frontier_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::size_t completions_ = 0;  // fetches ended so far: waiting workers watch it change
  std::map<std::string, std::deque<Job>> queues_;  // per host, only hosts with jobs
  std::deque<std::string> turns_;                  // the hosts of queues_, in turn order
};

}  // namespace

void crawl_fair(Frontier& frontier) { FairCrawl(frontier).run(); }

}  // namespace crawler::detail
