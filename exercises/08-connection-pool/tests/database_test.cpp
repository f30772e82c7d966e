// The pool on real databases: SQLite (a file in WAL mode, always there) and PostgreSQL (a
// throw-away server, when its package is installed).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
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

}  // namespace
}  // namespace connpool::testing
