// Exercise 08 (draft, levels 1 to 3): a bounded connection pool with a FIFO of waiters, a
// hand-off to exactly one of them, creation on the pool's own thread, and health checks.
//
// Work in progress for issue 16: the API will move to include/connpool/api.hpp once the exercise
// is registered; levels 4 and 5 (shutdown, coroutines) follow the design in ../DESIGN.md.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
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
using TimePoint = course::Clock::time_point;

// How the pool makes, checks and ends connections (a database driver, or the tests' fake).
template <class C>
class Factory {
 public:
  virtual ~Factory() = default;
  // May block and may throw; should give up (throw) soon after `stop` is requested, which the
  // pool does when it shuts down.
  virtual C create(const std::stop_token& stop) = 0;
  // True if the connection still works; must answer within `timeout` (false if it cannot).
  virtual bool validate(C& connection, milliseconds timeout) = 0;
  virtual void close(C& connection) noexcept = 0;
};

// A lease held longer than PoolOptions::leak_threshold (reported once per lease).
struct LeakWarning {
  std::uint64_t lease = 0;  // the lease's number, in the order they were given
  milliseconds held{0};
};

struct PoolOptions {
  std::size_t max_size = 10;               // connections that exist at once, at least 1
  std::size_t min_idle = 0;                // housekeep() tops the idle ones up to this
  milliseconds connection_timeout{30000};  // how long acquire() may wait
  milliseconds validation_timeout{5000};   // passed to Factory::validate
  milliseconds max_lifetime{0};            // 0: forever; else retired at this age, never in use
  milliseconds idle_timeout{0};            // 0: never; else closed when idle this long
  milliseconds leak_threshold{0};          // 0: off
  std::function<void(const LeakWarning&)> on_leak{};
  const course::Clock* clock = nullptr;  // nullptr: the steady clock
};

struct PoolStats {
  std::size_t total = 0;  // connections that exist: idle + in use + being created
  std::size_t idle = 0;
  std::size_t in_use = 0;
  std::size_t waiting = 0;  // acquire() calls blocked now
  std::uint64_t created = 0;
  std::uint64_t closed = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t validation_failures = 0;
  std::uint64_t leaks = 0;
};

// acquire() waited connection_timeout: the pool was exhausted, or creating a connection failed;
// what() says which, and at() gives the counts at that moment.
class PoolTimeout : public std::runtime_error {
 public:
  PoolTimeout(const std::string& what, PoolStats at) : std::runtime_error(what), at_(at) {}
  const PoolStats& at() const { return at_; }

 private:
  PoolStats at_;
};

// acquire() on a pool that is shut down, or shut down while it waited.
class PoolClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Using a lease after it was released, or releasing it twice.
class LeaseMisuse : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
// A connection with the times the pool needs: its age (max_lifetime) and its idle time.
template <class C>
struct Entry {
  C connection;
  TimePoint created;
  TimePoint idle_since;
  bool fresh = true;  // never handed out yet: needs no validation
};
}  // namespace detail

template <class C>
class Pool;

// A connection on loan: it goes back to the pool when the lease is released or destroyed,
// whichever comes first, on every path out of the scope (an exception included).
template <class C>
class Lease {
 public:
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)),
        id_(other.id_),
        entry_(std::move(other.entry_)) {}
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (pool_ != nullptr) pool_->give_back(id_, std::move(*entry_));
  }

  C& operator*() { return checked()->connection; }
  C* operator->() { return &checked()->connection; }

  void release() {
    if (pool_ == nullptr) throw LeaseMisuse("this lease was already released");
    std::exchange(pool_, nullptr)->give_back(id_, std::move(*entry_));
    entry_.reset();
  }

 private:
  friend class Pool<C>;
  Lease(Pool<C>& pool, std::uint64_t id, detail::Entry<C>&& entry)
      : pool_(&pool), id_(id), entry_(std::move(entry)) {}

  detail::Entry<C>* checked() {
    if (pool_ == nullptr) throw LeaseMisuse("this lease was released: its connection is gone");
    return &*entry_;
  }

  Pool<C>* pool_ = nullptr;
  std::uint64_t id_ = 0;
  std::optional<detail::Entry<C>> entry_;
};

template <class C>
class Pool {
 public:
  Pool(Factory<C>& factory, PoolOptions options)
      : factory_(factory),
        options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : course::real_clock()) {
    if (options_.max_size == 0) throw std::invalid_argument("Pool: max_size must be at least 1");
    if (options_.min_idle > options_.max_size) {
      throw std::invalid_argument("Pool: min_idle must not exceed max_size");
    }
    creator_ = std::jthread([this](const std::stop_token& stop) { create_on_demand(stop); });
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  // Leases must not outlive the pool: shut it down and wait for them to come back first.
  ~Pool() { shutdown(); }

  // Closes the idle connections at once and the ones in use when they come back; every waiting
  // acquire() and every later one throws PoolClosed. The creator is stopped (Factory::create
  // gets the stop) and joined. Calling it again does nothing.
  void shutdown() {
    std::vector<detail::Entry<C>> idle;
    {
      const std::scoped_lock lock(mutex_);
      if (closed_) return;
      closed_ = true;
      idle = std::move(idle_);
      idle_.clear();
      for (Waiter& waiter : waiters_) waiter.wake.notify_one();
    }
    creator_.request_stop();
    creator_.join();
    for (auto& entry : idle) close_unlocked(entry);
  }

  Lease<C> acquire() { return acquire(options_.connection_timeout); }

  // An idle connection at once (the most recently returned); else wait, first come first served,
  // for one to be handed over: given back by another thread, or made by the pool's creator.
  // The calling thread never creates a connection (HikariCP: threads block only on the pool).
  // A connection that was used before is validated first; a broken or expired one is closed and
  // the wait goes on, within the same deadline.
  Lease<C> acquire(milliseconds timeout) {
    const auto deadline = clock_.now() + timeout;
    std::unique_lock lock(mutex_);
    if (closed_) throw PoolClosed("the pool is shut down");
    while (true) {
      std::optional<detail::Entry<C>> entry = next_entry(lock, deadline, timeout);
      if (usable(*entry, lock)) return lease(std::move(*entry));
    }
  }

  // One pass of the housekeeping a pool does on a timer: closes idle connections that passed
  // max_lifetime, and those idle longer than idle_timeout while more than min_idle are idle;
  // asks the creator for connections until min_idle are idle; warns once about each lease held
  // longer than leak_threshold.
  void housekeep() {
    std::vector<detail::Entry<C>> retired;
    std::vector<LeakWarning> leaks;
    {
      const std::scoped_lock lock(mutex_);
      const TimePoint now = clock_.now();
      retire_idle(now, retired);
      find_leaks(now, leaks);
      demand_.notify_one();  // min_idle may now be short
    }
    for (auto& entry : retired) close_unlocked(entry);
    for (const LeakWarning& leak : leaks) {
      if (options_.on_leak) options_.on_leak(leak);
    }
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
    std::optional<detail::Entry<C>> handed;
  };

  struct Leased {
    TimePoint since;
    bool warned = false;
  };

  Lease<C> lease(detail::Entry<C>&& entry) {
    const std::scoped_lock lock(mutex_);
    const std::uint64_t id = ++leases_;
    leased_.emplace(id, Leased{clock_.now()});
    entry.fresh = false;
    return Lease<C>(*this, id, std::move(entry));
  }

  // An idle entry, or one handed over; throws PoolTimeout at the deadline. The entry counts as
  // in use from here on.
  std::optional<detail::Entry<C>> next_entry(std::unique_lock<std::mutex>& lock, TimePoint deadline,
                                             milliseconds timeout) {
    if (!idle_.empty()) {
      detail::Entry<C> entry = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      return entry;
    }
    return wait_for_hand_off(lock, deadline, timeout);
  }

  // Checks an entry before it is lent, with the lock released (validation may take up to
  // validation_timeout, and closing may block): true if it can be lent; otherwise it has been
  // closed, and the lock is held again.
  bool usable(detail::Entry<C>& entry, std::unique_lock<std::mutex>& lock) {
    const bool expired = is_expired(entry, clock_.now());
    lock.unlock();
    bool ok = !expired;
    if (ok && !entry.fresh) ok = factory_.validate(entry.connection, options_.validation_timeout);
    if (ok) return true;  // lease() takes the lock itself
    close_unlocked(entry);
    lock.lock();
    if (!expired) ++stats_.validation_failures;
    --in_use_;
    demand_.notify_one();  // a waiter may now need a new one
    return false;
  }

  bool is_expired(const detail::Entry<C>& entry, TimePoint now) const {
    return options_.max_lifetime.count() > 0 && now - entry.created >= options_.max_lifetime;
  }

  std::optional<detail::Entry<C>> wait_for_hand_off(std::unique_lock<std::mutex>& lock,
                                                    TimePoint deadline, milliseconds timeout) {
    waiters_.emplace_back();
    auto me = std::prev(waiters_.end());
    demand_.notify_one();  // the creator decides whether a new connection is worth making
    while (!me->handed && !closed_ && clock_.now() < deadline) {
      clock_.wait_until(me->wake, lock, deadline);
    }
    if (me->handed) {
      std::optional<detail::Entry<C>> entry = std::move(me->handed);
      waiters_.erase(me);
      return entry;  // in_use_ was counted by the giver
    }
    waiters_.erase(me);
    if (closed_) {
      lock.unlock();
      throw PoolClosed("the pool was shut down while this acquire() waited");
    }
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
    lock.unlock();
    throw PoolTimeout(why, at);
  }

  Waiter* first_unserved() {
    for (Waiter& waiter : waiters_) {
      if (!waiter.handed) return &waiter;
    }
    return nullptr;
  }

  // To the longest waiter if there is one (the connection stays in use), else idle.
  void hand_over_locked(detail::Entry<C>&& entry) {
    if (Waiter* waiter = first_unserved()) {
      waiter->handed.emplace(std::move(entry));
      waiter->wake.notify_one();
      return;
    }
    --in_use_;
    entry.idle_since = clock_.now();
    idle_.push_back(std::move(entry));
  }

  // From a Lease. A connection past max_lifetime is retired here, never while in use.
  void give_back(std::uint64_t id, detail::Entry<C>&& entry) {
    std::unique_lock lock(mutex_);
    leased_.erase(id);
    if (closed_ || is_expired(entry, clock_.now())) {
      --in_use_;
      demand_.notify_one();
      lock.unlock();
      close_unlocked(entry);
      return;
    }
    hand_over_locked(std::move(entry));
  }

  void retire_idle(TimePoint now, std::vector<detail::Entry<C>>& retired) {
    std::vector<detail::Entry<C>> kept;
    // Oldest-idle first are at the bottom of the stack.
    for (auto& entry : idle_) {
      const bool too_idle = options_.idle_timeout.count() > 0 &&
                            now - entry.idle_since >= options_.idle_timeout &&
                            idle_.size() - retired.size() > options_.min_idle;
      if (is_expired(entry, now) || too_idle) {
        retired.push_back(std::move(entry));
      } else {
        kept.push_back(std::move(entry));
      }
    }
    idle_ = std::move(kept);
  }

  void find_leaks(TimePoint now, std::vector<LeakWarning>& leaks) {
    if (options_.leak_threshold.count() == 0) return;
    for (auto& [id, leased] : leased_) {
      const auto held = std::chrono::duration_cast<milliseconds>(now - leased.since);
      if (leased.warned || held < options_.leak_threshold) continue;
      leased.warned = true;
      ++stats_.leaks;
      leaks.push_back(LeakWarning{id, held});
    }
  }

  // Connections to make: waiters no creation under way will serve, or the idle ones missing to
  // reach min_idle.
  std::size_t unmet_demand() const {
    std::size_t unserved = 0;
    for (const Waiter& waiter : waiters_) unserved += waiter.handed ? 0 : 1;
    const std::size_t idle_short =
        options_.min_idle > idle_.size() ? options_.min_idle - idle_.size() : 0;
    const std::size_t wanted = std::max(unserved, idle_short);
    return wanted > creating_ ? wanted - creating_ : 0;
  }

  // The creator's thread: one connection at a time, only while there is unmet demand and the
  // maximum allows it. A demand that vanishes while a connection is being made (one came back
  // meanwhile) stops further creations: HikariCP's elision.
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
        pause_after_failure(lock, stop);
        continue;
      }
      last_create_error_.clear();
      ++stats_.created;
      const TimePoint now = clock_.now();
      detail::Entry<C> entry{std::move(*made), now, now, true};
      if (closed_) {  // made while the pool shut down
        lock.unlock();
        close_unlocked(entry);
        return;
      }
      ++in_use_;  // counted as in use until it is handed over or put idle
      hand_over_locked(std::move(entry));
    }
  }

  // A database that refuses connections is not asked again at once; the pause runs on the
  // pool's clock, and a stop ends it.
  void pause_after_failure(std::unique_lock<std::mutex>& lock, const std::stop_token& stop) {
    const auto retry_at = clock_.now() + kCreateRetryPause;
    while (!stop.stop_requested() && clock_.now() < retry_at) {
      clock_.wait_until(demand_, lock, retry_at);
    }
  }

  void close_unlocked(detail::Entry<C>& entry) noexcept {
    factory_.close(entry.connection);
    const std::scoped_lock lock(mutex_);
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
  std::vector<detail::Entry<C>> idle_;  // a stack: the most recently used on top
  std::list<Waiter> waiters_;           // FIFO; a list so that a waiter's address never moves
  std::map<std::uint64_t, Leased> leased_;
  std::uint64_t leases_ = 0;
  std::size_t in_use_ = 0;
  std::size_t creating_ = 0;
  std::string last_create_error_;
  bool closed_ = false;
  PoolStats stats_;
  std::jthread creator_;  // last: started once everything above exists
};

}  // namespace connpool
