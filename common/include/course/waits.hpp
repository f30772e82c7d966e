// Waits that always end, for tests: a condition polled until a deadline, a gate that holds
// threads until the test opens it, and a time budget for loops that repeat a scenario.
//
//   ASSERT_TRUE(course::eventually([&] { return pool.stats().idle == 2; }));
//
//   course::Gate gate;                    // a stage's function calls gate.wait()
//   ASSERT_TRUE(gate.wait_until_waiting(2, 5s));
//   gate.open();
//
//   for (course::TimeBudget budget(2s); budget.more(); ) { ... one round ... }
//
// Every duration is scaled by COURSE_TIME_SCALE (course/time_scale.hpp), so the same test has
// the margins it needs on a slow machine or under a sanitizer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>

namespace course {

// Polls `condition` every millisecond until it holds or `limit` (scaled) has passed; returns its
// last value. For what a test can only observe from outside (a count the server reports, a file
// that appears); a wait the test can be told about (a gate, a probe) is better.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::milliseconds(5000));

// Waits until `read()` has not changed for `quiet` (scaled), or `limit` (scaled) has passed:
// "the producer has gone as far as it can". Returns the last value read.
std::uint64_t settled(const std::function<std::uint64_t()>& read,
                      std::chrono::milliseconds quiet = std::chrono::milliseconds(150),
                      std::chrono::milliseconds limit = std::chrono::milliseconds(5000));

// The same for a counter the code under test advances.
inline std::uint64_t settled(const std::atomic<std::uint64_t>& counter,
                             std::chrono::milliseconds quiet = std::chrono::milliseconds(150),
                             std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  return settled([&counter] { return counter.load(); }, quiet, limit);
}

// Holds the threads that call wait() until the test calls open(), each for at most its own
// timeout (then wait() returns false), so that a test never hangs on a gate. close() holds the
// next callers again.
class Gate {
 public:
  // Blocks until the gate is open; false when `timeout` (scaled) passed first.
  bool wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));
  void open();
  void close();

  // How many threads are waiting at the gate now.
  [[nodiscard]] std::size_t waiting() const;
  // Waits (at most `timeout`, scaled) until at least n threads wait at the gate.
  bool wait_until_waiting(std::size_t n, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  std::size_t waiting_ = 0;
};

// A stress loop's length as time, not as a count of rounds: more() is true until `budget`
// (scaled) has passed, and at least `min_rounds` times, so a fast machine tries more
// interleavings and a slow one still tries some.
class TimeBudget {
 public:
  explicit TimeBudget(std::chrono::milliseconds budget, int min_rounds = 3);

  // True while the loop should run another round; counts the rounds.
  bool more();
  [[nodiscard]] int rounds() const { return rounds_; }

 private:
  std::chrono::steady_clock::time_point end_;
  int min_rounds_;
  int rounds_ = 0;
};

}  // namespace course
