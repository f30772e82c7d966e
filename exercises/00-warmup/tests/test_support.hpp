// Helpers shared by the warm-up tests: watching workers through WorkerHook.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "course/probes.hpp"
#include "course/trace.hpp"
#include "warmup/warmup.hpp"

namespace warmup::testing {

// Proves that `threads` workers are alive at the same instant: each worker
// waits in an overlap probe until all of them have arrived. A sequential
// implementation (join each thread before starting the next) never gets
// them together, so the probe gives up after its timeout and the test
// fails with the observed timeline instead of hanging.
class OverlapWatch {
 public:
  explicit OverlapWatch(int threads)
      : threads_(threads), probe_(static_cast<std::size_t>(threads), std::chrono::seconds(2)) {}

  WorkerHook hook() {
    return [this](int worker) {
      const auto arrived = std::chrono::steady_clock::now();
      // After one worker has given up, the rest need not wait again.
      const bool together = !gave_up_.load() && probe_.arrive_and_wait();
      if (!together) gave_up_.store(true);
      // The worker waits in the probe: a wait segment, in the notes' terms.
      trace_.record_segment("worker " + std::to_string(worker), course::SegmentKind::wait, arrived,
                            std::chrono::steady_clock::now());
    };
  }

  [[nodiscard]] bool all_together() const { return !gave_up_.load(); }

  [[nodiscard]] std::string explain() const {
    return "Expected all " + std::to_string(threads_) +
           " workers to be alive at the same time, but at most " +
           std::to_string(probe_.max_inside()) +
           " were: their lifetimes did not overlap. Start every std::jthread before you wait "
           "for any of them (a jthread joins when it is destroyed, so do not create and destroy "
           "it inside the same loop iteration).\nEach bar is a worker waiting in the probe, from "
           "its start until all workers were together (or the probe gave up):\n" +
           trace_.timeline();
  }

  void save(std::string_view title) const { trace_.save_for_report(title); }

 private:
  int threads_;
  course::OverlapProbe probe_;
  course::Trace trace_;
  std::atomic<bool> gave_up_{false};
};

// Records which OS threads ran the workers, and the indices they reported.
class ThreadWatch {
 public:
  WorkerHook hook() {
    return [this](int worker) {
      const std::scoped_lock lock(mutex_);
      ids_.insert(std::this_thread::get_id());
      indices_.push_back(worker);
    };
  }
  [[nodiscard]] std::set<std::thread::id> ids() const {
    const std::scoped_lock lock(mutex_);
    return ids_;
  }
  // The indices passed to the hook, sorted: 0, 1, ... threads-1 when each worker called it once.
  [[nodiscard]] std::vector<int> indices() const {
    const std::scoped_lock lock(mutex_);
    std::vector<int> sorted = indices_;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::thread::id> ids_;
  std::vector<int> indices_;
};

// 0, 1, ... n-1.
inline std::vector<int> every_index(int n) {
  std::vector<int> all(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
  return all;
}

}  // namespace warmup::testing
