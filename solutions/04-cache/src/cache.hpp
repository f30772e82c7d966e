// Exercise 04, the reference: a concurrent cache at three levels.
//
//   level 1  MutexCache    one std::mutex around everything; exact LRU order
//   level 2  SharedCache   a std::shared_mutex: lookups share it, changes take it alone
//   level 3  ShardedCache  N independent level 2 stripes, chosen by the key's hash
//
// Levels 1 and 2 are one class template, LockedCache, that differs only in its mutex: with a
// std::shared_mutex, get() takes the lock shared and so must not reorder the LRU list.
//
// This is the cache at the statement's level. Tuning it past that (reader slots, a lock that spins
// before it sleeps, counters per thread, an open-addressing table) is in
// going-further/tuned-stripes, with what each step buys.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/api.hpp"

namespace cache {
namespace detail {

inline constexpr TimePoint kNever = TimePoint::max();

// A statistics counter that many threads bump at once, some of them under a shared lock: an atomic,
// relaxed because no other memory is published through it.
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct Counters {
  Counter hits, misses, loads, load_failures, evictions, expirations;

  Stats snapshot() const {
    return {.hits = hits.get(),
            .misses = misses.get(),
            .loads = loads.get(),
            .load_failures = load_failures.get(),
            .evictions = evictions.get(),
            .expirations = expirations.get()};
  }
};

// The entries in recency order, most recently used first, and a map from key to each entry's
// place in that list. Not thread-safe: the cache that owns it locks around every call. It reads
// like a container: find() returns end() for a key that is not there.
template <class K, class V, class Hash>
class LruList {
 public:
  struct Entry {
    Entry(K k, V v, TimePoint until) : key(std::move(k)), value(std::move(v)), expires(until) {}
    K key;
    V value;
    TimePoint expires;  // kNever: no TTL
    // Set by readers that hold the lock shared (they may not move the entry in the list): the
    // entry was used since it was last put at the front, so eviction gives it a second chance.
    mutable std::atomic<bool> used{false};
  };
  using Position = typename std::list<Entry>::iterator;

  explicit LruList(std::size_t capacity) : capacity_(capacity) {}

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return capacity_; }

  Position end() { return entries_.end(); }
  Position find(const K& key) {
    const auto found = index_.find(key);
    return found == index_.end() ? entries_.end() : found->second;
  }

  // Exact LRU: the entry becomes the most recently used. Needs the lock held exclusively, since
  // splicing rewrites the list's links.
  void move_to_front(Position entry) {
    entries_.splice(entries_.begin(), entries_, entry);
    entry->used.store(false, std::memory_order_relaxed);
  }

  // Approximate LRU for readers under a shared lock: only a flag changes. Reading the flag first
  // keeps a hot entry's cache line from being written on every hit.
  static void mark_used(const Entry& entry) {
    if (!entry.used.load(std::memory_order_relaxed)) {
      entry.used.store(true, std::memory_order_relaxed);
    }
  }

  // Adds or replaces the entry; returns how many entries were evicted to make room (0 or 1).
  std::size_t put(const K& key, V value, TimePoint expires) {
    if (const Position existing = find(key); existing != end()) {
      existing->value = std::move(value);
      existing->expires = expires;
      move_to_front(existing);
      return 0;
    }
    std::size_t evicted = 0;
    if (index_.size() >= capacity_) {  // evict first: the size never goes past the capacity
      evict_one();
      evicted = 1;
    }
    entries_.emplace_front(key, std::move(value), expires);
    try {
      index_.emplace(key, entries_.begin());
    } catch (...) {
      entries_.pop_front();  // out of memory: leave the list as it was
      throw;
    }
    return evicted;
  }

  void remove(Position entry) {
    index_.erase(entry->key);  // the key still lives in the list's node, erased next
    entries_.erase(entry);
  }

  bool erase(const K& key) {
    const Position entry = find(key);
    if (entry == end()) return false;
    remove(entry);
    return true;
  }

  void clear() {
    index_.clear();
    entries_.clear();
  }

  // Removes every entry expired at `now`; returns how many.
  std::size_t purge(TimePoint now) {
    std::size_t removed = 0;
    for (Position entry = entries_.begin(); entry != entries_.end();) {
      const Position next = std::next(entry);
      if (expired(*entry, now)) {
        remove(entry);
        ++removed;
      }
      entry = next;
    }
    return removed;
  }

  static bool has_ttl(const Entry& entry) { return entry.expires != kNever; }
  static bool expired(const Entry& entry, TimePoint now) {
    return has_ttl(entry) && now >= entry.expires;
  }

 private:
  // The least recently used entry goes, except that an entry read since it was last put at the
  // front gets a second chance: it moves to the front with its flag cleared ("CLOCK" eviction).
  // Under a mutex nothing sets the flags, so this is exact LRU.
  void evict_one() {
    for (;;) {
      const Position last = std::prev(entries_.end());
      if (!last->used.load(std::memory_order_relaxed)) {
        remove(last);
        return;
      }
      move_to_front(last);
    }
  }

  std::size_t capacity_;
  std::list<Entry> entries_;
  std::unordered_map<K, Position, Hash> index_;
};

inline Now clock_or_default(Now now) {
  if (now) return now;
  return [] { return std::chrono::steady_clock::now(); };
}

inline void check_ttl(const Ttl& ttl) {
  if (ttl && *ttl <= Duration::zero()) throw std::invalid_argument("cache: a TTL must be positive");
}

inline TimePoint expiry_for(const Ttl& ttl, const Now& now) {
  check_ttl(ttl);
  return ttl ? now() + *ttl : kNever;
}

// Levels 1 and 2, and the stripes of level 3. Mutex is std::mutex (every call exclusive, exact
// LRU) or std::shared_mutex (lookups shared, approximate LRU).
template <class K, class V, class Hash, class Mutex>
class LockedCache {
  static constexpr bool kSharedReads = !std::is_same_v<Mutex, std::mutex>;
  using Entries = LruList<K, V, Hash>;
  using Entry = typename Entries::Entry;

 public:
  using key_type = K;
  using mapped_type = V;

  explicit LockedCache(Options options)
      : now_(clock_or_default(std::move(options.now))), entries_(checked_capacity(options)) {}
  LockedCache(const LockedCache&) = delete;
  LockedCache& operator=(const LockedCache&) = delete;

  std::optional<V> get(const K& key) {
    if constexpr (kSharedReads) {
      {
        std::shared_lock lock(mutex_);
        const auto entry = entries_.find(key);
        if (entry == entries_.end()) return miss();
        if (!expired(*entry)) {
          Entries::mark_used(*entry);
          return hit(*entry);
        }
      }
      // Expired: removing it is a change, which needs the lock alone.
      std::unique_lock lock(mutex_);
      remove_if_expired(key);
      return miss();
    } else {
      std::unique_lock lock(mutex_);
      return get_locked(key);
    }
  }

  void put(const K& key, V value, Ttl ttl = std::nullopt) {
    const TimePoint expires = expiry_for(ttl, now_);
    std::unique_lock lock(mutex_);
    counters_.evictions.add(entries_.put(key, std::move(value), expires));
  }

  bool erase(const K& key) {
    std::unique_lock lock(mutex_);
    return entries_.erase(key);
  }

  void clear() {
    std::unique_lock lock(mutex_);
    entries_.clear();
  }

  std::size_t size() const {
    if constexpr (kSharedReads) {
      std::shared_lock lock(mutex_);
      return entries_.size();
    } else {
      std::unique_lock lock(mutex_);
      return entries_.size();
    }
  }

  std::size_t capacity() const { return entries_.capacity(); }

  std::size_t purge() {
    const TimePoint now = now_();
    std::unique_lock lock(mutex_);
    const std::size_t removed = entries_.purge(now);
    counters_.expirations.add(removed);
    return removed;
  }

  Stats stats() const { return counters_.snapshot(); }

  V get_or_load(const K& key, const Loader<K, V>& loader, Ttl ttl = std::nullopt) {
    check_ttl(ttl);  // before the load, so that a bad TTL never counts as a failed load
    if constexpr (kSharedReads) {
      // The common case, a hit, shares the lock like get().
      std::shared_lock lock(mutex_);
      const auto entry = entries_.find(key);
      if (entry != entries_.end() && !expired(*entry)) {
        Entries::mark_used(*entry);
        return *hit(*entry);
      }
    }
    std::unique_lock lock(mutex_);
    if (std::optional<V> value = get_locked(key)) return std::move(*value);

    // A miss. Either a load of this key is already running (join it), or this caller runs it.
    if (const auto running = flights_.find(key); running != flights_.end()) {
      const std::shared_ptr<Flight> flight = running->second;
      if (flight->loader == std::this_thread::get_id()) {
        throw RecursiveLoadError(
            "cache: the loader of a key asked the cache for that same key; it would wait for "
            "itself forever");
      }
      lock.unlock();                // never wait for a load while holding the lock
      return flight->result.get();  // the value, or the loader's exception rethrown
    }
    const auto flight = std::make_shared<Flight>();
    flights_.emplace(key, flight);
    lock.unlock();  // the loader runs without the lock: it may be slow, and may use the cache
    return run_load(key, loader, ttl, *flight, lock);
  }

 private:
  // One load in progress: the thread running it, and where its result goes for every caller.
  struct Flight {
    std::thread::id loader = std::this_thread::get_id();
    std::promise<V> promise;
    std::shared_future<V> result = promise.get_future().share();
  };

  static std::size_t checked_capacity(const Options& options) {
    if (options.capacity == 0) throw std::invalid_argument("cache: capacity must be at least 1");
    return options.capacity;
  }

  bool expired(const Entry& entry) const {
    return Entries::has_ttl(entry) && Entries::expired(entry, now_());
  }

  std::optional<V> hit(const Entry& entry) {
    counters_.hits.add();
    return entry.value;  // copied while the lock still protects the entry
  }

  std::optional<V> miss() {
    counters_.misses.add();
    return std::nullopt;
  }

  // get() with the lock held exclusively: exact LRU, and an expired entry goes at once.
  std::optional<V> get_locked(const K& key) {
    const auto entry = entries_.find(key);
    if (entry == entries_.end()) return miss();
    if (expired(*entry)) {
      entries_.remove(entry);
      counters_.expirations.add();
      return miss();
    }
    entries_.move_to_front(entry);
    return hit(*entry);
  }

  // The entry may have changed since the shared lock was released: look again.
  void remove_if_expired(const K& key) {
    const auto entry = entries_.find(key);
    if (entry != entries_.end() && expired(*entry)) {
      entries_.remove(entry);
      counters_.expirations.add();
    }
  }

  V run_load(const K& key, const Loader<K, V>& loader, const Ttl& ttl, Flight& flight,
             std::unique_lock<Mutex>& lock) {
    try {
      V value = loader(key);
      const TimePoint expires = expiry_for(ttl, now_);
      lock.lock();
      counters_.loads.add();
      counters_.evictions.add(entries_.put(key, value, expires));
      flights_.erase(key);
      lock.unlock();
      flight.promise.set_value(value);
      return value;
    } catch (...) {
      if (!lock.owns_lock()) lock.lock();
      counters_.load_failures.add();
      flights_.erase(key);  // not cached: the next call runs the loader again
      lock.unlock();
      flight.promise.set_exception(std::current_exception());
      throw;
    }
  }

  const Now now_;
  mutable Mutex mutex_;
  Entries entries_;
  std::unordered_map<K, std::shared_ptr<Flight>, Hash> flights_;
  Counters counters_;
};

}  // namespace detail

// Level 1: one std::mutex; every call holds it alone, so the LRU order is exact.
template <class K, class V, class Hash = std::hash<K>>
using MutexCache = detail::LockedCache<K, V, Hash, std::mutex>;

// Level 2: a std::shared_mutex; get() and hits of get_or_load share it, so lookups run at the
// same time. A reader may not reorder the LRU list, so it only flags the entry as used, and
// eviction gives flagged entries a second chance: approximate LRU.
template <class K, class V, class Hash = std::hash<K>>
using SharedCache = detail::LockedCache<K, V, Hash, std::shared_mutex>;

// Level 3: independent stripes, each a level 2 cache with its own lock, LRU list, capacity and
// counters, so calls on keys of different stripes never wait for each other.
template <class K, class V, class Hash = std::hash<K>>
class ShardedCache {
  using Stripe = SharedCache<K, V, Hash>;

 public:
  using key_type = K;
  using mapped_type = V;

  explicit ShardedCache(const Options& options) {
    if (options.capacity == 0) throw std::invalid_argument("cache: capacity must be at least 1");
    if (options.shards == 0) throw std::invalid_argument("cache: shards must be at least 1");
    // Every stripe holds at least one entry, and the capacities add up to options.capacity.
    const std::size_t count = std::min(options.shards, options.capacity);
    stripes_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Options stripe_options = options;
      stripe_options.capacity = options.capacity / count + (i < options.capacity % count ? 1 : 0);
      stripes_.push_back(std::make_unique<Stripe>(std::move(stripe_options)));
    }
  }

  std::optional<V> get(const K& key) { return stripe(key).get(key); }
  void put(const K& key, V value, Ttl ttl = std::nullopt) {
    stripe(key).put(key, std::move(value), ttl);
  }
  bool erase(const K& key) { return stripe(key).erase(key); }
  V get_or_load(const K& key, const Loader<K, V>& loader, Ttl ttl = std::nullopt) {
    return stripe(key).get_or_load(key, loader, ttl);
  }

  void clear() {
    for (auto& s : stripes_) s->clear();
  }
  std::size_t purge() {
    std::size_t removed = 0;
    for (auto& s : stripes_) removed += s->purge();
    return removed;
  }
  // Each stripe is read at a different moment, but each stays within its own capacity, so the
  // sum stays within the total.
  std::size_t size() const {
    std::size_t total = 0;
    for (const auto& s : stripes_) total += s->size();
    return total;
  }
  std::size_t capacity() const {
    std::size_t total = 0;
    for (const auto& s : stripes_) total += s->capacity();
    return total;
  }
  Stats stats() const {
    Stats total;
    for (const auto& s : stripes_) {
      const Stats part = s->stats();
      total.hits += part.hits;
      total.misses += part.misses;
      total.loads += part.loads;
      total.load_failures += part.load_failures;
      total.evictions += part.evictions;
      total.expirations += part.expirations;
    }
    return total;
  }

 private:
  Stripe& stripe(const K& key) {
    // std::hash of an integer is the integer itself, so keys 0, 16, 32... would all land on one
    // stripe of 16. Multiplying by an odd constant (Fibonacci hashing) mixes the bits, and the
    // high bits are the best mixed.
    const std::uint64_t mixed = static_cast<std::uint64_t>(Hash{}(key)) * 0x9E3779B97F4A7C15ULL;
    return *stripes_[(mixed >> 32) % stripes_.size()];
  }

  std::vector<std::unique_ptr<Stripe>> stripes_;
};

}  // namespace cache
