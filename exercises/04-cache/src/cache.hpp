// Exercise 04: a concurrent cache. Your file: read ../README.md first.
//
// Write the three levels here. Each is a class template with the interface of
// cache::ConcurrentCache (include/cache/api.hpp, which also says what every call must do):
//
//   level 1  MutexCache    one std::mutex around everything; exact LRU order
//   level 2  SharedCache   a std::shared_mutex: lookups share it, changes take it alone
//   level 3  ShardedCache  N independent stripes chosen by the key's hash
//
// Keep the class names, their template parameters and the public member functions: the tests and
// the benchmark use them. Add private members, helper classes (in namespace cache::detail) and
// other headers under src/ as you like. Levels may share code: a level 3 stripe can be a level 2
// cache.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "cache/api.hpp"

namespace cache {

// Level 1: one std::mutex; every call holds it alone.
template <class K, class V, class Hash = std::hash<K>>
class MutexCache {
 public:
  using key_type = K;
  using mapped_type = V;

  explicit MutexCache(const Options& /*options*/) {}

  std::optional<V> get(const K& /*key*/) { not_implemented("get"); }
  void put(const K& /*key*/, V /*value*/, Ttl /*ttl*/ = std::nullopt) { not_implemented("put"); }
  bool erase(const K& /*key*/) { not_implemented("erase"); }
  void clear() { not_implemented("clear"); }
  std::size_t size() const { not_implemented("size"); }
  std::size_t capacity() const { not_implemented("capacity"); }
  V get_or_load(const K& /*key*/, const Loader<K, V>& /*loader*/, Ttl /*ttl*/ = std::nullopt) {
    not_implemented("get_or_load");
  }
  std::size_t purge() { not_implemented("purge"); }
  Stats stats() const { not_implemented("stats"); }

 private:
  [[noreturn]] static void not_implemented(const char* what) {
    throw std::logic_error(std::string("MutexCache::") + what +
                           " is not implemented yet (level 1 of 04-cache)");
  }
};

// Level 2: a std::shared_mutex. get() (and a hit in get_or_load) holds it shared, so that lookups
// run at the same time; everything that changes the cache holds it alone.
template <class K, class V, class Hash = std::hash<K>>
class SharedCache {
 public:
  using key_type = K;
  using mapped_type = V;

  explicit SharedCache(const Options& /*options*/) {}

  std::optional<V> get(const K& /*key*/) { not_implemented("get"); }
  void put(const K& /*key*/, V /*value*/, Ttl /*ttl*/ = std::nullopt) { not_implemented("put"); }
  bool erase(const K& /*key*/) { not_implemented("erase"); }
  void clear() { not_implemented("clear"); }
  std::size_t size() const { not_implemented("size"); }
  std::size_t capacity() const { not_implemented("capacity"); }
  V get_or_load(const K& /*key*/, const Loader<K, V>& /*loader*/, Ttl /*ttl*/ = std::nullopt) {
    not_implemented("get_or_load");
  }
  std::size_t purge() { not_implemented("purge"); }
  Stats stats() const { not_implemented("stats"); }

 private:
  [[noreturn]] static void not_implemented(const char* what) {
    throw std::logic_error(std::string("SharedCache::") + what +
                           " is not implemented yet (level 2 of 04-cache)");
  }
};

// Level 3: min(options.shards, options.capacity) stripes, each with its own lock, LRU list,
// share of the capacity and counters.
template <class K, class V, class Hash = std::hash<K>>
class ShardedCache {
 public:
  using key_type = K;
  using mapped_type = V;

  explicit ShardedCache(const Options& /*options*/) {}

  std::optional<V> get(const K& /*key*/) { not_implemented("get"); }
  void put(const K& /*key*/, V /*value*/, Ttl /*ttl*/ = std::nullopt) { not_implemented("put"); }
  bool erase(const K& /*key*/) { not_implemented("erase"); }
  void clear() { not_implemented("clear"); }
  std::size_t size() const { not_implemented("size"); }
  std::size_t capacity() const { not_implemented("capacity"); }
  V get_or_load(const K& /*key*/, const Loader<K, V>& /*loader*/, Ttl /*ttl*/ = std::nullopt) {
    not_implemented("get_or_load");
  }
  std::size_t purge() { not_implemented("purge"); }
  Stats stats() const { not_implemented("stats"); }

 private:
  [[noreturn]] static void not_implemented(const char* what) {
    throw std::logic_error(std::string("ShardedCache::") + what +
                           " is not implemented yet (level 3 of 04-cache)");
  }
};

}  // namespace cache
