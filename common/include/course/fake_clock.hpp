// Injectable clocks and sleepers, so expiry, timeout and back-off logic is tested by advancing
// time by hand instead of waiting for it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace course {

// What code that expires or times out asks for the time. The standard Clock requirements need a
// static now(), which a fake cannot offer per test, hence this small interface.
class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;

  // The time to within a few milliseconds, never ahead of now(): for code that reads the clock
  // on every call of a hot path and compares it with intervals of milliseconds or more. The
  // steady clock answers with the kernel's last tick (CLOCK_MONOTONIC_COARSE, a few nanoseconds
  // where now() can cost fifty on a virtual machine); a fake clock answers exactly.
  virtual time_point coarse_now() const { return now(); }

  // Blocks on `cv` (`lock` held on entry and on return) until it is notified or `deadline` has
  // passed on this clock. It may also return early (a spurious wake-up), so callers loop on their
  // own condition and compare now() with the deadline, as with any condition variable.
  virtual void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                          time_point deadline) const = 0;
};

// The real monotonic clock.
class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  time_point coarse_now() const override;
  void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                  time_point deadline) const override {
    cv.wait_until(lock, deadline);
  }
};

// A process-wide SteadyClock, the default for code that takes `const Clock&`.
const Clock& real_clock();

// A clock that only moves when a test moves it. now() may be called from any thread while the
// test advances it.
class FakeClock final : public Clock {
 public:
  // Starts far from the steady clock's epoch, so code that treats a zero time point as "unset"
  // or subtracts a TTL from now() still behaves.
  static constexpr time_point kDefaultStart = time_point{} + std::chrono::hours(1000);

  explicit FakeClock(time_point start = kDefaultStart) : ticks_(start.time_since_epoch().count()) {}

  time_point now() const override { return time_point(duration(ticks_.load())); }

  // Waits until notified, or until the test moves this clock (advance() and set() wake every
  // waiter, which then compares now() with its deadline), or for at most kRealTimeCap of real
  // time (a spurious wake-up: callers loop), so nothing waits forever on a clock a test forgot.
  // Returns at once if the deadline has passed.
  void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                  time_point deadline) const override;

  // Moves time forward by d (a negative d moves it back, which a steady clock never does: only
  // use that to test defensive code), then wakes every wait_until() in progress.
  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    ticks_.fetch_add(std::chrono::duration_cast<duration>(d).count());
    wake_waiters();
  }

  void set(time_point t) {
    ticks_.store(t.time_since_epoch().count());
    wake_waiters();
  }

  // How many threads are inside wait_until() now, waiting (a hold's prisoners not counted): a
  // test waits for this before it moves the clock, to know the code under test is blocked on it.
  std::size_t waiting() const;

  // While a hold lives, every wait_until() that would return stays inside it instead, with the
  // caller's lock released: it stands for a thread that was woken but that the scheduler has not
  // run yet, so that a test can make another thread act first. Ending the hold (end(), or its
  // destructor) lets them return.
  class WakeupHold {
   public:
    explicit WakeupHold(const FakeClock& clock);
    WakeupHold(const WakeupHold&) = delete;
    WakeupHold& operator=(const WakeupHold&) = delete;
    ~WakeupHold() { end(); }
    void end();

   private:
    const FakeClock* clock_;
  };
  [[nodiscard]] WakeupHold hold_wakeups() const { return WakeupHold(*this); }

  // How many threads a hold keeps inside wait_until() now.
  std::size_t held() const;

  // How many wait_until() calls returned because their condition variable was notified (not
  // because the clock moved, nor at the real-time cap): code that wakes exactly one waiter per
  // event adds one per event, a notify_all adds one per waiter.
  std::uint64_t notified_wakeups() const;

  static constexpr std::chrono::milliseconds kRealTimeCap{50};

 private:
  void wake_waiters();
  void stay_while_held(std::unique_lock<std::mutex>& lock) const;

  std::atomic<duration::rep> ticks_;
  std::atomic<std::uint64_t> generation_{0};  // moves of the clock
  mutable std::atomic<std::uint64_t> notified_{0};
  mutable std::mutex waiters_mutex_;
  mutable std::vector<std::condition_variable_any*> waiters_;
  mutable std::mutex hold_mutex_;
  mutable std::condition_variable hold_ended_;
  mutable bool holding_ = false;
  mutable std::size_t held_ = 0;
};

// How code that retries with back-off waits; tests pass a FakeSleeper's sleeper() instead.
using Sleeper = std::function<void(std::chrono::milliseconds)>;

// A Sleeper that really sleeps (the production default).
Sleeper real_sleeper();

// Records the delays it is asked to sleep, returns at once, and optionally advances a FakeClock
// by each delay so that time-based logic sees the sleep. Thread-safe. It must outlive every
// Sleeper obtained from it.
class FakeSleeper {
 public:
  FakeSleeper() = default;
  explicit FakeSleeper(FakeClock& clock) : clock_(&clock) {}
  FakeSleeper(const FakeSleeper&) = delete;
  FakeSleeper& operator=(const FakeSleeper&) = delete;

  Sleeper sleeper();
  void sleep(std::chrono::milliseconds delay);

  std::vector<std::chrono::milliseconds> delays() const;
  std::size_t count() const;
  std::chrono::milliseconds total() const;
  void clear();

 private:
  FakeClock* clock_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::chrono::milliseconds> delays_;
};

}  // namespace course
