// Exercise 08, level 5: the pool for coroutines (reference solution).
//
// `co_await pool.async_acquire(timeout)` waits in the same FIFO as the threads, without
// blocking the event loop: the waiter is a callback that the giver calls under the pool's lock
// with the connection itself (a coroutine cannot be woken to look, as a thread is), and the
// callback posts the lease to the coroutine's executor. The timeout is an Asio timer,
// and a cancellation (Asio's cancellation slot, which `||` of awaitable operators uses) takes
// the waiter out of the queue, so a coroutine that stopped waiting never takes a connection.
// Work that blocks (Factory::validate and close) runs on the AsyncPool's own threads, as the
// notes' asyncio hands blocking calls to run_in_executor.
#pragma once

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "pool.hpp"

namespace connpool {

namespace asio = boost::asio;

template <class C>
class AsyncPool {
 public:
  // Coroutines and threads share `pool` (its FIFO, its maximum, its statistics).
  // `blocking_threads` threads run validation and closing off the event loop.
  explicit AsyncPool(Pool<C>& pool, std::size_t blocking_threads = 1)
      : pool_(pool), blocking_(blocking_threads) {}
  AsyncPool(const AsyncPool&) = delete;
  AsyncPool& operator=(const AsyncPool&) = delete;
  ~AsyncPool() { blocking_.join(); }

  asio::awaitable<Lease<C>> async_acquire() {
    return async_acquire(pool_.options().connection_timeout);
  }

  // As Pool::acquire, for a coroutine: an idle connection at once, else a place in the FIFO.
  // Throws PoolTimeout after `timeout` (validation included), PoolClosed if the pool shuts down,
  // and boost::system::system_error(operation_aborted) if the wait is cancelled.
  asio::awaitable<Lease<C>> async_acquire(milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      Handout handout =
          co_await wait_for_lease(std::max(time_left(deadline), milliseconds(1)), timeout);
      const milliseconds left = time_left(deadline);
      const Verdict verdict =
          co_await run_blocking([this, &handout, left] { return check(handout, left); });
      if (verdict == Verdict::lendable) co_return std::move(*handout.lease);
      co_await run_blocking([this, &handout, verdict] {
        pool_.discard(std::move(*handout.lease), verdict == Verdict::broken);
        return true;
      });
      if (verdict == Verdict::broken && time_left(deadline) <= milliseconds(0)) {
        const std::scoped_lock lock(pool_.mutex_);
        throw pool_.timed_out_locked(timeout, true);
      }
    }
  }

 private:
  // A lease handed to a coroutine, and whether its connection must be validated before the
  // coroutine gets it (lent before, and given back longer ago than alive_bypass: the rule of
  // Pool::acquire). A lease, not a bare connection: if the coroutine is gone when it arrives,
  // destroying it gives the connection back.
  struct Handout {
    std::optional<Lease<C>> lease;
    bool validate = false;
  };

  enum class Verdict { lendable, expired, broken };

  static milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
    return std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
  }

  // Validation gets what is left of the caller's deadline at most, as in Pool::acquire.
  Verdict check(Handout& handout, milliseconds left) {
    if (pool_.is_expired_lease(*handout.lease)) return Verdict::expired;
    const TimePoint now = pool_.clock_.now();
    if (handout.validate && !pool_.validate_connection(**handout.lease, now, now + left)) {
      return Verdict::broken;
    }
    return Verdict::lendable;
  }

  // One wait in the pool's FIFO. Exactly one of four things completes it, decided under the
  // pool's lock by `done`: a connection handed over, the pool closing, the timer, a cancellation.
  template <class Handler>
  struct Wait {
    using Executor = asio::associated_executor_t<Handler>;
    Wait(Handler&& h, const Executor& ex) : handler(std::move(h)), timer(ex), work(ex) {}
    Handler handler;
    asio::steady_timer timer;
    asio::executor_work_guard<Executor> work;  // the event loop keeps running while we wait
    bool done = false;                         // under the pool's lock
    typename Pool<C>::WaiterIt waiter{};       // valid while queued
  };

  template <class Token>
  auto wait_for_lease(milliseconds left, milliseconds timeout, Token&& token) {
    return asio::async_initiate<Token, void(std::exception_ptr, Handout)>(
        [this, left, timeout](auto handler) { start_wait(std::move(handler), left, timeout); },
        token);
  }
  auto wait_for_lease(milliseconds left, milliseconds timeout) {
    return wait_for_lease(left, timeout, asio::use_awaitable);
  }

  template <class Handler>
  void start_wait(Handler handler, milliseconds left, milliseconds timeout) {
    const auto ex = asio::get_associated_executor(handler);
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto wait = std::make_shared<Wait<Handler>>(std::move(handler), ex);
    const TimePoint asked_at = pool_.clock_.now();
    const std::scoped_lock lock(pool_.mutex_);
    if (pool_.closed_) {
      finish_locked(wait, std::make_exception_ptr(PoolClosed("async_acquire() on a closed pool")));
      return;
    }
    if (!pool_.idle_.empty()) {
      deliver_locked(wait, pool_.take_idle_locked(), asked_at);
      return;
    }
    wait->waiter = pool_.waiters_.emplace(pool_.waiters_.end());
    wait->waiter->deliver = [this, wait, asked_at](std::optional<detail::Entry<C>> entry) {
      if (entry) {
        deliver_locked(wait, std::move(*entry), asked_at);
      } else {
        finish_locked(wait, std::make_exception_ptr(
                                PoolClosed("the pool was shut down while async_acquire() waited")));
      }
    };
    pool_.wake_creator_if_needed_locked();
    wait->timer.expires_after(left);
    wait->timer.async_wait([this, wait, timeout](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the wait ended another way
      leave_queue(wait, [this, timeout] {
        return std::make_exception_ptr(pool_.timed_out_locked(timeout, false));
      });
    });
    if (slot.is_connected()) {
      slot.assign([this, wait](asio::cancellation_type) {
        leave_queue(wait, [] {
          return std::make_exception_ptr(
              boost::system::system_error(asio::error::operation_aborted));
        });
      });
    }
  }

  // The timer or a cancellation: if the wait is still queued, it leaves the queue unserved.
  template <class Handler, class MakeError>
  void leave_queue(const std::shared_ptr<Wait<Handler>>& wait, MakeError make_error) {
    const std::scoped_lock lock(pool_.mutex_);
    if (wait->done) return;  // already served, closed or timed out
    pool_.waiters_.erase(wait->waiter);
    finish_locked(wait, make_error());
  }

  template <class Handler>
  void deliver_locked(const std::shared_ptr<Wait<Handler>>& wait, detail::Entry<C>&& entry,
                      TimePoint asked_at) {
    const TimePoint now = pool_.clock_.now();
    Handout handout;
    handout.validate = pool_.needs_validation(entry, now);
    handout.lease.emplace(pool_.lease_locked(std::move(entry), asked_at, now));
    finish_locked(wait, nullptr, std::move(handout));
  }

  // Completes the wait once: the handler runs on its own executor, never inside the pool's lock.
  template <class Handler>
  void finish_locked(const std::shared_ptr<Wait<Handler>>& wait, std::exception_ptr error,
                     Handout handout = {}) {
    wait->done = true;
    const auto ex = wait->work.get_executor();
    asio::post(ex, [wait, error, handout = std::move(handout)]() mutable {
      wait->timer.cancel();  // on the timer's executor: a timer is not thread-safe
      asio::get_associated_cancellation_slot(wait->handler).clear();
      wait->work.reset();
      std::move(wait->handler)(error, std::move(handout));
    });
  }

  // Runs `fn` on the blocking threads and resumes the coroutine with its result on its own
  // executor (asyncio's run_in_executor).
  template <class F>
  asio::awaitable<std::invoke_result_t<F&>> run_blocking(F fn) {
    using Result = std::invoke_result_t<F&>;
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                            void(std::exception_ptr, Result)>(
        [this, fn](auto handler) mutable {
          const auto ex = asio::get_associated_executor(handler);
          asio::post(blocking_, [fn, ex, handler = std::move(handler),
                                 work = asio::make_work_guard(ex)]() mutable {
            std::exception_ptr error;
            Result result{};
            try {
              result = fn();
            } catch (...) {
              error = std::current_exception();
            }
            asio::post(ex, [handler = std::move(handler), error, result]() mutable {
              std::move(handler)(error, result);
            });
          });
        },
        asio::use_awaitable);
  }

  Pool<C>& pool_;
  asio::thread_pool blocking_;
};

}  // namespace connpool
