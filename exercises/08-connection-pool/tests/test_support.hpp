// Helpers shared by the pool's tests: a scriptable fake database, calls run on their own thread
// with a deadline, and waits for a condition with a deadline. Every wait here ends, so a test
// ends even against a pool that deadlocks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "connpool/api.hpp"
#include "course/fake_clock.hpp"
#include "course/time_scale.hpp"
#include "pool.hpp"

namespace connpool::testing {

using namespace std::chrono_literals;

struct FakeConnection {
  int id = 0;
};

// A database whose behaviour a test scripts: how long create takes, whether it fails or hangs,
// which connections are broken, how long validation takes on a fake clock. It counts what the
// pool does to it, and checks the pool's promises that only the database can see (never more
// than `limit` connections open, never two users of one connection at once, no connection used
// after it was closed).
class FakeDatabase : public Factory<FakeConnection> {
 public:
  FakeConnection create(const std::stop_token& stop) override {
    std::unique_lock lock(mutex_);
    ++create_calls_;
    create_threads_.insert(std::this_thread::get_id());
    const auto until = std::chrono::steady_clock::now() + create_latency_;
    changed_.wait_until(lock, stop, until, [] { return false; });
    changed_.wait(lock, stop, [this] { return !hang_; });
    if (stop.stop_requested()) throw std::runtime_error("create stopped by the pool");
    if (!failure_.empty()) throw std::runtime_error(failure_);
    const int id = ++created_;
    open_.insert(id);
    peak_open_ = std::max(peak_open_, open_.size());
    return FakeConnection{id};
  }

  bool validate(FakeConnection& connection, milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    ++validations_;
    validation_timeouts_.push_back(timeout);
    if (validations_hang_) {  // no answer: validate() gives up after `timeout`, as a driver does
      if (clock_ != nullptr) {
        clock_->advance(timeout);
      } else {
        changed_.wait_for(lock, timeout, [this] { return !validations_hang_; });
      }
      return false;
    }
    if (clock_ != nullptr) clock_->advance(validation_cost_);
    return !broken_.contains(connection.id) && open_.contains(connection.id);
  }

  bool is_broken(const FakeConnection& connection) noexcept override {
    const std::scoped_lock lock(mutex_);
    ++broken_checks_;
    return lost_.contains(connection.id);
  }

  void close(FakeConnection& connection) noexcept override {
    const std::scoped_lock lock(mutex_);
    if (open_.erase(connection.id) == 0) double_closes_.push_back(connection.id);
    closed_ids_.push_back(connection.id);
  }

  // --- the script ---
  void set_create_latency(milliseconds latency) {
    locked([&] { create_latency_ = latency; });
  }
  void fail_creates(std::string error) {
    locked([&] { failure_ = std::move(error); });
  }
  void hang_creates(bool hang) {
    locked([&] { hang_ = hang; });
  }
  // The connection no longer works: validate() says so.
  void break_connection(int id) {
    locked([&] { broken_.insert(id); });
  }
  // A use of the connection failed with a connection-class error (the server ended its
  // session): it no longer works, and is_broken() says so without a round trip.
  void lose_connection(int id) {
    locked([&] {
      broken_.insert(id);
      lost_.insert(id);
    });
  }
  // The database stops answering validations: each one takes its whole timeout (on `clock`
  // when it is given, else in real time) and fails.
  void hang_validations(bool hang, course::FakeClock* clock = nullptr) {
    locked([&] {
      validations_hang_ = hang;
      if (clock != nullptr) clock_ = clock;
    });
  }
  // validate() moves `clock` by `cost`: an answer that takes that long.
  void set_validation_cost(course::FakeClock& clock, milliseconds cost) {
    locked([&] {
      clock_ = &clock;
      validation_cost_ = cost;
    });
  }

  // --- what the pool did ---
  int created() const {
    return read([&] { return created_; });
  }
  int create_calls() const {
    return read([&] { return create_calls_; });
  }
  std::size_t open() const {
    return read([&] { return open_.size(); });
  }
  std::size_t peak_open() const {
    return read([&] { return peak_open_; });
  }
  int validations() const {
    return read([&] { return validations_; });
  }
  int broken_checks() const {
    return read([&] { return broken_checks_; });
  }
  std::vector<int> closed_ids() const {
    return read([&] { return closed_ids_; });
  }
  std::vector<int> double_closes() const {
    return read([&] { return double_closes_; });
  }
  std::vector<milliseconds> validation_timeouts() const {
    return read([&] { return validation_timeouts_; });
  }
  std::set<std::thread::id> create_threads() const {
    return read([&] { return create_threads_; });
  }
  bool is_open(int id) const {
    return read([&] { return open_.contains(id); });
  }

 private:
  template <class F>
  void locked(F change) {
    {
      const std::scoped_lock lock(mutex_);
      change();
    }
    changed_.notify_all();
  }
  template <class F>
  std::invoke_result_t<F> read(F f) const {
    const std::scoped_lock lock(mutex_);
    return f();
  }

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  milliseconds create_latency_{0};
  std::string failure_;
  bool hang_ = false;
  std::set<int> broken_;
  std::set<int> lost_;
  bool validations_hang_ = false;
  int broken_checks_ = 0;
  course::FakeClock* clock_ = nullptr;
  milliseconds validation_cost_{0};
  int created_ = 0;
  int create_calls_ = 0;
  std::set<int> open_;
  std::size_t peak_open_ = 0;
  int validations_ = 0;
  std::vector<int> closed_ids_;
  std::vector<int> double_closes_;
  std::vector<milliseconds> validation_timeouts_;
  std::set<std::thread::id> create_threads_;
};

// Options for a test: a fake clock unless `clock` is null, a long timeout, no background work.
inline PoolOptions options(std::size_t max_size, course::FakeClock* clock = nullptr) {
  PoolOptions o;
  o.max_size = max_size;
  o.connection_timeout = 10s;
  o.alive_bypass = 0ms;  // validate every used connection; one test turns the bypass on
  o.clock = clock;
  return o;
}

// True once `condition` holds; false after `limit` (scaled by COURSE_TIME_SCALE).
template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + course::scaled(limit);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A call on its own thread, whose outcome the test reads: finished() waits for it with a
// deadline, so a test that calls into a deadlocked pool still ends (the destructor joins the
// thread, after the test has unblocked it). What the call threw is kept as text and fields, not
// as an exception_ptr: ThreadSanitizer cannot see the reference count of an exception shared
// between threads, and would report a race that is not there.
template <class R>
class Call {
 public:
  explicit Call(std::function<R()> body) {
    thread_ = std::jthread([this, body = std::move(body)] { run(body); });
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // True if the call returned or threw within `limit` (scaled by COURSE_TIME_SCALE).
  bool finished(std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock lock(mutex_);
    return done_cv_.wait_for(lock, course::scaled(limit), [this] { return done_; });
  }
  // Call finished() first. "returned", or "PoolTimeout: <what>", "PoolClosed: <what>"...
  std::string outcome() {
    const std::scoped_lock lock(mutex_);
    return outcome_;
  }
  std::optional<R> value() {
    const std::scoped_lock lock(mutex_);
    return value_;
  }
  // The reason and counts of a PoolTimeout the call threw.
  std::optional<TimeoutReason> timeout_reason() {
    const std::scoped_lock lock(mutex_);
    return reason_;
  }
  PoolStats timeout_at() {
    const std::scoped_lock lock(mutex_);
    return at_;
  }

 private:
  void run(const std::function<R()>& body) {
    std::optional<R> value;
    std::string outcome = "returned";
    std::optional<TimeoutReason> reason;
    PoolStats at;
    try {
      value.emplace(body());
    } catch (const PoolTimeout& e) {
      outcome = std::string("PoolTimeout: ") + e.what();
      reason = e.reason();
      at = e.at();
    } catch (const PoolClosed& e) {
      outcome = std::string("PoolClosed: ") + e.what();
    } catch (const std::exception& e) {
      outcome = std::string("another exception: ") + e.what();
    }
    const std::scoped_lock lock(mutex_);
    value_ = std::move(value);
    outcome_ = std::move(outcome);
    reason_ = reason;
    at_ = at;
    done_ = true;
    done_cv_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::optional<R> value_;
  std::string outcome_;
  std::optional<TimeoutReason> reason_;
  PoolStats at_;
  std::jthread thread_;  // last: it runs while everything above exists
};

// Waits until `n` acquire() calls wait in the pool.
inline bool waiting_becomes(const Pool<FakeConnection>& pool, std::size_t n) {
  return eventually([&] { return pool.stats().waiting == n; });
}

}  // namespace connpool::testing
