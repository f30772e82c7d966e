// Exercise 08, levels 1 to 4: a bounded connection pool. Your file: read ../README.md first.
//
// Keep the class names and the public member functions: the tests, your AsyncPool (level 5) and
// the benchmark use them. Add private members as you like. The types they use (Factory,
// PoolOptions, PoolStats, the exceptions) are given in include/connpool/api.hpp.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include "connpool/api.hpp"

namespace connpool {

namespace detail {
[[noreturn]] inline void not_implemented(const char* what, const char* level) {
  throw std::logic_error(std::string(what) + " is not implemented yet (" + level +
                         " of 08-connection-pool)");
}
}  // namespace detail

template <class C>
class Pool;

// A connection on loan. It goes back to the pool when the lease is released or destroyed,
// whichever comes first, on every path out of the scope, an exception's included.
template <class C>
class Lease {
 public:
  Lease(Lease&& /*other*/) noexcept {}
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() = default;

  // The connection. Throws LeaseMisuse once the lease was released (or moved from).
  C& operator*() { detail::not_implemented("Lease::operator*", "level 1"); }
  C* operator->() { detail::not_implemented("Lease::operator->", "level 1"); }

  // Gives the connection back now. A second call throws LeaseMisuse.
  void release() { detail::not_implemented("Lease::release", "level 1"); }

 private:
  friend class Pool<C>;
  Lease() = default;
};

template <class C>
class Pool {
 public:
  // Throws std::invalid_argument if max_size is 0, min_idle > max_size, or connection_timeout
  // is not positive. Starts the pool's own threads (level 2: the creator; level 3: the
  // housekeeper, if housekeeping_period > 0).
  Pool(Factory<C>& /*factory*/, PoolOptions /*options*/) {
    detail::not_implemented("Pool", "level 1");
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  // Shuts the pool down. Every lease must be back before the pool is destroyed.
  ~Pool() = default;

  // acquire(options.connection_timeout).
  Lease<C> acquire() { detail::not_implemented("Pool::acquire", "level 1"); }

  // An idle connection at once if there is one (the most recently returned), even one a waiter
  // was woken for; else waits in line until this thread is woken and finds one idle: given back
  // by another thread, or made by the pool. Each release wakes one waiter, the longest waiting
  // that is not woken yet; a woken waiter that finds nothing keeps its place at the head.
  // The calling thread never creates a connection. A connection lent before is validated
  // first (level 3); a broken or expired one is closed and the wait goes on. Throws PoolTimeout
  // after `timeout` on the pool's clock, everything included: validate() gets what is left of
  // it at most (level 3). Throws PoolClosed if the pool is or gets shut down. A connection
  // given back is closed instead of going idle if Factory::is_broken says so (level 3).
  Lease<C> acquire(std::chrono::milliseconds /*timeout*/) {
    detail::not_implemented("Pool::acquire", "level 1");
  }

  // Level 4: closes the idle connections at once and the ones in use when they come back;
  // every waiting acquire() and every later one throws PoolClosed; stops and joins the pool's
  // threads (a Factory::create in progress gets the stop). A second call does nothing.
  void shutdown() { detail::not_implemented("Pool::shutdown", "level 4"); }

  // Level 3: one round of housekeeping. Closes idle connections past max_lifetime, and those
  // idle longer than idle_timeout while more than min_idle are idle; has the idle ones topped
  // up to min_idle; warns once (on_leak) about each lease held longer than leak_threshold.
  void housekeep() { detail::not_implemented("Pool::housekeep", "level 3"); }

  // The counts, taken at one instant.
  PoolStats stats() const { detail::not_implemented("Pool::stats", "level 1"); }

  const PoolOptions& options() const { detail::not_implemented("Pool::options", "level 1"); }
};

}  // namespace connpool
