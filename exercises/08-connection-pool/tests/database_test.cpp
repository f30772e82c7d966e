// The pool on real databases: SQLite (a file in WAL mode, always there) and PostgreSQL (a
// throw-away server, when its package is installed).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "connpool/pg_cluster.hpp"
#include "connpool/postgres.hpp"
#include "connpool/sqlite.hpp"
#include "course/temp_dir.hpp"
#include "course/time_scale.hpp"
#include "pool.hpp"
#include "test_support.hpp"

namespace connpool::testing {
namespace {

constexpr int kAccounts = 10;
constexpr std::int64_t kOpening = 1000;

// One transfer of the workload: `amount` from account `from` to account `to`.
struct Transfer {
  int from = 0;
  int to = 0;
  std::int64_t amount = 0;
};

// The transfers of one client, the same on every run (a seeded generator).
std::vector<Transfer> transfers_of(int client, int count) {
  std::mt19937 random(static_cast<unsigned>(1000 + client));
  std::uniform_int_distribution<int> account(0, kAccounts - 1);
  std::uniform_int_distribution<std::int64_t> amount(1, 50);
  std::vector<Transfer> transfers;
  for (int i = 0; i < count; ++i) {
    Transfer t{account(random), account(random), amount(random)};
    if (t.from == t.to) t.to = (t.to + 1) % kAccounts;
    transfers.push_back(t);
  }
  return transfers;
}

// The oracle: the balances the transfers give, computed without any database.
std::array<std::int64_t, kAccounts> expected_balances(int clients, int count) {
  std::array<std::int64_t, kAccounts> balances{};
  balances.fill(kOpening);
  for (int c = 0; c < clients; ++c) {
    for (const Transfer& t : transfers_of(c, count)) {
      balances[static_cast<std::size_t>(t.from)] -= t.amount;
      balances[static_cast<std::size_t>(t.to)] += t.amount;
    }
  }
  return balances;
}

std::string create_accounts_sql() {
  std::string sql =
      "DROP TABLE IF EXISTS accounts; CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance "
      "BIGINT NOT NULL);";
  for (int id = 0; id < kAccounts; ++id) {
    sql += "INSERT INTO accounts VALUES (" + std::to_string(id) + ", " + std::to_string(kOpening) +
           ");";
  }
  return sql;
}

// Both updates in one transaction, the lower id first (two transfers in opposite directions
// then lock rows in the same order, so PostgreSQL never sees a deadlock).
template <class Connection>
void apply(Connection& db, const Transfer& t, const std::string& begin) {
  const auto update = [&](int id, std::int64_t delta) {
    db.execute("UPDATE accounts SET balance = balance + " + std::to_string(delta) +
               " WHERE id = " + std::to_string(id) + ";");
  };
  db.execute(begin);
  if (t.from < t.to) {
    update(t.from, -t.amount);
    update(t.to, t.amount);
  } else {
    update(t.to, t.amount);
    update(t.from, -t.amount);
  }
  db.execute("COMMIT;");
}

template <class Connection>
std::array<std::int64_t, kAccounts> balances_in(Connection& db) {
  std::array<std::int64_t, kAccounts> balances{};
  for (int id = 0; id < kAccounts; ++id) {
    balances[static_cast<std::size_t>(id)] =
        db.query_int("SELECT balance FROM accounts WHERE id = " + std::to_string(id) + ";");
  }
  return balances;
}

// `writers` threads apply their transfers through the pool while `readers` threads check that
// the total never changes (a transfer is atomic). Returns the readers' wrong totals.
template <class C>
int run_bank(Pool<C>& pool, int writers, int readers, int count, const std::string& begin) {
  std::atomic<int> wrong_totals{0};
  std::atomic<int> writers_left{writers};
  std::vector<std::jthread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (const Transfer& t : transfers_of(w, count)) {
          auto lease = pool.acquire();
          apply(*lease, t, begin);
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "writer " << w << ": " << e.what();
      }
      --writers_left;
    });
  }
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&] {
      try {
        while (writers_left > 0) {
          auto lease = pool.acquire();
          if (lease->query_int("SELECT SUM(balance) FROM accounts;") != kAccounts * kOpening) {
            ++wrong_totals;
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "reader: " << e.what();
      }
    });
  }
  threads.clear();
  return wrong_totals;
}

// ---------------------------------------------------------------- SQLite

TEST(Sqlite, ConcurrentClientsGiveTheSequentialResult) {
  const course::TempDir dir("pool-sqlite-");
  SqliteFactory factory(dir.file("bank.db"));
  PoolOptions o = options(4);
  o.connection_timeout = std::chrono::duration_cast<milliseconds>(course::scaled(30s));
  Pool<SqliteConnection> pool(factory, o);
  pool.acquire()->execute(create_accounts_sql());
  constexpr int kWriters = 4;
  constexpr int kTransfers = 60;
  const int wrong = run_bank(pool, kWriters, 2, kTransfers, "BEGIN IMMEDIATE;");
  EXPECT_EQ(wrong, 0) << "a reader saw money appear or vanish: transactions were mixed up";
  auto lease = pool.acquire();
  EXPECT_EQ(balances_in(*lease), expected_balances(kWriters, kTransfers))
      << "the balances differ from applying every transfer in turn";
  EXPECT_LE(pool.stats().created, 4U);
  EXPECT_EQ(pool.stats().timeouts, 0U);
}

TEST(Sqlite, ABrokenConnectionIsReplaced) {
  const course::TempDir dir("pool-sqlite-");
  SqliteFactory factory(dir.file("db.sqlite"));
  Pool<SqliteConnection> pool(factory, options(1));
  {
    auto lease = pool.acquire();
    lease->execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);");
    lease->close();  // as if the database had dropped it
  }
  auto lease = pool.acquire();
  EXPECT_EQ(lease->query_int("SELECT x FROM t;"), 7);
  EXPECT_EQ(pool.stats().validation_failures, 1U);
  EXPECT_EQ(pool.stats().created, 2U);
}

// ---------------------------------------------------------------- PostgreSQL

// Each PostgreSQL test starts a throw-away server of its own, or is skipped and says why there
// is none.

TEST(Postgres, ConcurrentClientsGiveTheSequentialResult) {
  if (const std::string why = PgCluster::why_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const course::TempDir dir("pool-pg-");
  PgCluster cluster(dir.path() / "pg");
  cluster.start();
  PgFactory factory(cluster.conninfo());
  Pool<PgConnection> pool(factory, options(4));
  pool.acquire()->execute(create_accounts_sql());
  constexpr int kWriters = 6;
  constexpr int kTransfers = 40;
  const int wrong = run_bank(pool, kWriters, 2, kTransfers, "BEGIN;");
  EXPECT_EQ(wrong, 0) << "a reader saw money appear or vanish";
  auto lease = pool.acquire();
  EXPECT_EQ(balances_in(*lease), expected_balances(kWriters, kTransfers));
  EXPECT_LE(pool.stats().created, 4U);
}

TEST(Postgres, AStoppedServerMakesAcquireFailInTimeAndThePoolRecovers) {
  if (const std::string why = PgCluster::why_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const course::TempDir dir("pool-pg-");
  PgCluster cluster(dir.path() / "pg");
  cluster.start();
  PgFactory factory(cluster.conninfo(), 2000ms);
  PoolOptions o = options(2);
  o.connection_timeout = 1000ms;
  o.validation_timeout = 500ms;
  Pool<PgConnection> pool(factory, o);
  EXPECT_EQ(pool.acquire()->query_int("SELECT 1;"), 1);

  cluster.stop();
  const auto start = std::chrono::steady_clock::now();
  try {
    auto lease = pool.acquire();
    FAIL() << "acquire() returned a connection while the server was down";
  } catch (const PoolTimeout& e) {
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(e.reason(), TimeoutReason::create_failing) << e.what();
    EXPECT_NE(std::string(e.what()).find("PostgreSQL"), std::string::npos)
        << "the timeout should carry libpq's error: " << e.what();
    EXPECT_LT(took, course::scaled(4000ms))
        << "a timeout of 1000 ms took " << std::chrono::duration<double>(took).count() << " s";
  }
  EXPECT_GE(pool.stats().validation_failures, 1U)
      << "the idle connection died with the server: validation must find it";

  cluster.start();
  auto lease = pool.acquire(std::chrono::duration_cast<milliseconds>(course::scaled(10s)));
  EXPECT_EQ(lease->query_int("SELECT 2;"), 2) << "the pool must recover when the server does";
}

// Clients in a busy loop through the pool: each acquires a connection, runs SELECT 1 and gives it
// back, at once, again and again, counting what worked and what failed, until destroyed.
class BusyLoop {
 public:
  BusyLoop(Pool<PgConnection>& pool, int clients) {
    for (int i = 0; i < clients; ++i) {
      clients_.emplace_back([this, &pool](const std::stop_token& stop) {
        while (!stop.stop_requested()) {
          try {
            auto lease = pool.acquire();
            if (lease->query_int("SELECT 1;") == 1) ++successes_;
          } catch (const std::exception& e) {
            ++failures_;
            const std::scoped_lock lock(mutex_);
            if (first_error_.empty()) first_error_ = e.what();
          }
        }
      });
    }
  }
  [[nodiscard]] std::int64_t successes() const { return successes_; }
  [[nodiscard]] std::int64_t failures() const { return failures_; }
  [[nodiscard]] std::string first_error() const {
    const std::scoped_lock lock(mutex_);
    return first_error_;
  }
  void stop() { clients_.clear(); }  // request_stop() and join()

 private:
  std::atomic<std::int64_t> successes_{0};
  std::atomic<std::int64_t> failures_{0};
  mutable std::mutex mutex_;
  std::string first_error_;
  std::vector<std::jthread> clients_;  // last: they use everything above
};

// pg_terminate_backend on every session but the caller's: what an administrator, a failover or
// a restart does to the pool's connections. Returns how many sessions were ended.
std::int64_t end_every_other_session(PgConnection& admin) {
  return admin.query_int(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();");
}

TEST(Postgres, EndingEverySessionUnderABusyLoopCostsOneFailedUsePerConnection) {
  if (const std::string why = PgCluster::why_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const course::TempDir dir("pool-pg-");
  PgCluster cluster(dir.path() / "pg");
  cluster.start();
  PgFactory factory(cluster.conninfo(), 5000ms);
  PgConnection admin = factory.create({});  // not the pool's
  PoolOptions o = options(4);
  o.connection_timeout = 2000ms;
  // HikariCP's default: a busy loop gives every connection back well within it, so validation
  // never runs and cannot be what finds the ended sessions.
  o.alive_bypass = 500ms;
  Pool<PgConnection> pool(factory, o);
  BusyLoop loop(pool, 4);
  ASSERT_TRUE(eventually([&] { return loop.successes() >= 200; }, 20s))
      << "the busy loop did not get going: " << loop.first_error();
  const std::int64_t failures_before = loop.failures();
  const std::int64_t ended = end_every_other_session(admin);
  const std::int64_t successes_at_end = loop.successes();
  const auto ended_at = std::chrono::steady_clock::now();
  const bool recovered =
      eventually([&] { return loop.successes() >= successes_at_end + 200; }, 10s);
  const auto took = std::chrono::steady_clock::now() - ended_at;
  loop.stop();
  const std::int64_t failed = loop.failures() - failures_before;
  const PoolStats stats = pool.stats();
  EXPECT_TRUE(recovered)
      << "after every session was ended (" << ended << "), the busy loop got "
      << loop.successes() - successes_at_end << " answers in "
      << std::chrono::duration<double>(took).count() << " s and " << failed
      << " failures (first: " << loop.first_error() << "); the pool says " << stats.total
      << " connections, " << stats.idle << " idle, " << stats.broken << " closed broken.\n"
      << "Every connection comes back within alive_bypass, so none is validated: the pool must "
         "ask Factory::is_broken when a connection comes back, close a broken one and make a "
         "new one";
  EXPECT_LE(failed, ended) << "each ended session should cost one failed use at most (the one "
                              "that found it broken), then be closed and replaced";
  EXPECT_GE(stats.broken, 1U);
}

TEST(Postgres, AFrozenServerCostsAcquireItsDeadlineNotAValidationPerConnection) {
  if (const std::string why = PgCluster::why_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const course::TempDir dir("pool-pg-");
  PgCluster cluster(dir.path() / "pg");
  cluster.start();
  PgFactory factory(cluster.conninfo(), 5000ms);
  PoolOptions o = options(4);  // alive_bypass 0: every used connection is validated
  o.connection_timeout = 1500ms;
  o.validation_timeout = 5000ms;
  Pool<PgConnection> pool(factory, o);
  {
    std::vector<Lease<PgConnection>> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(pool.acquire());
    for (auto& lease : leases) EXPECT_EQ(lease->query_int("SELECT 1;"), 1);
  }                  // four idle connections, each validated before it is lent again
  cluster.freeze();  // every server process stopped: connections open, nothing answers
  const auto start = std::chrono::steady_clock::now();
  std::string outcome = "returned";
  std::optional<TimeoutReason> reason;
  try {
    auto lease = pool.acquire();
  } catch (const PoolTimeout& e) {
    outcome = e.what();
    reason = e.reason();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  cluster.thaw();
  EXPECT_EQ(reason, TimeoutReason::validation_failing) << outcome;
  EXPECT_LT(took, course::scaled(4000ms))
      << "acquire() with a timeout of 1500 ms took " << std::chrono::duration<double>(took).count()
      << " s against a frozen server. The deadline bounds validation too: validate() gets "
         "what is left of it, not validation_timeout (5 s) for every idle connection";
  auto lease = pool.acquire(std::chrono::duration_cast<milliseconds>(course::scaled(10s)));
  EXPECT_EQ(lease->query_int("SELECT 2;"), 2) << "the pool must recover when the server does";
}

}  // namespace
}  // namespace connpool::testing
