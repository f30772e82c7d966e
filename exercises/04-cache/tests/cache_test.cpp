// Every level on one thread: get, put, erase and clear, LRU eviction, expiry on a fake clock,
// purge, the statistics and bad input.
#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace cache::testing {
namespace {

template <class C>
void expect_get_returns_what_put_stored() {
  course::FakeClock clock;
  C cache(options_on(clock, 64));  // room to spare in every stripe: no eviction here
  EXPECT_EQ(cache.capacity(), 64U);
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.get("absent"), std::nullopt) << "get of a key never put must miss";

  cache.put("a", 1);
  cache.put("b", 2);
  EXPECT_EQ(cache.get("a"), 1);
  EXPECT_EQ(cache.get("b"), 2);
  EXPECT_EQ(cache.size(), 2U);

  cache.put("a", 10);
  EXPECT_EQ(cache.get("a"), 10) << "put of an existing key replaces its value";
  EXPECT_EQ(cache.size(), 2U) << "replacing a value does not add an entry";

  EXPECT_TRUE(cache.erase("a"));
  EXPECT_FALSE(cache.erase("a")) << "erase returns whether there was an entry to remove";
  EXPECT_EQ(cache.get("a"), std::nullopt);
  EXPECT_EQ(cache.size(), 1U);

  cache.put("c", 3);
  cache.clear();
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.stats().evictions, 0U) << "clear() counts its entries neither as evictions...";
  EXPECT_EQ(cache.stats().expirations, 0U) << "... nor as expirations";
  EXPECT_EQ(cache.get("b"), std::nullopt) << "clear removes every entry";
  EXPECT_EQ(cache.get_or_load("d", [](const std::string& key) { return int(key.size()) + 40; }),
            41);
  EXPECT_EQ(cache.get("d"), 41) << "get_or_load caches what the loader returned";
}

template <class C>
void expect_lru_eviction() {
  course::FakeClock clock;
  C cache(options_on(clock, 3, /*shards=*/1));
  cache.put("a", 1);
  cache.put("b", 2);
  cache.put("c", 3);
  EXPECT_EQ(cache.get("a"), 1);  // "a" is now used more recently than "b"
  cache.put("d", 4);             // full: the least recently used entry, "b", goes
  EXPECT_EQ(cache.size(), 3U) << "a cache of capacity 3 holds 3 entries after 4 puts";
  EXPECT_EQ(cache.get("b"), std::nullopt)
      << "put a, b, c, get a, put d: b was the least recently used entry and should have been "
         "evicted to make room for d";
  EXPECT_EQ(cache.get("a"), 1) << "a was read after b was put: it must survive the eviction";
  EXPECT_EQ(cache.get("c"), 3);
  EXPECT_EQ(cache.get("d"), 4);
  EXPECT_EQ(cache.stats().evictions, 1U);

  cache.put("d", 40);  // replacing a value makes no room and needs none
  EXPECT_EQ(cache.stats().evictions, 1U) << "replacing the value of a key never evicts";
  for (int i = 0; i < 10; ++i) {
    cache.put("k" + std::to_string(i), i);
    EXPECT_LE(cache.size(), 3U) << "the cache holds more entries than its capacity";
  }
  EXPECT_EQ(cache.stats().evictions, 11U) << "each of 10 new keys in a full cache evicts one";
}

template <class C>
void expect_expiry_on_the_fake_clock() {
  course::FakeClock clock;
  C cache(options_on(clock, 64));  // room to spare in every stripe: no eviction here
  cache.put("short", 1, 10s);
  cache.put("forever", 2);
  clock.advance(9s);
  EXPECT_EQ(cache.get("short"), 1) << "an entry with a TTL of 10 s is fresh 9 s later";
  clock.advance(1s);
  EXPECT_EQ(cache.get("short"), std::nullopt)
      << "an entry put with a TTL of 10 s must have expired 10 s later (on the fake clock "
         "given in Options::now: ask it for the time, never the system clock)";
  EXPECT_EQ(cache.size(), 1U) << "get of an expired entry removes it on the spot";
  EXPECT_EQ(cache.stats().expirations, 1U);
  clock.advance(1000h);
  EXPECT_EQ(cache.get("forever"), 2) << "an entry put without a TTL never expires";

  int loads = 0;
  const Loader<std::string, int> loader = [&loads](const std::string&) { return ++loads; };
  EXPECT_EQ(cache.get_or_load("loaded", loader, 5s), 1);
  clock.advance(4s);
  EXPECT_EQ(cache.get_or_load("loaded", loader, 5s), 1) << "still fresh: no new load";
  clock.advance(1s);
  EXPECT_EQ(cache.get_or_load("loaded", loader, 5s), 2)
      << "get_or_load with a TTL: once the loaded value has expired, the loader runs again";
  cache.put("short", 3, 10s);
  clock.advance(5s);
  cache.put("short", 4, 10s);  // a new put starts a new TTL
  clock.advance(6s);
  EXPECT_EQ(cache.get("short"), 4) << "put of an existing key restarts its TTL";

  cache.put("stale", 5, 1s);
  clock.advance(2s);
  const std::size_t before = cache.size();
  EXPECT_TRUE(cache.erase("stale")) << "erase returns true for an entry that was there, expired "
                                       "or not";
  EXPECT_EQ(cache.size(), before - 1);
}

template <class C>
void expect_purge_removes_expired_entries() {
  course::FakeClock clock;
  C cache(options_on(clock, 64));  // room to spare in every stripe: no eviction here
  cache.put("one", 1, 1s);
  cache.put("five", 5, 5s);
  cache.put("never", 0);
  cache.put("two", 2, 2s);
  clock.advance(2s);
  EXPECT_EQ(cache.size(), 4U) << "expired entries stay until something touches them";
  EXPECT_EQ(cache.purge(), 2U) << "after 2 s, the entries with TTLs of 1 s and 2 s have expired";
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_EQ(cache.stats().expirations, 2U) << "purged entries count as expirations";
  EXPECT_EQ(cache.purge(), 0U);
  clock.advance(3s);
  EXPECT_EQ(cache.purge(), 1U);
  EXPECT_EQ(cache.get("never"), 0);
  EXPECT_EQ(cache.stats().expirations, 3U);
}

template <class C>
void expect_stats_count_every_call() {
  course::FakeClock clock;
  C cache(options_on(clock, 2, /*shards=*/1));
  cache.put("a", 1);
  (void)cache.get("a");                                                // hit
  (void)cache.get("missing");                                          // miss
  (void)cache.get_or_load("b", [](const std::string&) { return 2; });  // miss, load
  (void)cache.get_or_load("b", [](const std::string&) { return 0; });  // hit
  EXPECT_THROW((void)cache.get_or_load(
                   "c", [](const std::string&) -> int { throw std::runtime_error("no c"); }),
               std::runtime_error)
      << "the loader's exception reaches the caller";  // miss, load failure
  cache.put("d", 4);                                   // full: evicts "a"
  cache.put("e", 5, 1s);                               // evicts "b"
  clock.advance(1s);
  (void)cache.get("e");  // miss, expiration
  const Stats stats = cache.stats();
  EXPECT_EQ(stats.hits, 2U);
  EXPECT_EQ(stats.misses, 4U) << "misses: an absent key, a load, a failed load, an expired entry";
  EXPECT_EQ(stats.loads, 1U);
  EXPECT_EQ(stats.load_failures, 1U);
  EXPECT_EQ(stats.evictions, 2U);
  EXPECT_EQ(stats.expirations, 1U);
  EXPECT_DOUBLE_EQ(stats.hit_rate(), 2.0 / 6.0);
  EXPECT_EQ(cache.get("c"), std::nullopt) << "a failed load caches nothing";
}

template <class C>
void expect_bad_input_rejected() {
  course::FakeClock clock;
  EXPECT_THROW(C(options_on(clock, 0)), std::invalid_argument) << "capacity 0 is an error";
  C cache(options_on(clock, 4));
  EXPECT_THROW(cache.put("a", 1, 0s), std::invalid_argument) << "a TTL must be positive";
  EXPECT_THROW(cache.put("a", 1, -1s), std::invalid_argument) << "a TTL must be positive";
  EXPECT_THROW((void)cache.get_or_load(
                   "b", [](const std::string&) { return 1; }, 0s),
               std::invalid_argument);
  EXPECT_EQ(cache.size(), 0U) << "a rejected call changes nothing";
  EXPECT_EQ(cache.stats().load_failures, 0U) << "a bad TTL is rejected before any load";
  C one(options_on(clock, 1, /*shards=*/8));
  EXPECT_EQ(one.capacity(), 1U) << "the capacity is the total, whatever the number of shards";
}

// A hit makes an entry recently used on every path that can hit: get (above) and get_or_load.
template <class C>
void expect_get_or_load_hit_makes_an_entry_recent() {
  course::FakeClock clock;
  C cache(options_on(clock, 3, /*shards=*/1));
  const Loader<std::string, int> not_called = [](const std::string& key) {
    ADD_FAILURE() << "get_or_load(\"" << key << "\") ran the loader for a key that was cached";
    return -1;
  };
  cache.put("a", 1);
  cache.put("b", 2);
  cache.put("c", 3);
  EXPECT_EQ(cache.get_or_load("a", not_called), 1);  // a hit: "a" is now newer than "b"
  cache.put("d", 4);
  EXPECT_EQ(cache.get("b"), std::nullopt)
      << "put a, b, c, get_or_load a (a hit), put d: b was the least recently used entry";
  EXPECT_EQ(cache.get("a"), 1)
      << "a hit of get_or_load makes the entry recently used, as a hit of get does: \"a\" was "
         "evicted as if get_or_load had not touched it";
}

// The capacity is a bound: a cache holds exactly `capacity` entries, not one fewer, not one more.
template <class C>
void expect_capacity_is_exact() {
  course::FakeClock clock;
  C three(options_on(clock, 3, /*shards=*/1));
  three.put("a", 1);
  three.put("b", 2);
  EXPECT_EQ(three.stats().evictions, 0U) << "2 entries in a cache of capacity 3: no eviction";
  three.put("c", 3);
  EXPECT_EQ(three.stats().evictions, 0U)
      << "3 entries in a cache of capacity 3: it is full, not over; nothing is evicted yet";
  EXPECT_EQ(three.size(), 3U);
  EXPECT_EQ(three.get("a"), 1) << "the third entry evicted the first: the cache holds one fewer "
                                  "entry than its capacity";
  three.put("d", 4);
  EXPECT_EQ(three.stats().evictions, 1U) << "the fourth entry evicts one";
  EXPECT_EQ(three.size(), 3U);

  C one(options_on(clock, 1, /*shards=*/8));
  one.put("x", 1);
  EXPECT_EQ(one.get("x"), 1) << "a cache of capacity 1 (8 shards asked) holds one entry";
  one.put("y", 2);
  EXPECT_EQ(one.stats().evictions, 1U);
  EXPECT_EQ(one.get("x"), std::nullopt);
  EXPECT_EQ(one.get("y"), 2);
}

// A TTL is a bound and a duration: it counts from the put (not from the last read), and for
// get_or_load from when the loader returns; the entry is fresh 1 ns before put + ttl, expired at
// it; the smallest TTL, 1 ns, is accepted.
template <class C>
void expect_ttl_counts_from_the_put_to_the_nanosecond() {
  using std::chrono::nanoseconds;
  course::FakeClock clock;
  C cache(options_on(clock, 64));
  cache.put("k", 1, 10s);
  clock.advance(10s - nanoseconds(1));
  EXPECT_EQ(cache.get("k"), 1) << "a TTL of 10 s: 1 ns before put time + 10 s the entry is fresh";
  clock.advance(nanoseconds(1));
  EXPECT_EQ(cache.get("k"), std::nullopt)
      << "... and at put time + 10 s exactly it has expired (now() >= put time + ttl)";

  cache.put("read", 2, 10s);
  clock.advance(6s);
  EXPECT_EQ(cache.get("read"), 2);
  clock.advance(4s);
  EXPECT_EQ(cache.get("read"), std::nullopt)
      << "a TTL counts from the put: reading the entry 6 s later does not restart it";

  int loads = 0;
  const Loader<std::string, int> slow = [&](const std::string&) {
    clock.advance(3s);  // the load takes 3 s
    return ++loads;
  };
  EXPECT_EQ(cache.get_or_load("slow", slow, 5s), 1);
  clock.advance(5s - nanoseconds(1));
  EXPECT_EQ(cache.get("slow"), 1)
      << "get_or_load's TTL of 5 s counts from when the value is cached, when the loader returns "
         "(3 s after the call): it is fresh 5 s − 1 ns after that, not expired since 2 s ago";
  clock.advance(nanoseconds(1));
  EXPECT_EQ(cache.get("slow"), std::nullopt);

  cache.put("tiny", 3, nanoseconds(1));
  EXPECT_EQ(cache.get("tiny"), 3) << "a TTL of 1 ns is positive: accepted, and fresh at once";
  clock.advance(nanoseconds(1));
  EXPECT_EQ(cache.get("tiny"), std::nullopt) << "... and expired 1 ns later";
}

template <class K, class V>
using L1 = MutexCache<K, V>;
template <class K, class V>
using L2 = SharedCache<K, V>;
template <class K, class V>
using L3 = ShardedCache<K, V>;

// Suite and Level name a test suite and a class template: they cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CACHE_BASIC_TESTS(Suite, Level)                                                          \
  TEST(Suite, GetReturnsWhatPutStored) {                                                         \
    expect_get_returns_what_put_stored<Level<std::string, int>>();                               \
  }                                                                                              \
  TEST(Suite, EvictsTheLeastRecentlyUsed) { expect_lru_eviction<Level<std::string, int>>(); }    \
  TEST(Suite, ExpiresOnTheFakeClock) {                                                           \
    expect_expiry_on_the_fake_clock<Level<std::string, int>>();                                  \
  }                                                                                              \
  TEST(Suite, PurgeRemovesExpiredEntries) {                                                      \
    expect_purge_removes_expired_entries<Level<std::string, int>>();                             \
  }                                                                                              \
  TEST(Suite, StatsCountEveryCall) { expect_stats_count_every_call<Level<std::string, int>>(); } \
  TEST(Suite, RejectsBadInput) { expect_bad_input_rejected<Level<std::string, int>>(); }         \
  TEST(Suite, AGetOrLoadHitMakesAnEntryRecent) {                                                 \
    expect_get_or_load_hit_makes_an_entry_recent<Level<std::string, int>>();                     \
  }                                                                                              \
  TEST(Suite, HoldsExactlyItsCapacity) { expect_capacity_is_exact<Level<std::string, int>>(); }  \
  TEST(Suite, TtlCountsFromThePutToTheNanosecond) {                                              \
    expect_ttl_counts_from_the_put_to_the_nanosecond<Level<std::string, int>>();                 \
  }
// NOLINTEND(bugprone-macro-parentheses)

CACHE_BASIC_TESTS(MutexCache, L1)
CACHE_BASIC_TESTS(SharedCache, L2)
CACHE_BASIC_TESTS(ShardedCache, L3)

TEST(ShardedCache, RejectsZeroShards) {
  course::FakeClock clock;
  using Sharded = ShardedCache<std::string, int>;
  EXPECT_THROW(Sharded(options_on(clock, 4, 0)), std::invalid_argument) << "shards = 0 is an error";
  ShardedCache<std::string, int> cache(options_on(clock, 10, 3));
  EXPECT_EQ(cache.capacity(), 10U) << "3 stripes share a capacity of 10 (4 + 3 + 3)";
}

}  // namespace
}  // namespace cache::testing
