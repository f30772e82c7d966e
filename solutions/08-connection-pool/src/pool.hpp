// Exercise 08, levels 1 to 4: a bounded connection pool (reference solution).
//
// One mutex guards everything the pool knows. Under it: a stack of idle connections (the most
// recently returned on top, so the others age and can be retired), a FIFO of waiters, and the
// counts. Nothing slow happens under it: creating, validating and closing a connection all run
// with the lock released, so a database that hangs never stops a waiter from timing out.
//
// Who gets a returned connection: it goes back on the idle stack, and the longest waiter not yet
// woken is woken, alone. A thread that is running may take the connection first (barging, as in
// HikariCP); the woken waiter then finds the stack empty and sleeps again at the head of the
// queue. Reserving the connection for the waiter instead would leave it unused until the
// scheduler runs that thread, and every thread that wants it after would wait too (a convoy):
// the benchmark measures both.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connpool/api.hpp"

namespace connpool {

namespace detail {
// A connection with the times the pool needs: its age (max_lifetime) and how long it has been
// idle (idle_timeout).
template <class C>
struct Entry {
  C connection;
  TimePoint created;
  TimePoint idle_since;
  bool used = false;  // lent before: validated before it is lent again
};
}  // namespace detail

template <class C>
class Pool;
template <class C>
class AsyncPool;

// A connection on loan. It goes back to the pool when the lease is released or destroyed,
// whichever comes first, on every path out of the scope, an exception's included.
template <class C>
class Lease {
 public:
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)),
        slot_(other.slot_),
        entry_(std::move(other.entry_)) {}
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (pool_ != nullptr) pool_->give_back(slot_, std::move(*entry_));
  }

  C& operator*() { return checked().connection; }
  C* operator->() { return &checked().connection; }

  // Gives the connection back now. A second call throws LeaseMisuse, as does any use afterwards.
  void release() {
    if (pool_ == nullptr) throw LeaseMisuse("this lease was already released");
    std::exchange(pool_, nullptr)->give_back(slot_, std::move(*entry_));
    entry_.reset();
  }

 private:
  friend class Pool<C>;
  Lease(Pool<C>& pool, std::size_t slot, detail::Entry<C>&& entry)
      : pool_(&pool), slot_(slot), entry_(std::move(entry)) {}

  detail::Entry<C>& checked() {
    if (pool_ == nullptr) throw LeaseMisuse("this lease was released: its connection is gone");
    return *entry_;
  }

  Pool<C>* pool_ = nullptr;
  std::size_t slot_ = 0;  // the pool's record of this lease
  std::optional<detail::Entry<C>> entry_;
};

template <class C>
class Pool {
 public:
  Pool(Factory<C>& factory, PoolOptions options)
      : factory_(factory),
        options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : course::real_clock()) {
    check(options_);
    make_lease_slots();
    creator_ = std::jthread([this](const std::stop_token& stop) { create_on_demand(stop); });
    if (options_.housekeeping_period.count() > 0) {
      housekeeper_ = std::jthread([this](const std::stop_token& stop) { keep_house(stop); });
    }
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  // Every lease must be back before the pool is destroyed.
  ~Pool() { shutdown(); }

  Lease<C> acquire() { return acquire(options_.connection_timeout); }

  // An idle connection at once (the most recently returned); else wait in the queue until this
  // thread is woken and finds one: given back by another thread, or made by the pool's creator.
  // The calling thread never creates a connection (HikariCP: threads block only on the pool).
  // A connection lent before is validated first; a broken or expired one is closed and the wait
  // goes on. The deadline bounds all of it, validation included (HikariCP's connectionTimeout):
  // a database that does not answer costs the caller `timeout`, not a validation_timeout for
  // every idle connection.
  Lease<C> acquire(milliseconds timeout) {
    // The clock is read once on the way in, outside the lock: the start of the wait, and, when a
    // connection is idle (most acquires), the time it is lent. Again only after a wait, a
    // validation or a close, which take time.
    const TimePoint asked_at = clock_.now();
    const TimePoint deadline = asked_at + timeout;
    TimePoint now = asked_at;
    std::unique_lock lock(mutex_);
    if (closed_) throw PoolClosed("acquire() on a pool that is shut down");
    Check last = Check::lendable;
    while (true) {
      if (now >= deadline) throw timed_out_locked(timeout, last == Check::failed_validation);
      if (idle_.empty()) {
        wait_until_woken_to_idle(lock, deadline, timeout);
        now = clock_.now();
      }
      detail::Entry<C> entry = take_idle_locked();
      last = check_before_lending(entry, now, deadline, lock);
      if (last == Check::lendable) return lease_locked(std::move(entry), asked_at, now);
    }
  }

  // Closes the idle connections at once and the ones in use when they come back; every waiting
  // acquire() and every later one throws PoolClosed. The pool's threads are stopped (a
  // Factory::create in progress gets the stop) and joined. Calling it again does nothing.
  void shutdown() {
    std::vector<detail::Entry<C>> idle;
    {
      const std::scoped_lock lock(mutex_);
      if (closed_) return;
      closed_ = true;
      idle.swap(idle_);
      for (auto it = waiters_.begin(); it != waiters_.end();) it = tell_closed_locked(it);
    }
    housekeeper_ = {};  // request_stop() and join()
    creator_ = {};
    for (auto& entry : idle) close_connection(entry);
  }

  // One round of housekeeping (the pool's own thread runs it every housekeeping_period): closes
  // idle connections past max_lifetime, and those idle longer than idle_timeout while more than
  // min_idle are idle; asks the creator to top the idle ones up to min_idle; warns once about
  // each lease held longer than leak_threshold.
  void housekeep() {
    std::vector<detail::Entry<C>> retired;
    std::vector<LeakWarning> leaks;
    {
      const std::scoped_lock lock(mutex_);
      const TimePoint now = clock_.now();
      retire_idle_locked(now, retired);
      find_leaks_locked(now, leaks);
      demand_.notify_one();  // min_idle may be short now
    }
    for (auto& entry : retired) close_connection(entry);
    for (const LeakWarning& leak : leaks) {
      if (options_.on_leak) options_.on_leak(leak);
    }
  }

  [[nodiscard]] PoolStats stats() const {
    const std::scoped_lock lock(mutex_);
    return stats_locked();
  }

  [[nodiscard]] const PoolOptions& options() const { return options_; }

 private:
  friend class Lease<C>;
  friend class AsyncPool<C>;

  // One blocked acquire(). A thread sleeps on `wake` until `woken` is set (a connection went
  // idle for it) or the pool closes, and leaves the queue itself. A coroutine (level 5) cannot
  // sleep: it sets `deliver`, which the giver calls under the lock with the connection itself.
  struct Waiter {
    std::condition_variable_any wake;
    bool woken = false;
    std::function<void(std::optional<detail::Entry<C>>)> deliver;  // nullopt: the pool closed
  };
  using WaiterIt = typename std::list<Waiter>::iterator;

  // A connection just went idle: wake the longest waiter that has not been woken for another
  // one, and only that waiter, so that each release wakes exactly one. A coroutine's waiter is
  // handed the connection at once and leaves the queue.
  void wake_one_waiter_locked() {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->deliver) {
        it->deliver(take_idle_locked());
        waiters_.erase(it);
        return;
      }
      if (!it->woken) {
        it->woken = true;
        it->wake.notify_one();
        return;
      }
    }
  }

  // Ends one waiter's wait because the pool closed. Returns the next waiter.
  WaiterIt tell_closed_locked(WaiterIt waiter) {
    if (waiter->deliver) {
      waiter->deliver(std::nullopt);
      return waiters_.erase(waiter);
    }
    waiter->wake.notify_one();  // it sees closed_ and leaves the queue itself
    return std::next(waiter);
  }

  // What the pool knows of a lease while its connection is out: for the leak warnings.
  struct LeaseRecord {
    std::uint64_t number = 0;  // 0: the slot is free
    TimePoint since;
    bool warned = false;
  };

  static void check(const PoolOptions& options) {
    if (options.max_size == 0) throw std::invalid_argument("PoolOptions: max_size must be >= 1");
    if (options.min_idle > options.max_size) {
      throw std::invalid_argument("PoolOptions: min_idle must not exceed max_size");
    }
    if (options.connection_timeout.count() <= 0) {
      throw std::invalid_argument("PoolOptions: connection_timeout must be positive");
    }
  }

  detail::Entry<C> take_idle_locked() {
    detail::Entry<C> entry = std::move(idle_.back());
    idle_.pop_back();
    ++in_use_;
    wake_creator_if_needed_locked();  // to top the idle ones up to min_idle
    return entry;
  }

  // At most max_size connections exist, so at most max_size leases: a slot each, made once, and
  // lending allocates nothing under the lock.
  void make_lease_slots() {
    lease_records_.resize(options_.max_size);
    for (std::size_t slot = options_.max_size; slot > 0; --slot) free_slots_.push_back(slot - 1);
  }

  Lease<C> lease_locked(detail::Entry<C>&& entry, TimePoint asked_at, TimePoint now) {
    const std::size_t slot = free_slots_.back();
    free_slots_.pop_back();
    lease_records_[slot] = LeaseRecord{++leases_made_, now};
    waits_.record(now - asked_at);
    entry.used = true;
    return Lease<C>(*this, slot, std::move(entry));
  }

  void forget_lease_locked(std::size_t slot) {
    lease_records_[slot] = LeaseRecord{};
    free_slots_.push_back(slot);
  }

  enum class Check { lendable, expired, failed_validation };

  // Checks an entry at `now` before it is lent, with the lock released (validation may take up
  // to validation_timeout, and closing may block). Returns with the lock held again, and `now`
  // read again if time was spent. An entry that cannot be lent has been closed.
  Check check_before_lending(detail::Entry<C>& entry, TimePoint& now, TimePoint deadline,
                             std::unique_lock<std::mutex>& lock) {
    if (is_expired(entry, now)) {
      lock.unlock();
      close_connection(entry);
      lock.lock();
      now = clock_.now();
      forget_in_use_locked();
      return Check::expired;
    }
    if (!needs_validation(entry, now)) return Check::lendable;
    lock.unlock();
    const bool valid = validate_connection(entry.connection, now, deadline);
    if (!valid) close_connection(entry);
    lock.lock();
    now = clock_.now();
    if (valid) return Check::lendable;
    ++stats_.validation_failures;
    forget_in_use_locked();
    return Check::failed_validation;
  }

  // Just created, or given back a moment ago: HikariCP's alive bypass skips the round trip. Threads
  // and coroutines follow this one rule.
  bool needs_validation(const detail::Entry<C>& entry, TimePoint now) const {
    return entry.used && now - entry.idle_since >= options_.alive_bypass;
  }

  // Factory::validate, given validation_timeout or what is left before `deadline`, whichever is
  // less: an answer that comes later than that is a failure.
  bool validate_connection(C& connection, TimePoint now, TimePoint deadline) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - now);
    // Not std::clamp, whose bounds must be in order: validation_timeout may be 0.
    const milliseconds budget =
        std::min(options_.validation_timeout, std::max(left, milliseconds(1)));
    const bool valid = factory_.validate(connection, budget);
    return valid && clock_.now() - now <= budget;
  }

  // For AsyncPool, which checks a lease before its coroutine gets it.
  bool is_expired_lease(Lease<C>& lease) const { return is_expired(*lease.entry_, clock_.now()); }

  // For AsyncPool: a lease whose connection failed that check is closed instead of returned.
  void discard(Lease<C>&& lease, bool broken) {
    lease.pool_ = nullptr;
    detail::Entry<C> entry = std::move(*lease.entry_);
    lease.entry_.reset();
    {
      const std::scoped_lock lock(mutex_);
      forget_lease_locked(lease.slot_);
      if (broken) ++stats_.validation_failures;
      forget_in_use_locked();
    }
    close_connection(entry);
  }

  bool is_expired(const detail::Entry<C>& entry, TimePoint now) const {
    return options_.max_lifetime.count() > 0 && now - entry.created >= options_.max_lifetime;
  }

  // A connection counted in use was closed: the room it leaves may be wanted by a waiter.
  void forget_in_use_locked() {
    --in_use_;
    wake_creator_if_needed_locked();
  }

  // Joins the queue and sleeps until this thread is woken and finds a connection idle; returns
  // with one idle. A wake-up that finds the stack empty (a running thread took the connection
  // first) is spent: the waiter keeps its place at the head and sleeps again. Throws at the
  // deadline, or when the pool shuts down.
  void wait_until_woken_to_idle(std::unique_lock<std::mutex>& lock, TimePoint deadline,
                                milliseconds timeout) {
    waiters_.emplace_back();
    const auto me = std::prev(waiters_.end());
    wake_creator_if_needed_locked();
    while (!(me->woken && !idle_.empty())) {
      me->woken = false;
      if (closed_ || clock_.now() >= deadline) {
        waiters_.erase(me);
        if (closed_) throw PoolClosed("the pool was shut down while acquire() waited");
        throw timed_out_locked(timeout, false);
      }
      clock_.wait_until(me->wake, lock, deadline);
    }
    waiters_.erase(me);
  }

  // The reasons in api.hpp's order: what acquire() was doing when the deadline came, then what
  // the creator was doing, then the counts.
  PoolTimeout timed_out_locked(milliseconds timeout, bool while_validating) {
    ++stats_.timeouts;
    const PoolStats at = stats_locked();
    std::string why = "no connection within " + std::to_string(timeout.count()) + " ms: ";
    if (while_validating) {
      why +=
          "validating an idle connection failed or got no answer in time (the database is "
          "up but does not answer)";
      return PoolTimeout(why, TimeoutReason::validation_failing, at);
    }
    if (!last_create_error_.empty()) {
      why += "creating a connection failed: " + last_create_error_;
      return PoolTimeout(why, TimeoutReason::create_failing, at);
    }
    if (creating_ > 0) {
      why += "creating a connection has not finished (the database does not answer)";
      return PoolTimeout(why, TimeoutReason::create_failing, at);
    }
    why += "the pool is exhausted (" + std::to_string(at.in_use) + " in use of " +
           std::to_string(options_.max_size) + ", " + std::to_string(at.waiting) +
           " other(s) waiting)";
    return PoolTimeout(why, TimeoutReason::exhausted, at);
  }

  // A connection becomes idle, and one waiter is woken for it.
  void put_idle_locked(detail::Entry<C>&& entry) {
    idle_.push_back(std::move(entry));
    wake_one_waiter_locked();
  }

  // From a Lease. A connection past max_lifetime is retired here, never while in use; one whose
  // use found it broken is closed here, never lent again, and the creator replaces it when a
  // waiter or min_idle wants one.
  void give_back(std::size_t slot, detail::Entry<C>&& entry) {
    const TimePoint now = clock_.now();
    entry.idle_since = now;                                    // also the start of alive_bypass
    const bool broken = factory_.is_broken(entry.connection);  // the driver's call: unlocked
    std::unique_lock lock(mutex_);
    forget_lease_locked(slot);
    if (broken) ++stats_.broken;
    if (closed_ || broken || is_expired(entry, now)) {
      forget_in_use_locked();
      lock.unlock();
      close_connection(entry);
      return;
    }
    --in_use_;
    put_idle_locked(std::move(entry));
  }

  void retire_idle_locked(TimePoint now, std::vector<detail::Entry<C>>& retired) {
    std::vector<detail::Entry<C>> kept;
    // The bottom of the stack has been idle longest: it goes first.
    for (auto& entry : idle_) {
      const std::size_t idle_left = idle_.size() - retired.size();
      const bool idle_too_long = options_.idle_timeout.count() > 0 &&
                                 now - entry.idle_since >= options_.idle_timeout &&
                                 idle_left > options_.min_idle;
      if (is_expired(entry, now) || idle_too_long) {
        retired.push_back(std::move(entry));
      } else {
        kept.push_back(std::move(entry));
      }
    }
    idle_ = std::move(kept);
  }

  void find_leaks_locked(TimePoint now, std::vector<LeakWarning>& leaks) {
    if (options_.leak_threshold.count() == 0) return;
    for (LeaseRecord& lease : lease_records_) {
      const auto held = std::chrono::duration_cast<milliseconds>(now - lease.since);
      if (lease.number == 0 || lease.warned || held < options_.leak_threshold) continue;
      lease.warned = true;
      ++stats_.leaks;
      leaks.push_back(LeakWarning{lease.number, held});
    }
    // In the order the leases were made, as the warnings are numbered.
    std::sort(leaks.begin(), leaks.end(),
              [](const LeakWarning& a, const LeakWarning& b) { return a.lease < b.lease; });
  }

  // Connections worth making now: waiters that neither an idle connection nor a creation under
  // way will serve, or the idle ones missing to reach min_idle, whichever is more.
  [[nodiscard]] std::size_t unmet_demand_locked() const {
    const std::size_t unserved =
        waiters_.size() > idle_.size() ? waiters_.size() - idle_.size() : 0;
    const std::size_t idle_short =
        options_.min_idle > idle_.size() ? options_.min_idle - idle_.size() : 0;
    const std::size_t wanted = std::max(unserved, idle_short);
    return wanted > creating_ ? wanted - creating_ : 0;
  }

  [[nodiscard]] bool should_create_locked() const {
    return !closed_ && unmet_demand_locked() > 0 && total_locked() < options_.max_size;
  }

  // Waking the creator costs a context switch and a turn at the lock: only when it has work.
  void wake_creator_if_needed_locked() {
    if (should_create_locked()) demand_.notify_one();
  }

  // The creator's thread: one connection at a time, and only while there is unmet demand and
  // room under max_size. When a connection comes back while one is being made, the demand it
  // meets is gone and no further creation starts: HikariCP's elision, which keeps a spike of
  // short requests from filling the pool.
  void create_on_demand(const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    while (demand_.wait(lock, stop, [this] { return should_create_locked(); })) {
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
      if (made) {
        add_created_locked(std::move(*made), lock);
      } else {
        last_create_error_ = error.empty() ? "unknown error" : error;
        pause_after_failure(lock, stop);
      }
    }
  }

  void add_created_locked(C&& connection, std::unique_lock<std::mutex>& lock) {
    last_create_error_.clear();
    ++stats_.created;
    const TimePoint now = clock_.now();
    detail::Entry<C> entry{std::move(connection), now, now, false};
    if (closed_) {  // made while the pool shut down
      lock.unlock();
      close_connection(entry);
      lock.lock();
      return;
    }
    put_idle_locked(std::move(entry));
  }

  // A database that refuses connections is not asked again at once: the creator pauses on the
  // pool's clock, and a stop ends the pause. The stop callback takes the lock to notify (else
  // the notification could fall between our check and our wait), so it is registered and
  // unregistered with the lock released: a callback runs at once, in this thread, if the stop
  // was already requested, and its destructor waits for a callback running in another thread.
  void pause_after_failure(std::unique_lock<std::mutex>& lock, const std::stop_token& stop) {
    const TimePoint retry_at = clock_.now() + kCreateRetryPause;
    lock.unlock();
    {
      const std::stop_callback wake_on_stop(stop, [this] {
        const std::scoped_lock guard(mutex_);
        demand_.notify_all();
      });
      std::unique_lock pause(mutex_);
      while (!stop.stop_requested() && clock_.now() < retry_at) {
        clock_.wait_until(demand_, pause, retry_at);
      }
    }
    lock.lock();
  }

  // The housekeeper's thread: housekeep() every housekeeping_period on the pool's clock.
  void keep_house(const std::stop_token& stop) {
    std::condition_variable_any tick;
    std::mutex mutex;
    const std::stop_callback wake_on_stop(stop, [&] {
      const std::scoped_lock guard(mutex);
      tick.notify_all();
    });
    while (!stop.stop_requested()) {
      {
        std::unique_lock lock(mutex);
        const TimePoint next = clock_.now() + options_.housekeeping_period;
        while (!stop.stop_requested() && clock_.now() < next) clock_.wait_until(tick, lock, next);
      }
      if (!stop.stop_requested()) housekeep();
    }
  }

  void close_connection(detail::Entry<C>& entry) noexcept {
    factory_.close(entry.connection);
    const std::scoped_lock lock(mutex_);
    ++stats_.closed;
  }

  [[nodiscard]] std::size_t total_locked() const { return idle_.size() + in_use_ + creating_; }

  [[nodiscard]] PoolStats stats_locked() const {
    PoolStats s = stats_;
    s.idle = idle_.size();
    s.in_use = in_use_;
    s.pending = creating_;
    s.total = total_locked();
    s.waiting = waiters_.size();
    s.acquire_wait = waits_.summary();
    return s;
  }

  static constexpr milliseconds kCreateRetryPause{250};

  Factory<C>& factory_;
  const PoolOptions options_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable_any demand_;      // the creator waits on it
  std::vector<detail::Entry<C>> idle_;      // a stack: the most recently returned on top
  std::list<Waiter> waiters_;               // FIFO; a list, so that a waiter never moves
  std::vector<LeaseRecord> lease_records_;  // max_size slots
  std::vector<std::size_t> free_slots_;
  std::uint64_t leases_made_ = 0;
  std::size_t in_use_ = 0;
  std::size_t creating_ = 0;
  std::string last_create_error_;
  bool closed_ = false;
  PoolStats stats_;
  WaitHistogram waits_;
  // Last: they start once everything above exists, and stop first.
  std::jthread creator_;
  std::jthread housekeeper_;
};

}  // namespace connpool
