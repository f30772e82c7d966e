// Exercise 04, the reference: a concurrent cache at three levels.
//
//   level 1  MutexCache    one std::mutex around everything; exact LRU order
//   level 2  SharedCache   a std::shared_mutex: lookups share it, changes take it alone
//   level 3  ShardedCache  N independent stripes, chosen by the key's hash, with reader slots
//
// Levels 1 and 2 are one class template, LockedCache, that differs only in its mutex: with a
// std::shared_mutex, get() takes the lock shared and so must not reorder the LRU list.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <atomic>
#include <bit>
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

// A small number per thread: a thread takes the lowest free one the first time it asks, and gives
// it back when it ends, so threads alive at the same time have different numbers (up to 64 of
// them; more share the last one). Striped counters and reader slots use it to pick a cache line
// that no other running thread writes.
class ThreadSlot {
 public:
  static std::size_t mine() {
    thread_local const ThreadSlot slot;
    return slot.index_;
  }
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;

 private:
  static constexpr std::size_t kSlots = 64;
  ThreadSlot() : index_(take()) {}
  ~ThreadSlot() {
    if (index_ < kSlots - 1) taken().fetch_and(~(std::uint64_t{1} << index_));
  }
  static std::atomic<std::uint64_t>& taken() {
    static std::atomic<std::uint64_t> bits{0};
    return bits;
  }
  static std::size_t take() {
    std::uint64_t seen = taken().load();
    for (;;) {
      const auto free = static_cast<std::size_t>(std::countr_one(seen));  // lowest clear bit
      if (free >= kSlots - 1) return kSlots - 1;  // the last slot is shared, never released
      if (taken().compare_exchange_weak(seen, seen | (std::uint64_t{1} << free))) return free;
    }
  }
  std::size_t index_;
};

// The counters are striped: each thread bumps its own block, on its own cache line, and stats()
// adds the blocks up. One shared block would be written by every hit of every thread, and that
// cache line would travel from core to core on each one (the same idea as Java's LongAdder).
inline constexpr std::size_t kCounterStripes = 4;

struct Counters {
  struct alignas(64) Block {
    Counter hits, misses, loads, load_failures, evictions, expirations;
  };
  std::array<Block, kCounterStripes> blocks;

  Block& mine() { return blocks[ThreadSlot::mine() % kCounterStripes]; }

  Stats snapshot() const {
    Stats total;
    for (const Block& b : blocks) {
      total.hits += b.hits.get();
      total.misses += b.misses.get();
      total.loads += b.loads.get();
      total.load_failures += b.load_failures.get();
      total.evictions += b.evictions.get();
      total.expirations += b.expirations.get();
    }
    return total;
  }
};

// The entries and their recency order. Not thread-safe: the cache that owns it locks around
// every call. The table holds each entry (value, expiry, flag) in one array (open addressing), so
// a lookup usually costs one cache miss where std::unordered_map's buckets and nodes cost two or
// three. Entries move when the table grows, so nothing points into it: the list holds the keys
// from the most recently used (front) to the least (back), and each entry knows its key's place
// in the list.
template <class K, class V, class Hash>
class LruStore {
  using Position = typename std::list<K>::iterator;

 public:
  struct Entry {
    Entry(V v, TimePoint until, Position at) : value(std::move(v)), expires(until), position(at) {}
    // The table moves its entries when it grows; an atomic cannot be moved, so its value is.
    Entry(Entry&& other) noexcept
        : value(std::move(other.value)),
          expires(other.expires),
          position(other.position),
          used(other.used.load(std::memory_order_relaxed)) {}
    Entry& operator=(Entry&& other) noexcept {
      value = std::move(other.value);
      expires = other.expires;
      position = other.position;
      used.store(other.used.load(std::memory_order_relaxed), std::memory_order_relaxed);
      return *this;
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() = default;
    V value;
    TimePoint expires;  // kNever: no TTL
    Position position;  // in the recency list
    // Set by readers that hold the lock shared (they may not move the key in the list): the entry
    // was used since it was last put at the front, so eviction gives it a second chance.
    mutable std::atomic<bool> used{false};
  };

  explicit LruStore(std::size_t capacity) : capacity_(capacity) {}

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return capacity_; }

  // The entry of `key`, or nullptr. The pointer stays valid until the entry is removed.
  Entry* find(const K& key) {
    const auto found = index_.find(key);
    return found == index_.end() ? nullptr : &found->second;
  }

  // Exact LRU: the entry becomes the most recently used. Needs the lock held exclusively.
  void move_to_front(Entry& entry) {
    order_.splice(order_.begin(), order_, entry.position);
    entry.used.store(false, std::memory_order_relaxed);
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
    if (Entry* existing = find(key)) {
      existing->value = std::move(value);
      existing->expires = expires;
      move_to_front(*existing);
      return 0;
    }
    std::size_t evicted = 0;
    if (index_.size() >= capacity_) {
      evict_one();
      evicted = 1;
    }
    order_.push_front(key);
    try {
      index_.try_emplace(key, std::move(value), expires, order_.begin());
    } catch (...) {
      order_.pop_front();  // out of memory: leave the store as it was
      throw;
    }
    return evicted;
  }

  void remove(Entry* entry) {
    const Position position = entry->position;
    index_.erase(*position);  // the key lives in the list node, erased next
    order_.erase(position);
  }

  bool erase(const K& key) {
    Entry* entry = find(key);
    if (entry == nullptr) return false;
    remove(entry);
    return true;
  }

  void clear() {
    index_.clear();
    order_.clear();
  }

  // Removes every entry expired at `now`; returns how many.
  std::size_t purge(TimePoint now) {
    return boost::unordered::erase_if(index_, [&](const auto& key_and_entry) {
      const Entry& entry = key_and_entry.second;
      if (!expired(entry, now)) return false;
      order_.erase(entry.position);
      return true;
    });
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
      Entry& last = index_.find(order_.back())->second;
      if (!last.used.load(std::memory_order_relaxed)) {
        remove(&last);
        return;
      }
      move_to_front(last);
    }
  }

  std::size_t capacity_;
  std::list<K> order_;
  boost::unordered_flat_map<K, Entry, Hash> index_;
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

// A readers-writer lock for critical sections of a few hundred nanoseconds. A thread that finds
// it taken spins a little first, then sleeps on the atomic (C++20 wait/notify: a futex on Linux).
// std::shared_mutex (a pthread rwlock) puts a waiter to sleep at once, and waking it takes far
// longer than the lookup it waited for: on 2 threads, with 5 % of calls writing, a cache built on
// it ran barely faster than on one. The state is the number of readers, or kWriter.
class AdaptiveSharedMutex {
 public:
  void lock() {
    for (int attempt = 0;; ++attempt) {
      std::int32_t seen = state_.load(std::memory_order_relaxed);
      if (seen == 0 && state_.compare_exchange_weak(seen, kWriter, std::memory_order_acquire,
                                                    std::memory_order_relaxed)) {
        return;
      }
      if (seen != 0) back_off(attempt, seen);
    }
  }
  void unlock() {
    state_.store(0, std::memory_order_release);
    state_.notify_all();  // cheap when nobody sleeps: a load, no system call
  }
  void lock_shared() {
    for (int attempt = 0;; ++attempt) {
      std::int32_t seen = state_.load(std::memory_order_relaxed);
      if (seen != kWriter && state_.compare_exchange_weak(seen, seen + 1, std::memory_order_acquire,
                                                          std::memory_order_relaxed)) {
        return;
      }
      if (seen == kWriter) back_off(attempt, seen);  // another reader in the way: just retry
    }
  }
  void unlock_shared() {
    if (state_.fetch_sub(1, std::memory_order_release) == 1) state_.notify_all();
  }

 private:
  static constexpr std::int32_t kWriter = -1;
  static constexpr int kSpins = 128;  // a few microseconds: a pause lasts 10-30 ns on x86

  // Spins while the holder is probably still running; after that, sleeps until the state is no
  // longer `seen` (a holder that lost its core must get it back, not compete with spinners).
  void back_off(int attempt, std::int32_t seen) {
    if (attempt < kSpins) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();  // tells the core it is a spin loop: less power, no mis-speculation
#endif
      return;
    }
    state_.wait(seen, std::memory_order_relaxed);
  }

  std::atomic<std::int32_t> state_{0};
};

// A readers-writer lock split into slots, one per running thread (up to kReaderSlots): a reader
// takes only its own slot's lock, shared; a writer takes every slot, in order. Taking a lock
// shared still writes to it (it counts its readers), so readers on different cores that shared
// one would pass its cache line back and forth on every call; with a slot each, a read writes
// nothing that another thread touches. Writers pay for it: kReaderSlots locks each.
class SlottedSharedMutex {
 public:
  void lock() {
    for (Slot& slot : slots_) slot.mutex.lock();
  }
  void unlock() {
    for (auto slot = slots_.rbegin(); slot != slots_.rend(); ++slot) slot->mutex.unlock();
  }
  void lock_shared() { mine().lock_shared(); }
  void unlock_shared() { mine().unlock_shared(); }

 private:
  static constexpr std::size_t kReaderSlots = 4;
  struct alignas(64) Slot {
    AdaptiveSharedMutex mutex;
  };
  AdaptiveSharedMutex& mine() { return slots_[ThreadSlot::mine() % kReaderSlots].mutex; }
  std::array<Slot, kReaderSlots> slots_;
};

// Levels 1 and 2, and the stripes of level 3. Mutex is std::mutex (every call exclusive, exact
// LRU), std::shared_mutex or SlottedSharedMutex (lookups shared, approximate LRU).
template <class K, class V, class Hash, class Mutex>
class LockedCache {
  static constexpr bool kSharedReads = !std::is_same_v<Mutex, std::mutex>;
  using Store = LruStore<K, V, Hash>;

 public:
  using key_type = K;
  using mapped_type = V;

  explicit LockedCache(Options options)
      : now_(clock_or_default(std::move(options.now))), store_(checked_capacity(options)) {}
  LockedCache(const LockedCache&) = delete;
  LockedCache& operator=(const LockedCache&) = delete;

  std::optional<V> get(const K& key) {
    if constexpr (kSharedReads) {
      {
        std::shared_lock lock(mutex_);
        const auto entry = store_.find(key);
        if (!entry) return miss();
        if (!expired(*entry)) {
          Store::mark_used(*entry);
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
    counters_.mine().evictions.add(store_.put(key, std::move(value), expires));
  }

  bool erase(const K& key) {
    std::unique_lock lock(mutex_);
    return store_.erase(key);
  }

  void clear() {
    std::unique_lock lock(mutex_);
    store_.clear();
  }

  std::size_t size() const {
    if constexpr (kSharedReads) {
      std::shared_lock lock(mutex_);
      return store_.size();
    } else {
      std::unique_lock lock(mutex_);
      return store_.size();
    }
  }

  std::size_t capacity() const { return store_.capacity(); }

  std::size_t purge() {
    const TimePoint now = now_();
    std::unique_lock lock(mutex_);
    const std::size_t removed = store_.purge(now);
    counters_.mine().expirations.add(removed);
    return removed;
  }

  Stats stats() const { return counters_.snapshot(); }

  V get_or_load(const K& key, const Loader<K, V>& loader, Ttl ttl = std::nullopt) {
    check_ttl(ttl);  // before the load, so that a bad TTL never counts as a failed load
    if constexpr (kSharedReads) {
      // The common case, a hit, shares the lock like get().
      std::shared_lock lock(mutex_);
      const auto entry = store_.find(key);
      if (entry && !expired(*entry)) {
        Store::mark_used(*entry);
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

  bool expired(const typename Store::Entry& entry) const {
    return Store::has_ttl(entry) && Store::expired(entry, now_());
  }

  std::optional<V> hit(const typename Store::Entry& entry) {
    counters_.mine().hits.add();
    return entry.value;  // copied while the lock still protects the entry
  }

  std::optional<V> miss() {
    counters_.mine().misses.add();
    return std::nullopt;
  }

  // get() with the lock held exclusively: exact LRU, and an expired entry goes at once.
  std::optional<V> get_locked(const K& key) {
    const auto entry = store_.find(key);
    if (!entry) return miss();
    if (expired(*entry)) {
      store_.remove(entry);
      counters_.mine().expirations.add();
      return miss();
    }
    store_.move_to_front(*entry);
    return hit(*entry);
  }

  // The entry may have changed since the shared lock was released: look again.
  void remove_if_expired(const K& key) {
    const auto entry = store_.find(key);
    if (entry && expired(*entry)) {
      store_.remove(entry);
      counters_.mine().expirations.add();
    }
  }

  V run_load(const K& key, const Loader<K, V>& loader, const Ttl& ttl, Flight& flight,
             std::unique_lock<Mutex>& lock) {
    try {
      V value = loader(key);
      const TimePoint expires = expiry_for(ttl, now_);
      lock.lock();
      counters_.mine().loads.add();
      counters_.mine().evictions.add(store_.put(key, value, expires));
      flights_.erase(key);
      lock.unlock();
      flight.promise.set_value(value);
      return value;
    } catch (...) {
      if (!lock.owns_lock()) lock.lock();
      counters_.mine().load_failures.add();
      flights_.erase(key);  // not cached: the next call runs the loader again
      lock.unlock();
      flight.promise.set_exception(std::current_exception());
      throw;
    }
  }

  const Now now_;
  alignas(64) mutable Mutex mutex_;
  Store store_;
  std::unordered_map<K, std::shared_ptr<Flight>, Hash> flights_;
  alignas(64) Counters counters_;
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

// Level 3: independent stripes, each with its own lock, LRU list, capacity and counters, so calls
// on keys of different stripes never wait for each other. A stripe is a level 2 cache whose lock
// is split into reader slots (SlottedSharedMutex), so that readers on different cores write no
// common cache line either, and whose slots spin briefly before they sleep (AdaptiveSharedMutex).
template <class K, class V, class Hash = std::hash<K>>
class ShardedCache {
  using Shard = detail::LockedCache<K, V, Hash, detail::SlottedSharedMutex>;

 public:
  using key_type = K;
  using mapped_type = V;

  explicit ShardedCache(const Options& options) {
    if (options.capacity == 0) throw std::invalid_argument("cache: capacity must be at least 1");
    if (options.shards == 0) throw std::invalid_argument("cache: shards must be at least 1");
    // Every stripe holds at least one entry, and the capacities add up to options.capacity.
    const std::size_t count = std::min(options.shards, options.capacity);
    shards_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Options shard_options = options;
      shard_options.capacity = options.capacity / count + (i < options.capacity % count ? 1 : 0);
      shards_.push_back(std::make_unique<Shard>(std::move(shard_options)));
    }
  }

  std::optional<V> get(const K& key) { return shard(key).get(key); }
  void put(const K& key, V value, Ttl ttl = std::nullopt) {
    shard(key).put(key, std::move(value), ttl);
  }
  bool erase(const K& key) { return shard(key).erase(key); }
  V get_or_load(const K& key, const Loader<K, V>& loader, Ttl ttl = std::nullopt) {
    return shard(key).get_or_load(key, loader, ttl);
  }

  void clear() {
    for (auto& s : shards_) s->clear();
  }
  std::size_t purge() {
    std::size_t removed = 0;
    for (auto& s : shards_) removed += s->purge();
    return removed;
  }
  // Each stripe is read at a different moment, but each stays within its own capacity, so the
  // sum stays within the total.
  std::size_t size() const {
    std::size_t total = 0;
    for (const auto& s : shards_) total += s->size();
    return total;
  }
  std::size_t capacity() const {
    std::size_t total = 0;
    for (const auto& s : shards_) total += s->capacity();
    return total;
  }
  Stats stats() const {
    Stats total;
    for (const auto& s : shards_) {
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
  Shard& shard(const K& key) {
    // std::hash of an integer is the integer itself: mix it (Fibonacci hashing) so that nearby
    // keys spread over the stripes, and take the high bits, the best mixed ones.
    const std::uint64_t mixed = static_cast<std::uint64_t>(Hash{}(key)) * 0x9E3779B97F4A7C15ULL;
    // (high 32 bits × count) / 2^32 maps them onto 0..count-1 without a division.
    return *shards_[static_cast<std::size_t>(((mixed >> 32) * shards_.size()) >> 32)];
  }

  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace cache
