// Exercise 08: the connection pool's public types. Given: you write the pool (src/pool.hpp) and
// its coroutine front (src/async_pool.hpp) against these types, and the tests, the database
// drivers (connpool/sqlite.hpp, connpool/postgres.hpp) and the benchmark use them too.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>

#include "course/fake_clock.hpp"

namespace connpool {

using std::chrono::milliseconds;
using Clock = course::Clock;  // the pool's time: the steady clock, or a test's FakeClock
using TimePoint = Clock::time_point;

// How the pool makes, checks and ends connections of type C: a database driver, or the tests'
// scripted fake. The pool calls these without holding its own lock, from any of its threads.
template <class C>
class Factory {
 public:
  Factory() = default;
  Factory(const Factory&) = delete;
  Factory& operator=(const Factory&) = delete;
  virtual ~Factory() = default;

  // Opens a connection. May take long and may throw (the database is down); gives up and throws
  // soon after `stop` is requested, which the pool does when it shuts down.
  virtual C create(const std::stop_token& stop) = 0;
  // True if the connection still works. Answers within `timeout`: false if it cannot tell.
  virtual bool validate(C& connection, milliseconds timeout) = 0;
  // Closes the connection; never throws.
  virtual void close(C& connection) noexcept = 0;
  // True if the connection is known to be broken without asking the database: its last use
  // failed with a connection-class error (the server ended the session, the network dropped it;
  // PostgreSQL's SQLSTATE class 08 and 57P01-57P03). Local and cheap: never blocks, never
  // throws. The pool asks when a connection comes back, and closes a broken one instead of
  // lending it again (HikariCP evicts such a connection at once). By default nothing is known.
  virtual bool is_broken(const C& /*connection*/) noexcept { return false; }
};

// A lease held longer than PoolOptions::leak_threshold: reported once per lease.
struct LeakWarning {
  std::uint64_t lease = 0;  // the lease's number: 1 for the first lease the pool gave, and so on
  milliseconds held{0};     // how long it had been held when the warning was made
};

// HikariCP's settings, under the same names. Durations of 0 turn a feature off.
struct PoolOptions {
  std::size_t max_size = 10;  // connections that exist at once (idle, lent or being created); >= 1
  std::size_t min_idle = 0;   // the pool creates connections until this many are idle; <= max_size
  // How long acquire() may take, validation included, before PoolTimeout; > 0.
  milliseconds connection_timeout{30000};
  // The longest Factory::validate may take; acquire() passes less when its deadline is nearer.
  milliseconds validation_timeout{5000};
  milliseconds alive_bypass{500};       // not validated again if given back this recently
  milliseconds max_lifetime{0};         // retire a connection this old (never one in use)
  milliseconds idle_timeout{0};         // close one idle this long, down to min_idle
  milliseconds leak_threshold{0};       // warn once about a lease held this long
  milliseconds housekeeping_period{0};  // 0: housekeep() runs only when you call it
  std::function<void(const LeakWarning&)> on_leak{};  // called outside the pool's lock
  const Clock* clock = nullptr;                       // nullptr: the steady clock
};

// Percentiles of how long acquire() waited, over every acquire() that got a connection.
struct WaitSummary {
  std::uint64_t count = 0;
  std::chrono::nanoseconds p50{0};
  std::chrono::nanoseconds p99{0};
  std::chrono::nanoseconds max{0};
};

// Given: a histogram of waits with buckets 1/16 of a power of two wide (about 6 % precision), so
// recording is O(1) and takes no allocation under the pool's lock. Not thread-safe: keep it under
// the lock that guards the rest of your statistics.
class WaitHistogram {
 public:
  // Records `times` waits of this length (one, unless a caller counted several elsewhere).
  void record(std::chrono::nanoseconds wait, std::uint64_t times = 1) {
    if (times == 0) return;
    const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(wait.count(), 0));
    buckets_[bucket_of(ns)] += times;
    count_ += times;
    max_ = std::max(max_, ns);
  }

  [[nodiscard]] WaitSummary summary() const {
    WaitSummary s;
    s.count = count_;
    s.p50 = std::chrono::nanoseconds(percentile(0.50));
    s.p99 = std::chrono::nanoseconds(percentile(0.99));
    s.max = std::chrono::nanoseconds(max_);
    return s;
  }

 private:
  static constexpr std::size_t kSubBuckets = 16;
  static constexpr std::size_t kBuckets = 64 * kSubBuckets;

  // Values below 16 ns have a bucket each; above, 16 buckets per power of two.
  static std::size_t bucket_of(std::uint64_t ns) {
    if (ns < kSubBuckets) return static_cast<std::size_t>(ns);
    const auto exponent = static_cast<std::size_t>(std::bit_width(ns) - 1);  // >= 4
    const auto sub = static_cast<std::size_t>(ns >> (exponent - 4)) - kSubBuckets;
    return (exponent - 3) * kSubBuckets + sub;
  }
  // The largest value that falls in bucket b.
  static std::uint64_t upper_of(std::size_t b) {
    if (b < kSubBuckets) return b;
    const std::size_t exponent = b / kSubBuckets + 3;
    const std::uint64_t sub = b % kSubBuckets + kSubBuckets;
    return ((sub + 1) << (exponent - 4)) - 1;
  }
  [[nodiscard]] std::uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      seen += buckets_[b];
      if (seen >= rank) return std::min(upper_of(b), max_);
    }
    return max_;
  }

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

// A picture of the pool at one instant (taken under its lock, so the counts agree).
struct PoolStats {
  std::size_t total = 0;                  // connections that exist: idle + in_use + pending
  std::size_t idle = 0;                   // ready to lend
  std::size_t in_use = 0;                 // lent, or being validated or handed to a waiter
  std::size_t pending = 0;                // being created now
  std::size_t waiting = 0;                // acquire() calls waiting for a connection now
  std::uint64_t created = 0;              // Factory::create calls that succeeded
  std::uint64_t closed = 0;               // Factory::close calls
  std::uint64_t timeouts = 0;             // acquire() calls that threw PoolTimeout
  std::uint64_t validation_failures = 0;  // connections that failed validate() and were closed
  std::uint64_t broken = 0;               // connections closed on return: is_broken() was true
  std::uint64_t leaks = 0;                // leak warnings made
  WaitSummary acquire_wait;               // how long successful acquire() calls waited
};

// Why acquire() gave up: the first of these that holds when it does.
enum class TimeoutReason {
  // The deadline came while acquire() validated an idle connection (validate() failed, or was
  // still waiting for an answer, which the deadline cuts short): the database is up but does
  // not answer.
  validation_failing,
  // The pool needed a new connection and Factory::create failed, or had not finished by the
  // deadline (a database that is down, or one that hangs).
  create_failing,
  // Neither: every connection was in use, and none came back in time.
  exhausted,
};

// acquire() waited connection_timeout without getting a connection. what() says why in words:
// the counts (exhausted), the last error of Factory::create, or that it has not finished
// (create_failing), or that validation failed (validation_failing).
class PoolTimeout : public std::runtime_error {
 public:
  PoolTimeout(const std::string& what, TimeoutReason reason, const PoolStats& at)
      : std::runtime_error(what), reason_(reason), at_(at) {}
  [[nodiscard]] TimeoutReason reason() const { return reason_; }
  [[nodiscard]] const PoolStats& at() const { return at_; }  // the pool when it gave up

 private:
  TimeoutReason reason_;
  PoolStats at_;
};

// acquire() on a pool that is shut down, or one that was shut down while acquire() waited.
class PoolClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An error reported by a database driver (connpool/sqlite.hpp, connpool/postgres.hpp): the text
// is the database's own message.
class DatabaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A lease used after it was released, or released twice.
class LeaseMisuse : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace connpool
