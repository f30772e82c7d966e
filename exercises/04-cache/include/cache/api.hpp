// Exercise 04: a concurrent cache. The types every level shares.
//
// This header belongs to the course: the tests and the benchmark are written against it, so keep
// it as it is. The three cache levels are class templates, so you write them in a header of your
// own, src/cache.hpp; the concept at the end of this file is the interface they must offer.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace cache {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// How a cache asks for the time. Empty means std::chrono::steady_clock::now. Tests pass a
// course::FakeClock's time: [&clock] { return clock.now(); }, and move it by hand.
using Now = std::function<TimePoint()>;

// A time to live: an entry put with a TTL expires once now() >= (time of the put) + ttl. No TTL
// (std::nullopt) means the entry never expires. A TTL must be positive.
using Ttl = std::optional<Duration>;

struct Options {
  // The most entries the cache holds, >= 1. Adding an entry to a full cache first evicts the least
  // recently used one (see each level for how exact "least recently used" is).
  std::size_t capacity = 1024;
  // Level 3 only: the number of independent stripes, >= 1. The sharded cache uses
  // min(shards, capacity) stripes and splits the capacity between them, so the total never
  // exceeds `capacity`.
  std::size_t shards = 16;
  Now now{};
};

// Counters that are exact under concurrency: every call counts exactly once, whatever the threads
// do at the same time. When no call is running, the numbers add up:
//   hits + misses = calls of get and get_or_load;
//   loads + load_failures = loader runs;
//   entries added - evictions - expirations - erased - cleared = size().
struct Stats {
  std::uint64_t hits = 0;    // get / get_or_load found a fresh entry
  std::uint64_t misses = 0;  // they did not (absent or expired); joining another load is a miss
  std::uint64_t loads = 0;   // loader runs that returned a value (then cached)
  std::uint64_t load_failures = 0;  // loader runs that threw (nothing cached)
  std::uint64_t evictions = 0;      // entries removed to make room (capacity)
  std::uint64_t expirations = 0;    // entries removed because their TTL had passed

  // hits / (hits + misses), 0 when there was no lookup.
  double hit_rate() const {
    const std::uint64_t lookups = hits + misses;
    return lookups == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(lookups);
  }
};

// Thrown by get_or_load when the loader of a key asks the cache for that same key, directly or
// through other loads on the same thread: waiting for its own result would never end.
class RecursiveLoadError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// What get_or_load runs on a miss: it computes the value for the key. It may throw; every caller
// waiting for that load then gets the exception, and nothing is cached.
template <class K, class V>
using Loader = std::function<V(const K&)>;

// The interface of every level (MutexCache, SharedCache, ShardedCache in src/cache.hpp).
// Every member function is safe to call from any number of threads at once.
//
//  - C(Options): throws std::invalid_argument for capacity 0, and at level 3 for shards 0.
//  - get(key): the value if a fresh entry is there (a hit, which makes it recently used), else
//    std::nullopt (a miss). An expired entry is removed on the spot (an expiration) and misses.
//  - put(key, value, ttl = {}): adds or replaces the entry; evicts the least recently used entry
//    first when a new key finds the cache full. Throws std::invalid_argument for a TTL <= 0.
//  - erase(key): removes the entry; true if there was one (expired or not).
//  - clear(): removes every entry (counted neither as evictions nor as expirations).
//  - size(): the entries held now (expired ones that nobody touched yet included);
//    never more than capacity(), whenever it is observed.
//  - get_or_load(key, loader, ttl = {}): get(key), and on a miss the value the loader computes,
//    cached with the TTL, which counts from when the loader returns. A hit makes the entry
//    recently used, as get's does. Single flight: concurrent misses on one key run the loader
//    once; every caller gets its value or its exception. An exception is not cached: the next
//    call runs the loader again. No lock is held while the loader runs, so a loader may use the
//    cache for other keys; a loader that asks for its own key gets RecursiveLoadError.
//  - purge(): removes every expired entry now; returns how many (counted as expirations).
//  - stats(): the counters above.
template <class C>
concept ConcurrentCache = std::constructible_from<C, Options> &&
    requires(C cache, const C& const_cache, const typename C::key_type& key,
             typename C::mapped_type value,
             Loader<typename C::key_type, typename C::mapped_type> loader, Ttl ttl) {
  { cache.get(key) } -> std::same_as<std::optional<typename C::mapped_type>>;
  { cache.put(key, value) } -> std::same_as<void>;
  { cache.put(key, value, ttl) } -> std::same_as<void>;
  { cache.erase(key) } -> std::same_as<bool>;
  { cache.clear() } -> std::same_as<void>;
  { const_cache.size() } -> std::same_as<std::size_t>;
  { const_cache.capacity() } -> std::same_as<std::size_t>;
  { cache.get_or_load(key, loader) } -> std::same_as<typename C::mapped_type>;
  { cache.get_or_load(key, loader, ttl) } -> std::same_as<typename C::mapped_type>;
  { cache.purge() } -> std::same_as<std::size_t>;
  { const_cache.stats() } -> std::same_as<Stats>;
};

}  // namespace cache
