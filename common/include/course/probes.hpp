// Overlap probes: prove "these run concurrently" without a wall-clock threshold.
//
// Threads that are inside the region under test enter the probe. The probe forms once n threads
// are inside at the same time. A serialising implementation never gets there, so instead of
// hanging the waiters give up after a timeout and the test fails with describe() as its message.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>

namespace course {

class OverlapProbe {
 public:
  // Keeps the probe's count of threads inside for as long as it lives. Must not outlive the probe.
  class Inside {
   public:
    Inside(Inside&& other) noexcept : probe_(std::exchange(other.probe_, nullptr)) {}
    Inside& operator=(Inside&&) = delete;
    ~Inside();
    // Waits, still inside, until the probe forms; false if it did not (see arrive_and_wait).
    bool wait();

   private:
    friend class OverlapProbe;
    explicit Inside(OverlapProbe& probe) : probe_(&probe) {}
    OverlapProbe* probe_;
  };

  // `timeout` is scaled by time_scale().
  OverlapProbe(std::size_t n, std::chrono::milliseconds timeout);
  OverlapProbe(const OverlapProbe&) = delete;
  OverlapProbe& operator=(const OverlapProbe&) = delete;

  // Counts the calling thread as inside until the guard dies.
  [[nodiscard]] Inside enter();

  // Called by a thread inside the region: it counts as inside for the duration of the call and
  // waits until n threads are inside at once. True once that has happened (the probe then stays
  // formed, so later callers return true at once). False if this caller's scaled timeout passes
  // first; that breaks the probe, which wakes every waiter with false and makes later callers
  // return false at once, so a sequential implementation fails after one timeout, not n.
  bool arrive_and_wait();

  bool formed() const;
  bool broken() const;
  std::size_t needed() const { return n_; }
  std::size_t current() const;
  std::size_t peak() const;
  std::size_t max_inside() const { return peak(); }

  // A teaching message: how many threads were needed, how many were ever inside at once.
  std::string describe() const;

 private:
  void leave();
  bool wait_until_formed();

  const std::size_t n_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t current_ = 0;
  std::size_t peak_ = 0;
  bool formed_ = false;
  bool broken_ = false;
};

// A thread-safe count of the threads currently inside a region, and the most there ever were.
// Tests use it to assert bounds such as "at most k downloads in progress at once".
class PeakCounter {
 public:
  class Guard {
   public:
    Guard(Guard&& other) noexcept : counter_(std::exchange(other.counter_, nullptr)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (counter_ != nullptr) counter_->current_.fetch_sub(1);
    }

   private:
    friend class PeakCounter;
    explicit Guard(PeakCounter& counter) : counter_(&counter) {}
    PeakCounter* counter_;
  };

  [[nodiscard]] Guard enter();
  std::size_t current() const { return current_.load(); }
  std::size_t peak() const { return peak_.load(); }
  // Sets the peak back to the current count.
  void reset_peak() { peak_.store(current_.load()); }

 private:
  std::atomic<std::size_t> current_{0};
  std::atomic<std::size_t> peak_{0};
};

}  // namespace course
