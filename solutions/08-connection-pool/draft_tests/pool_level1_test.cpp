// Draft tests for level 1 (work in progress; they become exercises/08-connection-pool/tests/).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "course/fake_clock.hpp"
#include "pool.hpp"

namespace connpool {
namespace {

using namespace std::chrono_literals;

struct FakeConnection {
  int id = 0;
};

class CountingFactory : public Factory<FakeConnection> {
 public:
  FakeConnection create(const std::stop_token&) override { return FakeConnection{++created}; }
  bool validate(FakeConnection& connection, milliseconds) override {
    ++validations;
    return connection.id != broken;
  }
  void close(FakeConnection&) noexcept override { ++closed; }
  std::atomic<int> created{0};
  std::atomic<int> closed{0};
  std::atomic<int> validations{0};
  std::atomic<int> broken{0};  // the id of a connection that no longer works
};

template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(Level1Pool, AnIdleConnectionIsReusedWithoutCreatingOne) {
  CountingFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 2});
  int first = 0;
  {
    auto lease = pool.acquire();
    first = lease->id;
  }
  auto again = pool.acquire();
  EXPECT_EQ(again->id, first);
  EXPECT_EQ(factory.created, 1);
}

TEST(Level1Pool, ATimedOutAcquireFailsAtExactlyItsTimeout) {
  CountingFactory factory;
  course::FakeClock clock;
  Pool<FakeConnection> pool(factory,
                            {.max_size = 1, .connection_timeout = 1000ms, .clock = &clock});
  auto held = pool.acquire();
  std::atomic<bool> threw{false};
  std::jthread waiter([&] {
    try {
      (void)pool.acquire();
    } catch (const PoolTimeout& e) {
      threw = true;
      EXPECT_EQ(e.at().in_use, 1U);
    }
  });
  ASSERT_TRUE(eventually([&] { return clock.waiting() == 1; }));
  clock.advance(999ms);
  std::this_thread::sleep_for(3 * course::FakeClock::kRealTimeCap);
  EXPECT_FALSE(threw);
  EXPECT_EQ(pool.stats().waiting, 1U);
  clock.advance(1ms);
  waiter.join();
  EXPECT_TRUE(threw);
  EXPECT_EQ(pool.stats().timeouts, 1U);
}

TEST(Level1Pool, AReleaseJustBeforeTheTimeoutIsHandedToTheWaiter) {
  CountingFactory factory;
  course::FakeClock clock;
  Pool<FakeConnection> pool(factory,
                            {.max_size = 1, .connection_timeout = 1000ms, .clock = &clock});
  auto held = pool.acquire();
  std::atomic<int> got{0};
  std::jthread waiter([&] {
    auto lease = pool.acquire();
    got = lease->id;
  });
  ASSERT_TRUE(eventually([&] { return clock.waiting() == 1; }));
  clock.advance(999ms);
  held.release();
  waiter.join();
  EXPECT_EQ(got, 1);
  EXPECT_EQ(factory.created, 1);
}

TEST(Level1Pool, NeverMoreThanMaxSizeUnderABurst) {
  CountingFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 4});
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 50; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 100; ++i) {
          auto lease = pool.acquire();
          const int now = ++inside;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          --inside;
        }
      });
    }
  }
  EXPECT_LE(peak, 4);
  EXPECT_LE(factory.created, 4);
  EXPECT_EQ(pool.stats().in_use, 0U);
}

// HikariCP's spike: 5 warm connections, then 50 threads at once, each wanting a connection for a
// 2 ms query, while making a connection takes 150 ms. The 5 serve everyone in about 20 ms; a pool
// that creates a connection per waiter ends with 45 more.
class SlowFactory : public Factory<FakeConnection> {
 public:
  FakeConnection create(const std::stop_token&) override {
    std::this_thread::sleep_for(150ms);
    return FakeConnection{++created};
  }
  bool validate(FakeConnection&, milliseconds) override { return true; }
  void close(FakeConnection&) noexcept override {}
  std::atomic<int> created{0};
};

TEST(Level2Pool, ASpikeIsServedByTheConnectionsThatComeBack) {
  SlowFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 50, .connection_timeout = 10000ms});
  {
    std::vector<Lease<FakeConnection>> warm;
    for (int i = 0; i < 5; ++i) warm.push_back(pool.acquire());
  }
  ASSERT_EQ(factory.created, 5);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 50; ++t) {
      threads.emplace_back([&] {
        auto lease = pool.acquire();
        std::this_thread::sleep_for(2ms);
      });
    }
  }
  std::this_thread::sleep_for(400ms);  // let a creation that had started finish
  EXPECT_LE(factory.created, 10) << "the pool made " << factory.created - 5
                                 << " connections for a spike that 5 could serve";
}

TEST(Level1Pool, ALeaseReleasedTwiceOrUsedAfterwardsIsReported) {
  CountingFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 1});
  auto lease = pool.acquire();
  lease.release();
  EXPECT_THROW(lease.release(), LeaseMisuse);
  EXPECT_THROW((void)lease->id, LeaseMisuse);
}

TEST(Level3Pool, ABrokenConnectionIsNeverHandedOut) {
  CountingFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 2});
  pool.acquire().release();
  factory.broken = 1;
  auto lease = pool.acquire();
  EXPECT_EQ(lease->id, 2) << "connection 1 failed validation: it must be closed and replaced";
  EXPECT_EQ(factory.closed, 1);
  EXPECT_EQ(pool.stats().validation_failures, 1U);
}

TEST(Level3Pool, MaxLifetimeRetiresAConnectionOnlyWhenItComesBack) {
  CountingFactory factory;
  course::FakeClock clock;
  Pool<FakeConnection> pool(factory, {.max_size = 1, .max_lifetime = 60000ms, .clock = &clock});
  auto lease = pool.acquire();
  clock.advance(61s);
  pool.housekeep();
  EXPECT_EQ(factory.closed, 0) << "a connection in use is never closed under its user";
  lease.release();
  EXPECT_EQ(factory.closed, 1) << "past its lifetime, it is retired when it comes back";
  EXPECT_EQ(pool.acquire()->id, 2);
}

TEST(Level3Pool, IdleTimeoutShrinksTheIdleOnesDownToMinIdle) {
  CountingFactory factory;
  course::FakeClock clock;
  Pool<FakeConnection> pool(
      factory, {.max_size = 3, .min_idle = 1, .idle_timeout = 10000ms, .clock = &clock});
  {
    std::vector<Lease<FakeConnection>> three;
    for (int i = 0; i < 3; ++i) three.push_back(pool.acquire());
  }
  EXPECT_EQ(pool.stats().idle, 3U);
  clock.advance(10s);
  pool.housekeep();
  EXPECT_EQ(pool.stats().idle, 1U);
  EXPECT_EQ(factory.closed, 2);
}

TEST(Level3Pool, ALeakIsReportedOncePerLease) {
  CountingFactory factory;
  course::FakeClock clock;
  std::vector<LeakWarning> warnings;
  Pool<FakeConnection> pool(factory,
                            {.max_size = 1,
                             .leak_threshold = 1000ms,
                             .on_leak = [&](const LeakWarning& w) { warnings.push_back(w); },
                             .clock = &clock});
  auto lease = pool.acquire();
  clock.advance(999ms);
  pool.housekeep();
  EXPECT_TRUE(warnings.empty());
  clock.advance(1ms);
  pool.housekeep();
  clock.advance(5s);
  pool.housekeep();
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0].held, 1000ms);
}

TEST(Level4Pool, ShutdownClosesIdleAtOnceAndInUseOnReturn) {
  CountingFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 2});
  auto kept = pool.acquire();
  pool.acquire().release();  // one idle
  pool.shutdown();
  EXPECT_EQ(factory.closed, 1) << "the idle connection closes at once, the one in use does not";
  EXPECT_THROW((void)pool.acquire(), PoolClosed);
  kept.release();
  EXPECT_EQ(factory.closed, 2) << "the connection in use closes when it comes back";
}

TEST(Level4Pool, AWaiterGetsPoolClosed) {
  CountingFactory factory;
  Pool<FakeConnection> pool(factory, {.max_size = 1, .connection_timeout = 60000ms});
  auto held = pool.acquire();
  std::atomic<bool> closed_error{false};
  std::jthread waiter([&] {
    try {
      (void)pool.acquire();
    } catch (const PoolClosed&) {
      closed_error = true;
    }
  });
  ASSERT_TRUE(eventually([&] { return pool.stats().waiting == 1; }));
  pool.shutdown();
  waiter.join();
  EXPECT_TRUE(closed_error) << "a waiter must get PoolClosed when the pool shuts down";
}

}  // namespace
}  // namespace connpool
