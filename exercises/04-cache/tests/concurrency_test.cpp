// Every level under many threads: readers that share the lock (an overlap probe), writers that
// exclude readers, statistics exact after a storm of mixed calls, a capacity that holds at every
// observation, single flight, and loaders that use the cache themselves.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <latch>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "course/testing.hpp"
#include "course/trace.hpp"
#include "test_support.hpp"

namespace cache::testing {
namespace {

// ---- readers share, writers exclude ----

template <class C>
void expect_readers_overlap_inside_get() {
  constexpr std::size_t kReaders = 4;
  CopyGate gate;
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  // Two keys, neither at the front of the LRU list (the filler was put last): readers of both
  // are inside get() together, so a get that reorders the list under the shared lock is a race
  // that ThreadSanitizer sees at once.
  cache.put("k0", Gated(gate, 7));
  cache.put("k1", Gated(gate, 7));
  cache.put("filler", Gated(gate, 0));

  course::OverlapProbe probe(kReaders, milliseconds(2000));
  gate.probe_copies(probe);
  course::Trace trace;
  std::atomic<int> wrong{0};
  {
    std::vector<std::jthread> readers;
    for (std::size_t i = 0; i < kReaders; ++i) {
      readers.emplace_back([&, i] {
        auto task = trace.task("get #" + std::to_string(i + 1));
        // The copy of the value enters the probe, inside get.
        const auto value = cache.get("k" + std::to_string(i % 2));
        if (!value || value->payload != 7) wrong.fetch_add(1);
      });
    }
  }
  gate.open();
  EXPECT_EQ(wrong.load(), 0) << "every reader should have found the value";
  EXPECT_TRUE(course::probe_formed(probe))
      << kReaders << " threads called get() on two keys at the same time; the value is copied "
      << "inside get, while the cache's lock is held. With the lock held shared "
      << "(std::shared_lock on a std::shared_mutex), all of them are inside at once; they got "
      << "in " << (probe.peak() <= 1 ? "one at a time" : "only partly together")
      << ", so get() takes the lock exclusively. Readers that change nothing should share it: "
      << "that is the point of a readers-writer lock.\n"
      << trace.timeline();
}

template <class C>
void expect_writers_wait_for_readers() {
  CopyGate gate;
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  cache.put("k", Gated(gate, 1));
  cache.put("other", Gated(gate, 2));

  gate.hold_copies();
  std::jthread reader([&] { (void)cache.get("k"); });  // held inside get, lock held
  ASSERT_TRUE(gate.wait_until_held(1, 5000ms)) << "the reader never reached the copy in get()";

  std::mutex mutex;
  std::condition_variable changed;
  int writers_done = 0;
  const auto write = [&](auto change) {
    change();
    const std::scoped_lock lock(mutex);
    ++writers_done;
    changed.notify_all();
  };
  // On the reader's key, so that with stripes too they need the reader's lock.
  std::jthread put_writer([&] { write([&] { cache.put("k", Gated(gate, 3)); }); });
  std::jthread erase_writer([&] { write([&] { (void)cache.erase("k"); }); });
  std::jthread clear_writer([&] { write([&] { cache.clear(); }); });
  // A writer that does not wait for the reader is done within microseconds: 200 ms is plenty
  // to see it. One that waits, as it should, is still waiting when the window ends.
  int early = 0;
  {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, course::scaled(200ms), [&] { return writers_done > 0; });
    early = writers_done;
  }
  gate.open();
  reader.join();
  put_writer.join();
  erase_writer.join();
  clear_writer.join();
  EXPECT_EQ(early, 0) << early
                      << " of 3 writers (put, erase, clear) finished while a reader was still "
                      << "inside get() on the same cache: a writer must hold the lock alone "
                      << "(std::unique_lock), so it waits until every reader has left.";
  EXPECT_EQ(cache.get("other"), std::nullopt) << "clear() removed every entry";
  cache.put("k", Gated(gate, 4));
  const auto value = cache.get("k");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->payload, 4);
}

// ---- exact statistics under contention ----

// 100 000 calls per thread in the normal build; fewer under sanitizers, which run every
// synchronised call many times slower (COURSE_TIME_SCALE is 2 under ASan and 4 under TSan).
std::size_t calls_per_thread() {
  const double scale = std::max(1.0, course::time_scale());
  return static_cast<std::size_t>(100'000 / (scale * scale));
}

struct Observed {
  std::uint64_t get_hits = 0, get_misses = 0, loader_ok = 0, loader_threw = 0;
  std::uint64_t load_calls = 0, puts = 0, erased = 0, wrong_values = 0;
};

// A tiny deterministic generator per thread (xorshift), so every run makes the same calls.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

// One key in eight has a loader that throws.
bool loader_fails_for(std::uint64_t key) { return ((key * 0x9E3779B97F4A7C15ULL) >> 61) == 0; }

// Thread t puts only fresh keys (t << 40 | n), so each put adds an entry; gets, erases and loads
// pick among its recent keys. Every thread counts what it saw, so the totals are known exactly.
template <class C>
Observed run_mixed_calls(C& cache, std::uint64_t thread, std::size_t calls, std::latch& readers) {
  Observed seen;
  Random random{thread * 7919 + 1};
  const std::uint64_t base = thread << 40;
  std::uint64_t next_key = 0;
  const Loader<std::uint64_t, std::uint64_t> loader = [&seen](const std::uint64_t& key) {
    if (loader_fails_for(key)) {
      ++seen.loader_threw;
      throw std::runtime_error("load failed");
    }
    ++seen.loader_ok;
    return key * 2;
  };
  const auto recent = [&] {
    return base + (next_key - 1 - random.next() % std::min<std::uint64_t>(next_key, 64));
  };
  for (std::size_t i = 0; i < calls; ++i) {
    const std::uint64_t dice = random.next() % 100;
    if (next_key == 0 || dice < 25) {
      const std::uint64_t key = base + next_key++;
      cache.put(key, key * 2);
      ++seen.puts;
    } else if (dice < 65) {
      const std::uint64_t key = recent();
      if (const auto value = cache.get(key)) {
        ++seen.get_hits;
        if (*value != key * 2) ++seen.wrong_values;
      } else {
        ++seen.get_misses;
      }
    } else if (dice < 75) {
      if (cache.erase(recent())) ++seen.erased;
    } else {
      const std::uint64_t key = recent();
      ++seen.load_calls;
      try {
        if (cache.get_or_load(key, loader) != key * 2) ++seen.wrong_values;
      } catch (const std::runtime_error&) {
      }
    }
  }
  // Then only reads, all threads together: with no writer in between, nothing orders one
  // reader's counting after another's, so counters that are not atomic are a race that
  // ThreadSanitizer reports at once.
  readers.arrive_and_wait();
  for (std::size_t i = 0; i < calls / 4; ++i) {
    const std::uint64_t key = recent();
    if (const auto value = cache.get(key)) {
      ++seen.get_hits;
      if (*value != key * 2) ++seen.wrong_values;
    } else {
      ++seen.get_misses;
    }
  }
  return seen;
}

template <class C>
void expect_exact_stats_under_contention() {
  constexpr std::uint64_t kThreads = 8;
  const std::size_t calls = calls_per_thread();
  course::FakeClock clock;
  C cache(options_on(clock, 1000, 16));
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  std::vector<Observed> seen(kThreads);
  std::latch readers(kThreads);
  {
    std::vector<std::jthread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] { seen[t] = run_mixed_calls(cache, t, calls, readers); });
    }
  }
  Observed total;
  for (const Observed& s : seen) {
    total.get_hits += s.get_hits;
    total.get_misses += s.get_misses;
    total.loader_ok += s.loader_ok;
    total.loader_threw += s.loader_threw;
    total.load_calls += s.load_calls;
    total.puts += s.puts;
    total.erased += s.erased;
    total.wrong_values += s.wrong_values;
  }
  const std::uint64_t loader_runs = total.loader_ok + total.loader_threw;
  const std::uint64_t added = total.puts + total.loader_ok;
  const Stats stats = cache.stats();
  const std::string context = " after " + std::to_string(kThreads) + " threads x " +
                              std::to_string(calls) +
                              " mixed calls. A counter that threads bump at the same time "
                              "without a lock must be a std::atomic: a plain ++ loses updates "
                              "(and under a shared lock, readers bump it together).";
  EXPECT_EQ(total.wrong_values, 0U) << "some calls returned another key's value";
  EXPECT_EQ(stats.hits, total.get_hits + (total.load_calls - loader_runs))
      << "hits: every get that found its key, and every get_or_load that did not load" << context;
  EXPECT_EQ(stats.misses, total.get_misses + loader_runs)
      << "misses: every get that found nothing, and every get_or_load that ran its loader"
      << context;
  EXPECT_EQ(stats.loads, total.loader_ok) << context;
  EXPECT_EQ(stats.load_failures, total.loader_threw) << context;
  EXPECT_EQ(stats.expirations, 0U) << "nothing had a TTL";
  EXPECT_EQ(stats.evictions + total.erased + cache.size(), added)
      << "every entry added (" << added << ") is still there (" << cache.size() << "), was erased ("
      << total.erased << ") or was evicted (stats: " << stats.evictions << ")" << context;
}

template <class C>
void expect_size_never_exceeds_capacity() {
  constexpr std::size_t kCapacity = 64;
  constexpr std::uint64_t kWriters = 4;
  const std::size_t puts = calls_per_thread() / 4;
  course::FakeClock clock;
  C cache(options_on(clock, kCapacity, 8));
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  std::atomic<bool> writing{true};
  std::atomic<std::size_t> largest{0};
  std::atomic<std::uint64_t> observations{0};
  std::jthread observer([&] {
    // Observes at least once after the writers are done, so the last state is seen too.
    for (bool last = false; !last;) {
      last = !writing.load();
      const std::size_t size = cache.size();
      observations.fetch_add(1);
      if (size > largest.load()) largest.store(size);
    }
  });
  {
    std::vector<std::jthread> writers;
    for (std::uint64_t t = 0; t < kWriters; ++t) {
      writers.emplace_back([&, t] {
        for (std::uint64_t i = 0; i < puts; ++i) cache.put(t << 40 | i, i);
      });
    }
  }
  writing.store(false);
  observer.join();
  EXPECT_LE(largest.load(), kCapacity)
      << "an observer calling size() while " << kWriters << " threads put new keys saw "
      << largest.load() << " entries in a cache of capacity " << kCapacity << " (over "
      << observations.load() << " observations): evict before adding, inside the same critical "
      << "section, so that no one can ever see more than the capacity.";
  EXPECT_EQ(cache.size(), kCapacity);
  EXPECT_EQ(cache.stats().evictions, kWriters * puts - kCapacity);
}

// ---- single flight ----

constexpr std::size_t kCallers = 50;

// A loader that holds its first run until every caller has arrived and then a little longer, so
// that the other callers find the load in progress. A cache without single flight runs it once
// per caller; then it lets every run go as soon as all have started.
struct HeldLoad {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t arrived = 0;
  std::size_t runs = 0;

  void arrive() {
    const std::scoped_lock lock(mutex);
    ++arrived;
    changed.notify_all();
  }
  void run() {
    std::unique_lock lock(mutex);
    ++runs;
    changed.notify_all();
    changed.wait_for(lock, course::scaled(milliseconds(5000)),
                     [this] { return arrived == kCallers; });
    changed.wait_for(lock, course::scaled(milliseconds(100)), [this] { return runs == kCallers; });
  }
  std::size_t run_count() {
    const std::scoped_lock lock(mutex);
    return runs;
  }
};

template <class C>
void expect_single_flight() {
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  HeldLoad held;
  const Loader<std::string, std::string> loader = [&held](const std::string& key) {
    held.run();
    return "value of " + key;
  };
  std::vector<std::string> results(kCallers);
  {
    std::vector<std::jthread> callers;
    for (std::size_t i = 0; i < kCallers; ++i) {
      callers.emplace_back([&, i] {
        held.arrive();
        try {
          results[i] = cache.get_or_load("popular", loader);
        } catch (const std::exception& error) {
          results[i] = std::string("exception: ") + error.what();
        }
      });
    }
  }
  EXPECT_EQ(held.run_count(), 1U)
      << kCallers << " threads missed the same key at the same time and the loader ran "
      << held.run_count() << " times. Single flight: the first miss starts the load and records "
      << "it (for example a std::shared_future in a map of loads in progress); the others find "
      << "it there and wait for its result instead of loading again.";
  for (std::size_t i = 0; i < kCallers; ++i) {
    EXPECT_EQ(results[i], "value of popular") << "caller " << i << " got another result";
  }
  const Stats stats = cache.stats();
  EXPECT_EQ(stats.loads, 1U);
  EXPECT_EQ(stats.hits + stats.misses, kCallers) << "each call is one hit or one miss";
  EXPECT_EQ(cache.get("popular"), "value of popular");
}

template <class C>
void expect_failure_reaches_everyone_then_retry() {
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  HeldLoad held;
  const Loader<std::string, std::string> failing = [&held](const std::string&) -> std::string {
    held.run();
    throw std::runtime_error("backend down");
  };
  // Every caller keeps the exception it got, and this thread reads them once all have ended:
  // waiters share one exception object, freed by its last holder, and libstdc++ counts its
  // holders with atomics that ThreadSanitizer does not see; freeing it here keeps that quiet.
  std::vector<std::exception_ptr> errors(kCallers);
  std::vector<std::string> results(kCallers);
  {
    std::vector<std::jthread> callers;
    for (std::size_t i = 0; i < kCallers; ++i) {
      callers.emplace_back([&, i] {
        held.arrive();
        try {
          results[i] = "value " + cache.get_or_load("flaky", failing);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
  }
  for (std::size_t i = 0; i < kCallers; ++i) {
    if (!errors[i]) continue;
    try {
      std::rethrow_exception(errors[i]);
    } catch (const std::runtime_error& error) {
      results[i] = error.what();
    } catch (const std::exception& error) {
      results[i] = std::string("another exception: ") + error.what();
    } catch (...) {
      results[i] = "an exception that is not a std::exception";
    }
  }
  for (std::size_t i = 0; i < kCallers; ++i) {
    EXPECT_EQ(results[i], "backend down")
        << "caller " << i << " should have got the loader's std::runtime_error: every caller "
        << "waiting for a load that fails gets its exception (std::promise::set_exception, "
        << "then std::shared_future::get rethrows it in every waiter)";
  }
  EXPECT_EQ(cache.stats().load_failures, held.run_count());
  EXPECT_EQ(cache.stats().loads, 0U);
  EXPECT_EQ(cache.get("flaky"), std::nullopt) << "a failed load must cache nothing";

  int retries = 0;
  const std::string value = cache.get_or_load("flaky", [&retries](const std::string&) {
    ++retries;
    return std::string("recovered");
  });
  EXPECT_EQ(retries, 1) << "after a failed load, the next call must run the loader again: "
                           "an exception is not cached, and the failed load is over";
  EXPECT_EQ(value, "recovered");
  EXPECT_EQ(cache.stats().loads, 1U);
}

// ---- joiners, failures and TTLs under threads, read paths that share, stripes that do not wait --

// A loader that returns (or throws) only once `n` calls have missed: a miss is counted when a
// call finds no fresh entry, so by then every caller has either started this load or joined it,
// and none can come late and find the value already there. With single flight the loader then
// runs once, whatever the scheduling. If the misses never reach n (a cache that counts a joiner
// as a hit), it gives up waiting after 5 s (scaled) and the counts say what went wrong.
template <class C>
void wait_for_misses(const C& cache, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(milliseconds(5000));
  while (cache.stats().misses < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();  // polling the cache's own counter: the test's probe
  }
}

template <class C>
void expect_joiners_counted_as_misses() {
  constexpr std::size_t kThreads = 8;
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  std::atomic<int> runs{0};
  const Loader<std::string, std::string> loader = [&](const std::string& key) {
    runs.fetch_add(1);
    wait_for_misses(cache, kThreads);
    return "value of " + key;
  };
  std::vector<std::string> results(kThreads);
  {
    std::vector<std::jthread> callers;
    for (std::size_t i = 0; i < kThreads; ++i) {
      callers.emplace_back([&, i] { results[i] = cache.get_or_load("shared", loader); });
    }
  }
  for (const auto& result : results) EXPECT_EQ(result, "value of shared");
  const Stats stats = cache.stats();
  EXPECT_EQ(runs.load(), 1) << kThreads << " callers missed \"shared\" while its load ran: the "
                            << "loader must run once (single flight)";
  EXPECT_EQ(stats.misses, kThreads)
      << "every one of the " << kThreads << " callers found no value: the one that loaded and "
      << "the " << kThreads - 1 << " that joined its load are all misses (hits " << stats.hits
      << ", misses " << stats.misses << ")";
  EXPECT_EQ(stats.hits, 0U) << "joining a load in progress is a miss, not a hit";
  EXPECT_EQ(stats.loads, 1U) << "one loader run returned a value";
  EXPECT_EQ(stats.load_failures, 0U);
  EXPECT_EQ(cache.get("shared"), "value of shared");
  EXPECT_EQ(cache.stats().hits, 1U);
}

template <class C>
void expect_failed_load_runs_once_for_every_waiter() {
  constexpr std::size_t kThreads = 8;
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  std::atomic<int> runs{0};
  const Loader<std::string, std::string> failing = [&](const std::string&) -> std::string {
    runs.fetch_add(1);
    wait_for_misses(cache, kThreads);
    throw std::runtime_error("backend down");
  };
  // Read once every caller has ended: see expect_failure_reaches_everyone_then_retry.
  std::vector<std::exception_ptr> errors(kThreads);
  {
    std::vector<std::jthread> callers;
    for (std::size_t i = 0; i < kThreads; ++i) {
      callers.emplace_back([&, i] {
        try {
          (void)cache.get_or_load("flaky", failing);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
  }
  std::size_t got_it = 0;
  for (const auto& error : errors) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::runtime_error& e) {
      got_it += std::string_view(e.what()) == "backend down" ? 1 : 0;
    } catch (...) {
    }
  }
  EXPECT_EQ(runs.load(), 1) << kThreads << " callers waited for one load that failed: the loader "
                            << "ran " << runs.load() << " times, once is right";
  EXPECT_EQ(got_it, kThreads) << "every caller waiting for the failed load gets its exception";
  const Stats stats = cache.stats();
  EXPECT_EQ(stats.load_failures, 1U) << "one loader run threw";
  EXPECT_EQ(stats.loads, 0U);
  EXPECT_EQ(stats.misses, kThreads) << "the loader's caller and its joiners are all misses";
  EXPECT_EQ(cache.size(), 0U) << "a failed load caches nothing";
}

// Entries with TTLs, expired while threads get them and purge at the same time: each expired
// entry is removed, and counted, exactly once.
template <class C>
void expect_exact_expiry_under_contention() {
  constexpr std::uint64_t kThreads = 4;
  constexpr std::uint64_t kKeys = 500;  // per thread with a TTL, and as many without
  course::FakeClock clock;
  C cache(options_on(clock, std::size_t{8} * kThreads * kKeys, 8));  // room to spare per stripe
  ASSERT_EQ(cache.size(), 0U);  // on this thread first, so that a missing level fails cleanly
  std::latch all_put(kThreads + 1);
  std::latch clock_moved(1);
  std::vector<std::size_t> purged(kThreads, 0);
  std::atomic<std::uint64_t> wrong{0};
  {
    std::vector<std::jthread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::uint64_t base = t << 32;
        for (std::uint64_t i = 0; i < kKeys; ++i) {
          cache.put(base | i, i, 10s);
          cache.put(base | (i + kKeys), i);
        }
        all_put.count_down();
        clock_moved.wait();
        // Even threads read their keys back, odd threads purge: both race to remove them.
        if (t % 2 == 0) {
          for (std::uint64_t i = 0; i < kKeys; ++i) {
            if (cache.get(base | i)) wrong.fetch_add(1);
            if (cache.get(base | (i + kKeys)) != i) wrong.fetch_add(1);
          }
        } else {
          purged[t] = cache.purge();
        }
      });
    }
    all_put.arrive_and_wait();
    clock.advance(10s);
    clock_moved.count_down();
  }
  const std::size_t rest = cache.purge();
  const Stats stats = cache.stats();
  EXPECT_EQ(wrong.load(), 0U) << "an expired entry was returned, or a fresh one was lost";
  EXPECT_EQ(stats.expirations, kThreads * kKeys)
      << kThreads * kKeys << " entries expired while threads read and purged at once; each must "
      << "be removed and counted exactly once (stats: " << stats.expirations << "). After "
      << "releasing the shared lock to remove one, look again under the unique lock: another "
      << "thread may have removed it first.";
  EXPECT_EQ(cache.size(), kThreads * kKeys) << "the entries without a TTL are all still there";
  std::size_t purged_total = rest;
  for (const std::size_t p : purged) purged_total += p;
  EXPECT_LE(purged_total, kThreads * kKeys) << "purge() returned more than ever expired";
  EXPECT_EQ(stats.misses, kThreads / 2 * kKeys) << "every get of an expired key is a miss";
  EXPECT_EQ(stats.evictions, 0U) << "the cache had room for every entry";
}

// Level 2 and 3: a hit of get_or_load changes nothing either, so it shares the lock like get.
template <class C>
void expect_readers_overlap_inside_get_or_load() {
  constexpr std::size_t kReaders = 4;
  CopyGate gate;
  course::FakeClock clock;
  C cache(options_on(clock, 16));
  cache.put("k0", Gated(gate, 7));
  const Loader<std::string, Gated> never = [&gate](const std::string&) { return Gated(gate, -1); };
  course::OverlapProbe probe(kReaders, milliseconds(2000));
  gate.probe_copies(probe);
  std::atomic<int> wrong{0};
  {
    std::vector<std::jthread> readers;
    for (std::size_t i = 0; i < kReaders; ++i) {
      readers.emplace_back([&] {
        if (cache.get_or_load("k0", never).payload != 7) wrong.fetch_add(1);
      });
    }
  }
  gate.open();
  EXPECT_EQ(wrong.load(), 0) << "every reader should have found the value";
  EXPECT_TRUE(course::probe_formed(probe))
      << kReaders << " threads called get_or_load() on a key that is there; the value is copied "
      << "under the cache's lock. They got in "
      << (probe.peak() <= 1 ? "one at a time" : "only partly together")
      << ": a hit of get_or_load changes nothing, so it takes the lock shared, like get().";
}

// Level 3: while a reader holds one stripe, writers of keys on the other stripes go on.
template <class C>
void expect_other_stripes_free() {
  constexpr std::size_t kWriters = 32;
  CopyGate gate;
  course::FakeClock clock;
  C cache(options_on(clock, 1024, 16));
  cache.put("held", Gated(gate, 1));
  gate.hold_copies();
  std::jthread reader([&] { (void)cache.get("held"); });  // held inside get, its stripe locked
  ASSERT_TRUE(gate.wait_until_held(1, 5000ms)) << "the reader never reached the copy in get()";
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t done = 0;
  std::vector<std::jthread> writers;
  for (std::size_t i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      cache.put("writer " + std::to_string(i), Gated(gate, 2));
      const std::scoped_lock lock(mutex);
      ++done;
      changed.notify_all();
    });
  }
  std::size_t done_while_held = 0;
  {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, course::scaled(milliseconds(2000)), [&] { return done > 0; });
    done_while_held = done;
  }
  gate.open();
  reader.join();
  writers.clear();
  EXPECT_GT(done_while_held, 0U)
      << "while one reader held its stripe, none of " << kWriters << " puts of other keys "
      << "finished: the whole cache waited for one stripe's lock. Give each stripe its own lock, "
      << "so that calls on keys of different stripes never wait for each other.";
  EXPECT_EQ(cache.size(), kWriters + 1);
}

// ---- loaders that use the cache ----

template <class C>
void expect_loader_may_use_other_keys() {
  course::FakeClock clock;
  // One stripe at level 3, so that the other keys need the very lock that "page" would hold.
  auto cache = std::make_shared<C>(options_on(clock, 16, /*shards=*/1));
  course::Background<std::string> call(
      [cache] {
        return cache->get_or_load("page", [cache](const std::string&) {
          cache->put("visited", "yes");
          const std::string header =
              cache->get_or_load("header", [](const std::string&) { return std::string("<h1>"); });
          return header + "body" + cache->get("visited").value_or("?");
        });
      },
      kNoStopGrace);
  if (!call.finished_within(2000ms)) {
    FAIL() << "get_or_load(\"page\") did not return within 2 s: its loader calls put and "
              "get_or_load(\"header\") on the same cache, and they wait forever for a lock that "
              "the outer get_or_load still holds on this very thread (a deadlock). Release the "
              "lock before running the loader, and take it again to store the result.";
  }
  try {
    EXPECT_EQ(call.get(), "<h1>bodyyes");
  } catch (const std::exception& error) {
    FAIL() << "get_or_load(\"page\") threw \"" << error.what() << "\": its loader uses the "
           << "cache for other keys, which must work. If the message is about a deadlock, the "
           << "lock is still held while the loader runs: release it first.";
  }
  EXPECT_EQ(cache->get("header"), "<h1>");
  EXPECT_EQ(cache->get("page"), "<h1>bodyyes");
}

template <class C>
void expect_own_key_reported() {
  course::FakeClock clock;
  auto cache = std::make_shared<C>(options_on(clock, 16));
  auto inner = std::make_shared<std::string>("the inner call returned");
  course::Background<std::string> call(
      [cache, inner] {
        return cache->get_or_load("self", [cache, inner](const std::string& key) {
          try {
            *inner +=
                " " + cache->get_or_load(key, [](const std::string&) { return std::string("x"); });
          } catch (const RecursiveLoadError&) {
            *inner = "RecursiveLoadError";
          }
          return std::string("outer");
        });
      },
      kNoStopGrace);
  if (!call.finished_within(2000ms)) {
    FAIL() << "get_or_load(\"self\") did not return within 2 s: its loader asks the cache for "
              "\"self\" again, and waits for the load in progress: its own, which can only end "
              "once it returns. Remember which thread runs each load, and throw "
              "cache::RecursiveLoadError when that thread asks for the same key.";
  }
  try {
    EXPECT_EQ(call.get(), "outer");
  } catch (const std::exception& error) {
    FAIL() << "get_or_load(\"self\") threw \"" << error.what() << "\"";
  }
  EXPECT_EQ(*inner, "RecursiveLoadError")
      << "the loader's own call for its key should have thrown cache::RecursiveLoadError";

  // Through another load on the same thread: a's loader loads b, whose loader asks for a.
  auto through = std::make_shared<std::string>("the innermost call returned");
  course::Background<std::string> cycle(
      [cache, through] {
        return cache->get_or_load("a", [cache, through](const std::string&) {
          return cache->get_or_load("b", [cache, through](const std::string&) {
            try {
              (void)cache->get_or_load("a", [](const std::string&) { return std::string("x"); });
            } catch (const RecursiveLoadError&) {
              *through = "RecursiveLoadError";
            }
            return std::string("b");
          });
        });
      },
      kNoStopGrace);
  if (!cycle.finished_within(2000ms)) {
    FAIL() << "get_or_load(\"a\") did not return within 2 s: a's loader loads b, and b's "
              "loader asks for a, whose load this same thread is running. That wait never ends: "
              "throw cache::RecursiveLoadError when a thread asks for a key it is loading, "
              "however deep in other loads.";
  }
  EXPECT_EQ(cycle.get(), "b");
  EXPECT_EQ(*through, "RecursiveLoadError")
      << "a key asked for again through another load on the same thread is a RecursiveLoadError";
}

template <class K, class V>
using L1 = MutexCache<K, V>;
template <class K, class V>
using L2 = SharedCache<K, V>;
template <class K, class V>
using L3 = ShardedCache<K, V>;

// Suite and Level name a test suite and a class template: they cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CACHE_CONCURRENCY_TESTS(Suite, Level)                                         \
  TEST(Suite, WritersWaitForReaders) {                                                \
    expect_writers_wait_for_readers<Level<std::string, Gated>>();                     \
  }                                                                                   \
  TEST(Suite, StatsAreExactUnderContention) {                                         \
    expect_exact_stats_under_contention<Level<std::uint64_t, std::uint64_t>>();       \
  }                                                                                   \
  TEST(Suite, SizeNeverExceedsCapacity) {                                             \
    expect_size_never_exceeds_capacity<Level<std::uint64_t, std::uint64_t>>();        \
  }                                                                                   \
  TEST(Suite, SingleFlightRunsTheLoaderOnce) {                                        \
    expect_single_flight<Level<std::string, std::string>>();                          \
  }                                                                                   \
  TEST(Suite, LoadFailureReachesEveryCallerThenRetries) {                             \
    expect_failure_reaches_everyone_then_retry<Level<std::string, std::string>>();    \
  }                                                                                   \
  TEST(Suite, LoaderMayUseTheCacheForOtherKeys) {                                     \
    expect_loader_may_use_other_keys<Level<std::string, std::string>>();              \
  }                                                                                   \
  TEST(Suite, LoaderAskingForItsOwnKeyGetsAnError) {                                  \
    expect_own_key_reported<Level<std::string, std::string>>();                       \
  }                                                                                   \
  TEST(Suite, SingleFlightCountsEveryJoinerAsAMiss) {                                 \
    expect_joiners_counted_as_misses<Level<std::string, std::string>>();              \
  }                                                                                   \
  TEST(Suite, FailedLoadRunsOnceForEveryWaiter) {                                     \
    expect_failed_load_runs_once_for_every_waiter<Level<std::string, std::string>>(); \
  }                                                                                   \
  TEST(Suite, ExpiryIsExactUnderContention) {                                         \
    expect_exact_expiry_under_contention<Level<std::uint64_t, std::uint64_t>>();      \
  }
// NOLINTEND(bugprone-macro-parentheses)

CACHE_CONCURRENCY_TESTS(MutexCache, L1)
CACHE_CONCURRENCY_TESTS(SharedCache, L2)
CACHE_CONCURRENCY_TESTS(ShardedCache, L3)

TEST(SharedCache, ReadersOverlapInsideGet) {
  expect_readers_overlap_inside_get<SharedCache<std::string, Gated>>();
}
TEST(ShardedCache, ReadersOverlapInsideGet) {
  expect_readers_overlap_inside_get<ShardedCache<std::string, Gated>>();
}
TEST(SharedCache, ReadersOverlapInsideGetOrLoad) {
  expect_readers_overlap_inside_get_or_load<SharedCache<std::string, Gated>>();
}
TEST(ShardedCache, ReadersOverlapInsideGetOrLoad) {
  expect_readers_overlap_inside_get_or_load<ShardedCache<std::string, Gated>>();
}
TEST(ShardedCache, WritersOnOtherStripesDoNotWait) {
  expect_other_stripes_free<ShardedCache<std::string, Gated>>();
}

}  // namespace
}  // namespace cache::testing
