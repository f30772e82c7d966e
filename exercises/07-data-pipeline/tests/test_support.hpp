// Helpers for exercise 07's tests: gates that hold a stage's function until the test opens them,
// a call run in the background with a deadline, a count of the threads a run left alive, and
// waits that always end.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include "course/testing.hpp"
#include "course/time_scale.hpp"

namespace logpipe::testing {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Polls `done` every 5 ms until it is true or `timeout` (scaled) has passed; returns its value.
inline bool eventually(const std::function<bool()>& done, milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(timeout);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Waits until `counter` has not changed for `quiet` (scaled), or `timeout` (scaled) has passed:
// "the producer has gone as far as it can". Returns the last value seen.
inline std::uint64_t settled(const std::atomic<std::uint64_t>& counter, milliseconds quiet = 150ms,
                             milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(timeout);
  std::uint64_t last = counter.load();
  auto changed_at = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    const std::uint64_t now = counter.load();
    if (now != last) {
      last = now;
      changed_at = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - changed_at >= course::scaled(quiet)) {
      break;
    }
  }
  return last;
}

// Holds the threads that call wait() until open() is called, or until their own deadline passes
// (then wait() returns false), so that a test never hangs on a gate.
class Gate {
 public:
  bool wait(milliseconds timeout = 10000ms) {
    std::unique_lock lock(mutex_);
    ++waiting_;
    const bool opened =
        opened_cv_.wait_for(lock, course::scaled(timeout), [this] { return open_; });
    --waiting_;
    return opened;
  }
  void open() {
    {
      const std::scoped_lock lock(mutex_);
      open_ = true;
    }
    opened_cv_.notify_all();
  }
  std::size_t waiting() const {
    const std::scoped_lock lock(mutex_);
    return waiting_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable opened_cv_;
  bool open_ = false;
  std::size_t waiting_ = 0;
};

// Counts the threads that are alive and have touched it: a thread calls enter() (from a stage's
// function); a thread_local guard takes it off the count when that thread ends. After run()
// returns, alive() must be 0: every thread the pipeline started has been joined.
class ThreadCensus {
 public:
  void enter() {
    thread_local Guard guard;
    if (guard.census == nullptr) {
      guard.census = this;
      alive_.fetch_add(1);
      ever_.fetch_add(1);
    }
  }
  std::size_t alive() const { return alive_.load(); }
  std::size_t ever() const { return ever_.load(); }

 private:
  struct Guard {
    ThreadCensus* census = nullptr;
    ~Guard() {
      if (census != nullptr) census->alive_.fetch_sub(1);
    }
  };
  std::atomic<std::size_t> alive_{0};
  std::atomic<std::size_t> ever_{0};
};

// Runs `call` on its own thread. finished_within() waits with a deadline; the destructor asks the
// call to stop (through the stop token it was given) before joining, so that a test that failed
// while the call was blocked still ends, as long as the call honours its stop token.
template <class R>
class Background {
 public:
  explicit Background(std::function<R(const std::stop_token&)> call) {
    auto task = std::packaged_task<R(const std::stop_token&)>(std::move(call));
    result_ = task.get_future();
    thread_ =
        std::jthread([task = std::move(task)](const std::stop_token& stop) mutable { task(stop); });
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() { thread_.request_stop(); }

  bool finished_within(milliseconds timeout) {
    return result_.wait_for(course::scaled(timeout)) == std::future_status::ready;
  }
  R get() { return result_.get(); }
  void request_stop() { thread_.request_stop(); }

 private:
  std::future<R> result_;
  std::jthread thread_;  // last: joined before the future goes
};

}  // namespace logpipe::testing
