// Benchmark of exercise 08: HikariCP's two cycles through a pool, one measurement per run.
//
//   pool_bench --backend sqlite --db FILE --peer pool --cycle statement --threads 8 --size 4
//
// cycle connection: acquire, release. cycle statement: acquire, SELECT 1, release.
// peer pool:      your Pool (src/pool.hpp)
// peer handoff:   the strictly fair hand-off (HandoffPool below), for comparison
// peer naive:     one mutex, one condition variable, notify_all on every release, connections
//                 opened by the calling thread under the lock (the pool before this exercise)
// peer per-query: no pool: open a connection, run the cycle, close it
// --spike:        HikariCP's spike (50 threads at once, create 150 ms, query 2 ms, max 50,
//                 min idle 5) through `peer`: prints the connections it made
// Prints `cycles_per_second=N` and `slowest_thread_share=S` (the slowest thread's cycles over the
// mean: how fair the pool was), or `connections=N` for --spike.
// bench/run_bench.py runs every combination and prints medians and ratios.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <latch>
#include <list>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connpool/postgres.hpp"
#include "connpool/sqlite.hpp"
#include "pool.hpp"

namespace {

using namespace std::chrono_literals;
using connpool::Factory;
using connpool::milliseconds;

// The naive pool: what a first attempt looks like. Every release wakes every waiter, which all
// go back to sleep but one; a waiter that finds room opens the connection itself, holding the
// lock, so everyone waits for the database's handshake.
template <class C>
class NaivePool {
 public:
  NaivePool(Factory<C>& factory, std::size_t max_size) : factory_(factory), max_size_(max_size) {}
  ~NaivePool() {
    for (auto& c : idle_) factory_.close(c);
  }
  C acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    if (idle_.empty()) {
      ++open_;
      ++created_;
      return factory_.create({});
    }
    C c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  void release(C&& c) {
    {
      const std::scoped_lock lock(mutex_);
      idle_.push_back(std::move(c));
    }
    changed_.notify_all();
  }
  int created() const { return created_; }

 private:
  Factory<C>& factory_;
  std::size_t max_size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<C> idle_;
  std::size_t open_ = 0;
  int created_ = 0;
};

// The strictly fair alternative, for comparison with yours: a release hands the connection to
// the longest waiter itself (it never goes back on the idle stack while someone waits), so no
// running thread can take it first. Fair, but the connection sits unused until the scheduler
// runs that waiter, and every thread that wants it waits behind: a convoy. Warm only (the
// benchmark fills every pool to its size first), no timeouts, no validation: just the hand-off.
template <class C>
class HandoffPool {
 public:
  HandoffPool(Factory<C>& factory, std::size_t size) : factory_(factory) {
    for (std::size_t i = 0; i < size; ++i) idle_.push_back(factory_.create({}));
  }
  HandoffPool(const HandoffPool&) = delete;
  HandoffPool& operator=(const HandoffPool&) = delete;
  ~HandoffPool() {
    for (auto& c : idle_) factory_.close(c);
  }
  C acquire() {
    std::unique_lock lock(mutex_);
    if (!idle_.empty()) {
      C c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    waiters_.emplace_back();
    const auto me = std::prev(waiters_.end());
    me->wake.wait(lock, [&] { return me->handed.has_value(); });
    C c = std::move(*me->handed);
    waiters_.erase(me);
    return c;
  }
  void release(C&& c) {
    const std::scoped_lock lock(mutex_);
    for (Waiter& waiter : waiters_) {
      if (!waiter.handed) {
        waiter.handed.emplace(std::move(c));
        waiter.wake.notify_one();
        return;
      }
    }
    idle_.push_back(std::move(c));
  }

 private:
  struct Waiter {
    std::condition_variable wake;
    std::optional<C> handed;
  };

  Factory<C>& factory_;
  std::mutex mutex_;
  std::vector<C> idle_;
  std::list<Waiter> waiters_;
};

struct Options {
  std::string backend = "sqlite";
  std::string db;
  std::string conninfo;
  std::string peer = "pool";
  std::string cycle = "statement";
  int threads = 8;
  std::size_t size = 4;
  double seconds = 1.0;
  bool spike = false;
};

template <class C>
void statement(C& connection) {
  (void)connection.query_int("SELECT 1");
}

// What a measurement gives: the rate, and how evenly the threads shared it.
struct Rate {
  double cycles_per_second = 0;
  // The slowest thread's cycles over the mean per thread: 1 when every thread got its turn, near
  // 0 when some threads starved while others barged in.
  double slowest_thread_share = 0;
};

// Runs `cycle` on `threads` threads for `seconds`.
template <class Cycle>
Rate measure(int threads, double seconds, Cycle cycle) {
  std::atomic<bool> stop{false};
  std::vector<long> counts(static_cast<std::size_t>(threads), 0);
  std::latch ready(threads + 1);
  std::vector<std::jthread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ready.arrive_and_wait();
      long mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        cycle();
        ++mine;
      }
      counts[static_cast<std::size_t>(t)] = mine;
    });
  }
  ready.arrive_and_wait();
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  workers.clear();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double total = static_cast<double>(std::accumulate(counts.begin(), counts.end(), 0L));
  const double slowest = static_cast<double>(*std::min_element(counts.begin(), counts.end()));
  return Rate{total / elapsed, total > 0 ? slowest / (total / threads) : 0};
}

// The cycle through one of the comparison pools above, which lend bare connections.
template <class PeerPool>
Rate measure_peer(PeerPool& pool, bool with_statement, const Options& o) {
  return measure(o.threads, o.seconds, [&] {
    auto c = pool.acquire();
    if (with_statement) statement(c);
    pool.release(std::move(c));
  });
}

// Every peer starts the clock with `size` connections open and idle, as the hand-off pool does
// from its constructor and QueuePool from its warm-up: no peer's figures include connecting.
template <class PeerPool>
void fill(PeerPool& pool, std::size_t size) {
  std::vector<decltype(pool.acquire())> held;
  for (std::size_t i = 0; i < size; ++i) held.push_back(pool.acquire());
  for (auto& c : held) pool.release(std::move(c));
}

template <class C>
void fill_leases(connpool::Pool<C>& pool, std::size_t size) {
  std::vector<connpool::Lease<C>> held;
  for (std::size_t i = 0; i < size; ++i) held.push_back(pool.acquire());
}  // all given back here

template <class C>
Rate run_cycles(Factory<C>& factory, const Options& o) {
  const bool with_statement = o.cycle == "statement";
  if (o.peer == "per-query") {
    return measure(o.threads, o.seconds, [&] {
      C c = factory.create({});
      if (with_statement) statement(c);
      factory.close(c);
    });
  }
  if (o.peer == "handoff") {
    HandoffPool<C> pool(factory, o.size);
    return measure_peer(pool, with_statement, o);
  }
  if (o.peer == "naive") {
    NaivePool<C> pool(factory, o.size);
    fill(pool, o.size);
    return measure_peer(pool, with_statement, o);
  }
  connpool::PoolOptions options;
  options.max_size = o.size;
  options.min_idle = o.size;  // HikariCP's benchmark: a full pool from the start
  connpool::Pool<C> pool(factory, options);
  fill_leases(pool, o.size);
  return measure(o.threads, o.seconds, [&] {
    auto lease = pool.acquire();
    if (with_statement) statement(*lease);
  });
}

// A connection that takes 150 ms to make, for the spike.
struct SlowConnection {
  int id = 0;
};
class SlowFactory : public Factory<SlowConnection> {
 public:
  SlowConnection create(const std::stop_token& /*stop*/) override {
    std::this_thread::sleep_for(150ms);
    return SlowConnection{++made_};
  }
  bool validate(SlowConnection& /*c*/, milliseconds /*timeout*/) override { return true; }
  void close(SlowConnection& /*c*/) noexcept override {}
  int made() const { return made_; }

 private:
  std::atomic<int> made_{0};
};

template <class Acquire>
void spike_threads(Acquire acquire) {
  std::latch start(50);
  std::vector<std::jthread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      acquire();
    });
  }
}

int run_spike(const std::string& peer) {
  SlowFactory factory;
  if (peer == "naive") {
    NaivePool<SlowConnection> pool(factory, 50);
    for (int i = 0; i < 5; ++i) pool.release(factory.create({}));  // 5 idle
    spike_threads([&] {
      SlowConnection c = pool.acquire();
      std::this_thread::sleep_for(2ms);
      pool.release(SlowConnection(c));
    });
    return factory.made();
  }
  connpool::PoolOptions options;
  options.max_size = 50;
  options.min_idle = 5;
  connpool::Pool<SlowConnection> pool(factory, options);
  while (pool.stats().idle < 5) std::this_thread::sleep_for(10ms);
  spike_threads([&] {
    auto lease = pool.acquire();
    std::this_thread::sleep_for(2ms);
  });
  while (pool.stats().pending > 0) std::this_thread::sleep_for(10ms);
  return factory.made();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"HikariCP's connection and statement cycles through a pool"};
  app.add_option("--backend", o.backend, "sqlite or postgres")
      ->check(CLI::IsMember({"sqlite", "postgres"}));
  app.add_option("--db", o.db, "SQLite: the database file");
  app.add_option("--conninfo", o.conninfo, "PostgreSQL: libpq's connection string");
  app.add_option("--peer", o.peer, "pool, handoff, naive or per-query")
      ->check(CLI::IsMember({"pool", "handoff", "naive", "per-query"}));
  app.add_option("--cycle", o.cycle, "connection or statement")
      ->check(CLI::IsMember({"connection", "statement"}));
  app.add_option("--threads", o.threads, "threads")->check(CLI::Range(1, 1024));
  app.add_option("--size", o.size, "connections in the pool")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", o.seconds, "how long to measure")->check(CLI::Range(0.05, 600.0));
  app.add_flag("--spike", o.spike, "HikariCP's spike scenario: print the connections made");
  CLI11_PARSE(app, argc, argv);
  try {
    if (o.spike) {
      std::cout << "connections=" << run_spike(o.peer) << "\n";
      return 0;
    }
    Rate rate;
    if (o.backend == "sqlite") {
      if (o.db.empty()) throw std::runtime_error("--db is required with --backend sqlite");
      connpool::SqliteFactory factory(o.db);
      rate = run_cycles(factory, o);
    } else {
      if (o.conninfo.empty()) throw std::runtime_error("--conninfo is required with postgres");
      connpool::PgFactory factory(o.conninfo);
      rate = run_cycles(factory, o);
    }
    std::printf("cycles_per_second=%.0f\nslowest_thread_share=%.3f\n", rate.cycles_per_second,
                rate.slowest_thread_share);
  } catch (const std::exception& e) {
    std::cerr << "pool_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
