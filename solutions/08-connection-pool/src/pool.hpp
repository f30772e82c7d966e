// Exercise 08 (draft, level 1): a bounded connection pool with a FIFO of waiters and a hand-off.
//
// Work in progress for issue 16: the API will move to include/connpool/api.hpp once the exercise
// is registered. Level 1 only: creation still happens on the acquiring thread, but never under
// the pool's lock; levels 2 to 5 (background creation with elision, health, shutdown, coroutines)
// follow the design in ../DESIGN.md.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "course/fake_clock.hpp"

namespace connpool {

using std::chrono::milliseconds;

// How the pool makes, checks and ends connections (a database driver, or the tests' fake).
template <class C>
class Factory {
 public:
  virtual ~Factory() = default;
  // May block and may throw; should give up (throw) soon after `stop` is requested, which the
  // pool does when it shuts down.
  virtual C create(const std::stop_token& stop) = 0;
  virtual void close(C& connection) noexcept = 0;
};

struct PoolOptions {
  std::size_t max_size = 10;               // connections that exist at once, at least 1
  milliseconds connection_timeout{30000};  // how long acquire() may wait
  const course::Clock* clock = nullptr;    // nullptr: the steady clock
};

struct PoolStats {
  std::size_t total = 0;  // connections that exist: idle + in use (+ being created)
  std::size_t idle = 0;
  std::size_t in_use = 0;
  std::size_t waiting = 0;  // acquire() calls blocked now
  std::uint64_t created = 0;
  std::uint64_t closed = 0;
  std::uint64_t timeouts = 0;
};

// acquire() waited connection_timeout: the pool was exhausted (every connection in use and the
// maximum reached), with the counts at that moment.
class PoolTimeout : public std::runtime_error {
 public:
  PoolTimeout(const std::string& what, PoolStats at) : std::runtime_error(what), at_(at) {}
  const PoolStats& at() const { return at_; }

 private:
  PoolStats at_;
};

// Using a lease after it was released, or releasing it twice.
class LeaseMisuse : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

template <class C>
class Pool;

// A connection on loan: it goes back to the pool when the lease is released or destroyed,
// whichever comes first, on every path out of the scope (an exception included).
template <class C>
class Lease {
 public:
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (pool_ != nullptr) pool_->give_back(std::move(*connection_));
  }

  C& operator*() { return *checked(); }
  C* operator->() { return checked(); }

  void release() {
    if (pool_ == nullptr) throw LeaseMisuse("this lease was already released");
    std::exchange(pool_, nullptr)->give_back(std::move(*connection_));
    connection_.reset();
  }

 private:
  friend class Pool<C>;
  Lease(Pool<C>& pool, C&& connection) : pool_(&pool), connection_(std::move(connection)) {}

  C* checked() {
    if (pool_ == nullptr) throw LeaseMisuse("this lease was released: its connection is gone");
    return &*connection_;
  }

  Pool<C>* pool_ = nullptr;
  std::optional<C> connection_;
};

template <class C>
class Pool {
 public:
  Pool(Factory<C>& factory, PoolOptions options)
      : factory_(factory),
        options_(options),
        clock_(options.clock != nullptr ? *options.clock : course::real_clock()) {
    if (options_.max_size == 0) throw std::invalid_argument("Pool: max_size must be at least 1");
    creator_ = std::jthread([this](const std::stop_token& stop) { create_on_demand(stop); });
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    creator_.request_stop();
    creator_.join();  // before the idle connections go: it may be adding one
    const std::scoped_lock lock(mutex_);
    for (C& connection : idle_) close(connection);
  }

  Lease<C> acquire() { return acquire(options_.connection_timeout); }

  // An idle connection at once (the most recently returned); else wait, first come first served,
  // for one to be handed over: given back by another thread, or made by the pool's creator.
  // The calling thread never creates a connection (HikariCP: threads block only on the pool).
  Lease<C> acquire(milliseconds timeout) {
    const auto deadline = clock_.now() + timeout;
    std::unique_lock lock(mutex_);
    if (!idle_.empty()) return lease(take_idle());
    return wait_for_hand_off(lock, deadline, timeout);
  }

  PoolStats stats() const {
    const std::scoped_lock lock(mutex_);
    return stats_locked();
  }

 private:
  friend class Lease<C>;

  // One blocked acquire(): a connection given back or created is put into `handed` and this
  // waiter, and only this one, is woken.
  struct Waiter {
    std::condition_variable_any wake;
    std::optional<C> handed;
  };

  Lease<C> lease(C&& connection) { return Lease<C>(*this, std::move(connection)); }

  C take_idle() {
    C connection = std::move(idle_.back());
    idle_.pop_back();
    ++in_use_;
    return connection;
  }

  Lease<C> wait_for_hand_off(std::unique_lock<std::mutex>& lock,
                             std::chrono::steady_clock::time_point deadline, milliseconds timeout) {
    waiters_.emplace_back();
    auto me = std::prev(waiters_.end());
    demand_.notify_one();  // the creator decides whether a new connection is worth making
    while (!me->handed && clock_.now() < deadline) clock_.wait_until(me->wake, lock, deadline);
    if (me->handed) {
      C connection = std::move(*me->handed);
      waiters_.erase(me);
      return lease(std::move(connection));  // in_use_ was counted by the giver
    }
    waiters_.erase(me);
    ++stats_.timeouts;
    const PoolStats at = stats_locked();
    std::string why = "no connection within " + std::to_string(timeout.count()) + " ms: ";
    if (!last_create_error_.empty()) {
      why += "creating a connection failed: " + last_create_error_;
    } else {
      why += "the pool is exhausted (" + std::to_string(at.in_use) + " in use of " +
             std::to_string(options_.max_size) + ", " + std::to_string(at.waiting) +
             " other(s) waiting)";
    }
    throw PoolTimeout(why, at);
  }

  // The first waiter not yet served, or nullptr.
  Waiter* first_unserved() {
    for (Waiter& waiter : waiters_) {
      if (!waiter.handed) return &waiter;
    }
    return nullptr;
  }

  // To the longest waiter if there is one (the connection stays in use), else idle.
  void hand_over_locked(C&& connection) {
    if (Waiter* waiter = first_unserved()) {
      waiter->handed.emplace(std::move(connection));
      waiter->wake.notify_one();
      return;
    }
    --in_use_;
    idle_.push_back(std::move(connection));
  }

  // From a Lease.
  void give_back(C&& connection) {
    const std::scoped_lock lock(mutex_);
    hand_over_locked(std::move(connection));
  }

  // Unserved waiters that no creation under way will serve: the demand for new connections.
  std::size_t unmet_demand() const {
    std::size_t unserved = 0;
    for (const Waiter& waiter : waiters_) unserved += waiter.handed ? 0 : 1;
    return unserved > creating_ ? unserved - creating_ : 0;
  }

  // The creator's thread: one connection at a time, only while someone waits for one that no
  // return will bring and the maximum allows it. A demand that vanishes while a connection is
  // being made (a connection came back meanwhile) stops further creations: HikariCP's elision.
  void create_on_demand(const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
      demand_.wait(lock, stop,
                   [this] { return unmet_demand() > 0 && total() < options_.max_size; });
      if (stop.stop_requested()) return;
      ++creating_;
      lock.unlock();
      std::optional<C> made;
      std::string error;
      try {
        made.emplace(factory_.create(stop));
      } catch (const std::exception& e) {
        error = e.what();
      }
      lock.lock();
      --creating_;
      if (!made) {
        last_create_error_ = error;
        // Try again no sooner than a short pause on the pool's clock, unless stopped.
        const auto retry_at = clock_.now() + kCreateRetryPause;
        while (!stop.stop_requested() && clock_.now() < retry_at) {
          clock_.wait_until(demand_, lock, retry_at);
        }
        continue;
      }
      last_create_error_.clear();
      ++stats_.created;
      ++in_use_;  // counted as in use until it is handed over or put idle
      hand_over_locked(std::move(*made));
    }
  }

  void close(C& connection) noexcept {
    factory_.close(connection);
    ++stats_.closed;
  }

  std::size_t total() const { return idle_.size() + in_use_ + creating_; }

  PoolStats stats_locked() const {
    PoolStats s = stats_;
    s.idle = idle_.size();
    s.in_use = in_use_;
    s.total = total();
    s.waiting = 0;
    for (const Waiter& waiter : waiters_) s.waiting += waiter.handed ? 0 : 1;
    return s;
  }

  static constexpr milliseconds kCreateRetryPause{250};

  Factory<C>& factory_;
  const PoolOptions options_;
  const course::Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable_any demand_;  // the creator waits on it
  std::vector<C> idle_;                 // a stack: the most recently used on top
  std::list<Waiter> waiters_;           // FIFO; a list so that a waiter's address never moves
  std::size_t in_use_ = 0;
  std::size_t creating_ = 0;
  std::string last_create_error_;
  PoolStats stats_;
  std::jthread creator_;  // last: started once everything above exists
};

}  // namespace connpool
