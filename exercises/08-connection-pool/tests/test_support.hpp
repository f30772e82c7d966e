// Helpers shared by the pool's tests: a scriptable fake database, and calls into the pool run on
// their own thread with a deadline (on the kit's course::Background). Every wait here ends, so a
// test ends even against a pool that deadlocks.
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
#include "course/background.hpp"
#include "course/fake_clock.hpp"
#include "course/time_scale.hpp"
#include "course/waits.hpp"
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

using course::eventually;

// What a call into the pool did: "returned" with its value, or "PoolTimeout: <what>",
// "PoolClosed: <what>", "another exception: <what>", with a PoolTimeout's reason and counts.
template <class R>
struct CallOutcome {
  std::optional<R> value;
  std::string outcome = "returned";
  std::optional<TimeoutReason> reason;
  PoolStats at;
};

// A call on its own thread (course::Background), whose outcome the test reads: finished() waits
// for it with a deadline, so a test that calls into a deadlocked pool still ends. The body runs
// inside a try that keeps the pool's exceptions as fields. The destructor waits up to 20 s
// (scaled) for a call the test has not unblocked: the pool's own waits end within its
// connection_timeout (10 s in these tests).
template <class R>
class Call {
 public:
  explicit Call(std::function<R()> body)
      : background_([body = std::move(body)] { return run(body); }, 20s) {}

  // True if the call returned or threw within `limit` (scaled by COURSE_TIME_SCALE).
  bool finished(std::chrono::milliseconds limit = 5000ms) {
    return background_.finished_within(limit);
  }
  // Call finished() first; "still running" otherwise.
  std::string outcome() { return result().outcome; }
  std::optional<R> value() { return result().value; }
  // The reason and counts of a PoolTimeout the call threw.
  std::optional<TimeoutReason> timeout_reason() { return result().reason; }
  PoolStats timeout_at() { return result().at; }

 private:
  static CallOutcome<R> run(const std::function<R()>& body) {
    CallOutcome<R> done;
    try {
      done.value.emplace(body());
    } catch (const PoolTimeout& e) {
      done.outcome = std::string("PoolTimeout: ") + e.what();
      done.reason = e.reason();
      done.at = e.at();
    } catch (const PoolClosed& e) {
      done.outcome = std::string("PoolClosed: ") + e.what();
    } catch (const std::exception& e) {
      done.outcome = std::string("another exception: ") + e.what();
    }
    return done;
  }
  const CallOutcome<R>& result() {
    if (!done_ && background_.finished_within(std::chrono::milliseconds(0)))
      done_ = background_.get();
    if (!done_) {
      static const CallOutcome<R> running = [] {
        CallOutcome<R> outcome;
        outcome.outcome = "still running";
        return outcome;
      }();
      return running;
    }
    return *done_;
  }

  course::Background<CallOutcome<R>> background_;
  std::optional<CallOutcome<R>> done_;
};

// Waits until `n` acquire() calls wait in the pool.
inline bool waiting_becomes(const Pool<FakeConnection>& pool, std::size_t n) {
  return eventually([&] { return pool.stats().waiting == n; });
}

}  // namespace connpool::testing
