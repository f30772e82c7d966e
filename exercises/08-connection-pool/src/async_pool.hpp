// Exercise 08, level 5: the pool for coroutines. Your file: read ../README.md first.
//
// `co_await async_pool.async_acquire(timeout)` waits in the same queue as the threads, without
// blocking the event loop. Keep the class name and the public member functions; add private
// members, and give AsyncPool the access to Pool's internals it needs (a friend declaration
// in your Pool).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <stdexcept>

#include "pool.hpp"

namespace connpool {

template <class C>
class AsyncPool {
 public:
  // Coroutines and threads share `pool` (its queue, its maximum, its statistics).
  // `blocking_threads` threads run the work that blocks (Factory::validate and close) off the
  // event loop, as the notes' run_in_executor does.
  explicit AsyncPool(Pool<C>& /*pool*/, std::size_t /*blocking_threads*/ = 1) {
    throw std::logic_error("AsyncPool is not implemented yet (level 5 of 08-connection-pool)");
  }
  AsyncPool(const AsyncPool&) = delete;
  AsyncPool& operator=(const AsyncPool&) = delete;

  // async_acquire(options.connection_timeout).
  boost::asio::awaitable<Lease<C>> async_acquire();

  // As Pool::acquire, for a coroutine: an idle connection at once, else a place in the queue.
  // Throws PoolTimeout after `timeout` (validation included), PoolClosed if the pool is or gets
  // shut down, and boost::system::system_error(operation_aborted) if the wait is cancelled: a
  // cancelled wait leaves the queue at once and never takes a connection.
  boost::asio::awaitable<Lease<C>> async_acquire(std::chrono::milliseconds timeout);
};

template <class C>
boost::asio::awaitable<Lease<C>> AsyncPool<C>::async_acquire() {
  throw std::logic_error(
      "AsyncPool::async_acquire is not implemented yet (level 5 of 08-connection-pool)");
}

template <class C>
boost::asio::awaitable<Lease<C>> AsyncPool<C>::async_acquire(std::chrono::milliseconds) {
  throw std::logic_error(
      "AsyncPool::async_acquire is not implemented yet (level 5 of 08-connection-pool)");
}

}  // namespace connpool
