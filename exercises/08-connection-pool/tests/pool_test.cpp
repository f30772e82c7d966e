// Levels 1 to 4: the pool for threads, on a fake database and, where time matters, a fake clock.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "course/fake_clock.hpp"
#include "course/time_scale.hpp"
#include "pool.hpp"
#include "test_support.hpp"

namespace connpool::testing {
namespace {

using course::FakeClock;

// ---------------------------------------------------------------- level 1: borrow and give back

TEST(Pool, AnIdleConnectionIsReusedWithoutCreatingAnother) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(2));
  int first = 0;
  {
    auto lease = pool.acquire();
    first = lease->id;
  }
  auto again = pool.acquire();
  EXPECT_EQ(again->id, first) << "a connection given back must be lent again, not a new one made";
  EXPECT_EQ(db.created(), 1);
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.in_use, 1U);
  EXPECT_EQ(s.idle, 0U);
  EXPECT_EQ(s.total, 1U);
}

TEST(Pool, TheMostRecentlyReturnedConnectionIsLentFirst) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(2));
  auto a = pool.acquire();
  auto b = pool.acquire();
  const int first_back = a->id;
  const int second_back = b->id;
  a.release();
  b.release();
  auto next = pool.acquire();
  EXPECT_EQ(next->id, second_back)
      << "idle connections form a stack (LIFO): the last one returned (" << second_back
      << ") is lent first, so the others stay idle and can time out; got " << next->id
      << " (returned first: " << first_back << ")";
}

TEST(Pool, AcquireNeverWaitsWhileAConnectionIsIdle) {
  FakeDatabase db;
  FakeClock clock;  // never moved: a wait on it would last until the call's deadline
  Pool<FakeConnection> pool(db, options(2, &clock));
  auto held = pool.acquire();
  { auto other = pool.acquire(); }  // one idle now
  Call<int> call([&] { return pool.acquire()->id; });
  ASSERT_TRUE(call.finished())
      << "acquire() waited although a connection was idle: it must take it at once";
  EXPECT_EQ(db.created(), 2);
}

TEST(Pool, ATimedOutAcquireFailsAtExactlyItsTimeout) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.connection_timeout = 1000ms;
  Pool<FakeConnection> pool(db, o);
  auto held = pool.acquire();
  Call<int> waiter([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1)) << "the second acquire() should be waiting";
  clock.advance(999ms);
  EXPECT_FALSE(waiter.finished(300ms))
      << "acquire() gave up after 999 ms of its 1000 ms timeout (on the pool's clock)";
  clock.advance(1ms);
  ASSERT_TRUE(waiter.finished()) << "acquire() did not give up at its 1000 ms timeout";
  const std::string what = waiter.outcome();
  EXPECT_NE(what.find("PoolTimeout"), std::string::npos) << what;
  EXPECT_EQ(pool.stats().timeouts, 1U);
  EXPECT_EQ(pool.stats().waiting, 0U) << "a waiter that timed out must leave the queue";
}

TEST(Pool, AReleaseJustBeforeTheTimeoutIsHandedToTheWaiter) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.connection_timeout = 1000ms;
  Pool<FakeConnection> pool(db, o);
  auto held = pool.acquire();
  const int id = held->id;
  Call<int> waiter([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  clock.advance(999ms);
  held.release();
  ASSERT_TRUE(waiter.finished());
  EXPECT_EQ(waiter.outcome(), "returned");
  EXPECT_EQ(pool.stats().timeouts, 0U);
  EXPECT_EQ(db.created(), 1) << "the connection given back (id " << id
                             << ") should serve the waiter; no new one was needed";
}

TEST(Pool, TheTimeoutSaysThePoolWasExhaustedWithItsCounts) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.connection_timeout = 500ms;
  Pool<FakeConnection> pool(db, o);
  auto a = pool.acquire();
  auto b = pool.acquire();
  Call<int> waiter([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  clock.advance(500ms);
  ASSERT_TRUE(waiter.finished());
  ASSERT_EQ(waiter.timeout_reason(), TimeoutReason::exhausted) << waiter.outcome();
  EXPECT_EQ(waiter.timeout_at().in_use, 2U);
  EXPECT_EQ(waiter.timeout_at().total, 2U);
  const std::string what = waiter.outcome();
  EXPECT_NE(what.find("exhausted"), std::string::npos) << what;
  EXPECT_NE(what.find("2 in use"), std::string::npos)
      << "the message should give the counts: " << what;
}

// Two threads that start waiting in turn on a pool whose connections are all lent; each notes
// its rank when it gets one (1: first) and gives it back at once.
class TwoWaiters {
 public:
  explicit TwoWaiters(Pool<FakeConnection>& pool)
      : first_([this, &pool] { return take(pool, first_rank_); }),
        queued_(waiting_becomes(pool, 1)) {
    second_.emplace([this, &pool] { return take(pool, second_rank_); });
    queued_ = queued_ && waiting_becomes(pool, 2);
  }
  [[nodiscard]] bool queued() const { return queued_; }  // both waited, in that order
  bool finished() { return first_.finished() && second_->finished(); }
  [[nodiscard]] int served() const { return order_; }
  [[nodiscard]] int first_rank() const { return first_rank_; }
  [[nodiscard]] int second_rank() const { return second_rank_; }

 private:
  int take(Pool<FakeConnection>& pool, std::atomic<int>& rank) {
    auto lease = pool.acquire();
    rank = ++order_;
    return lease->id;
  }

  std::atomic<int> order_{0};
  std::atomic<int> first_rank_{0};
  std::atomic<int> second_rank_{0};
  Call<int> first_;
  bool queued_ = false;  // after first_: it waits for first_'s thread
  std::optional<Call<int>> second_;
};

TEST(Pool, WaitersAreServedFirstComeFirstServed) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  auto held = pool.acquire();
  TwoWaiters waiters(pool);
  ASSERT_TRUE(waiters.queued());
  held.release();
  ASSERT_TRUE(waiters.finished());
  EXPECT_EQ(waiters.first_rank(), 1)
      << "the thread that waited longest must get the connection first";
  EXPECT_EQ(waiters.second_rank(), 2);
}

TEST(Pool, FourWaitersAreServedInTheOrderTheyCame) {
  // Two waiters cannot tell a queue from a structure that keeps only the oldest in place (a
  // vector whose erase moves the last element into the gap): four can.
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  auto held = pool.acquire();
  constexpr int kWaiters = 4;
  std::atomic<int> order{0};
  std::array<std::atomic<int>, kWaiters> ranks{};
  std::vector<std::unique_ptr<Call<int>>> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(std::make_unique<Call<int>>([&, i] {
      auto lease = pool.acquire();
      ranks[static_cast<std::size_t>(i)] = ++order;
      return lease->id;
    }));
    // Each one waits before the next one asks: their order in the queue is 1, 2, 3, 4.
    ASSERT_TRUE(waiting_becomes(pool, static_cast<std::size_t>(i) + 1)) << "waiter " << i + 1;
  }
  held.release();      // each waiter gives the connection back as it leaves: the next one gets it
  std::string served;  // "waiter 1 got turn 1, waiter 2 got turn 4, ..."
  for (int i = 0; i < kWaiters; ++i) {
    ASSERT_TRUE(waiters[static_cast<std::size_t>(i)]->finished()) << "waiter " << i + 1;
    served += (i > 0 ? ", waiter " : "waiter ") + std::to_string(i + 1) + " got turn " +
              std::to_string(ranks[static_cast<std::size_t>(i)].load());
  }
  bool in_order = true;
  for (int i = 0; i < kWaiters; ++i) {
    in_order = in_order && ranks[static_cast<std::size_t>(i)] == i + 1;
  }
  EXPECT_TRUE(in_order)
      << served
      << ". Four threads waited one after the other; each release must go to the one that has "
         "waited longest. Keep the waiters in a FIFO (a std::list or std::deque), and take a "
         "waiter out without moving the others";
}

TEST(Pool, EachReleaseWakesExactlyOneWaiter) {
  FakeDatabase db;
  FakeClock clock;  // the waiters wait on it, so it counts their wake-ups
  Pool<FakeConnection> pool(db, options(1, &clock));
  auto held = pool.acquire();
  constexpr int kWaiters = 6;
  // Each waiter keeps the connection until the test lets it go, so that before every release the
  // others are all back in their waits: a woken thread that the scheduler has not run yet would
  // miss the next notify, and a busy machine would hide a thundering herd.
  std::atomic<int> served{0};
  // At most one permit per step, and kWaiters at the end.
  constexpr std::ptrdiff_t kMostPermits = std::ptrdiff_t{2} * kWaiters;
  std::counting_semaphore<kMostPermits> give_back{0};
  std::vector<std::unique_ptr<Call<int>>> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(std::make_unique<Call<int>>([&] {
      auto lease = pool.acquire();
      ++served;
      (void)give_back.try_acquire_for(course::scaled(10000ms));  // ends even if the test fails
      return lease->id;
    }));
  }
  struct LetEveryoneGo {  // however the test ends, no waiter keeps the connection
    std::counting_semaphore<kMostPermits>& permits;
    ~LetEveryoneGo() { permits.release(kWaiters); }
  } const let_everyone_go{give_back};
  ASSERT_TRUE(waiting_becomes(pool, kWaiters));
  const std::uint64_t before = clock.notified_wakeups();
  held.release();
  for (int step = 1; step <= kWaiters; ++step) {
    ASSERT_TRUE(eventually([&] { return served == step; }))
        << "after " << step << " releases, " << served << " waiters had the connection";
    ASSERT_TRUE(eventually([&] { return clock.waiting() == std::size_t(kWaiters - step); }))
        << "the waiters that did not get the connection must wait again";
    give_back.release();  // the holder returns it: the next release
  }
  for (auto& waiter : waiters) ASSERT_TRUE(waiter->finished());
  const std::uint64_t wakeups = clock.notified_wakeups() - before;
  EXPECT_LE(wakeups, kWaiters + 2U)
      << kWaiters << " releases woke waiting threads " << wakeups
      << " times. Each release should wake exactly the one waiter it hands the connection to; "
         "notify_all wakes all of them (a thundering herd: 6 + 5 + 4 + ... = 21), and all but "
         "one go back to sleep.";
}

TEST(Pool, ARunningThreadMayTakeTheConnectionFirstAndTheWokenWaiterKeepsItsPlace) {
  FakeDatabase db;
  FakeClock clock;  // its hold stands for a woken thread that the scheduler has not run yet
  Pool<FakeConnection> pool(db, options(1, &clock));
  auto held = pool.acquire();
  TwoWaiters waiters(pool);
  ASSERT_TRUE(waiters.queued());
  ASSERT_TRUE(eventually([&] { return clock.waiting() == 2; }))
      << "both waiters must wait with clock.wait_until(cv, lock, deadline)";
  std::optional<Lease<FakeConnection>> taken;
  std::optional<Call<int>> runner;  // outlives the hold: it may wait for a waiter that is held
  bool overtook = false;
  {
    const auto hold = clock.hold_wakeups();
    held.release();  // wakes `first`, which the hold keeps from running
    // Both out of their waits (`first` woken, `second` at the clock's 50 ms cap), neither has
    // looked at the pool yet.
    ASSERT_TRUE(eventually([&] { return clock.held() == 2; }));
    runner.emplace([&] {
      taken.emplace(pool.acquire());
      return (*taken)->id;
    });
    overtook = runner->finished(2000ms);
  }  // the waiters run again
  EXPECT_TRUE(overtook)
      << "acquire() waited while the connection given back was idle: the release reserved it "
         "for the waiter it woke, and that thread had not run yet (the test holds it, as a busy "
         "scheduler would). Put the connection back on the idle stack and let whichever thread "
         "runs first take it; a woken waiter that finds nothing waits again. A reserved "
         "connection sits unused until the scheduler runs its waiter, and every thread that "
         "wants it waits behind (a convoy): see the statement's benchmark.";
  if (!overtook) return;  // the waiters and the runner finish on their own
  ASSERT_TRUE(eventually([&] { return clock.waiting() == 2 && clock.held() == 0; }))
      << "the woken waiter that found nothing must wait again";
  EXPECT_EQ(waiters.served(), 0) << "a waiter took a connection that another thread held";
  taken.reset();  // gives it back: the first waiter must be woken again
  ASSERT_TRUE(waiters.finished());
  EXPECT_EQ(waiters.first_rank(), 1)
      << "the waiter woken first found the connection taken, and then the next release woke the "
         "thread behind it: its wake-up was spent, but it must keep its place at the head of "
         "the queue, and a release must wake it again (mark it not woken when it finds nothing)";
  EXPECT_EQ(waiters.second_rank(), 2);
}

TEST(Pool, ManyThreadsManyCyclesAllFinish) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(3));
  // Each thread cycles for a second (scaled) and at least 50 times: a faster machine tries more
  // interleavings, a slower one still tries some.
  constexpr int kThreads = 16;
  std::atomic<int> started{0};
  std::atomic<int> done{0};
  std::atomic<int> timeouts{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        try {
          for (course::TimeBudget budget(1000ms, 50); budget.more();) {
            ++started;
            auto lease = pool.acquire();
            ++done;
          }
        } catch (const PoolTimeout&) {
          ++timeouts;
        }
      });
    }
  }  // a thread that lost its wake-up ends at the pool's 10 s connection timeout
  EXPECT_EQ(done, started)
      << "only " << done << " of " << started
      << " acquire/release cycles finished: a wake-up was lost (a release that woke nobody "
         "while a thread waited), and "
      << timeouts
      << " thread(s) stayed stuck until the pool's "
         "10 s connection timeout";
  EXPECT_EQ(pool.stats().timeouts, 0U);
  EXPECT_LE(db.peak_open(), 3U);
}

TEST(Pool, NeverMoreThanMaxSizeConnectionsUnderABurst) {
  FakeDatabase db;
  db.set_create_latency(2ms);
  PoolOptions o = options(8);
  Pool<FakeConnection> pool(db, o);
  constexpr int kThreads = 50;
  std::latch start(kThreads);
  std::atomic<int> holding{0};
  std::atomic<int> peak_holding{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        try {
          for (int i = 0; i < 20; ++i) {
            auto lease = pool.acquire();
            const int now = ++holding;
            int peak = peak_holding.load();
            while (now > peak && !peak_holding.compare_exchange_weak(peak, now)) {
            }
            --holding;
          }
        } catch (const PoolTimeout& e) {
          ADD_FAILURE() << e.what();
        }
      });
    }
  }
  ASSERT_TRUE(eventually([&] { return pool.stats().pending == 0; }));
  EXPECT_LE(db.peak_open(), 8U) << "the database saw " << db.peak_open()
                                << " connections open at once; max_size is 8";
  EXPECT_LE(peak_holding.load(), 8) << peak_holding << " threads held a connection at once";
  EXPECT_TRUE(db.double_closes().empty()) << "a connection was closed twice";
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.created - s.closed, s.total)
      << "created − closed must equal the connections that exist";
  EXPECT_EQ(static_cast<std::size_t>(db.created()), s.created);
}

TEST(Pool, ALeaseGoesBackOnEveryPathOut) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  try {
    auto lease = pool.acquire();
    throw std::runtime_error("the query failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(pool.stats().in_use, 0U) << "an exception left the lease's scope: the connection "
                                        "must be back in the pool";
  EXPECT_EQ(pool.stats().idle, 1U);
  auto moved_from = pool.acquire();
  {
    auto moved_to = std::move(moved_from);
    EXPECT_EQ(pool.stats().in_use, 1U);
  }
  EXPECT_EQ(pool.stats().in_use, 0U) << "the lease moved into an inner scope gives it back there";
  EXPECT_EQ(pool.stats().idle, 1U) << "and only once";
}

TEST(Pool, MisusingALeaseIsReported) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(2));
  auto lease = pool.acquire();
  lease.release();
  EXPECT_THROW(lease.release(), LeaseMisuse) << "releasing twice must throw LeaseMisuse";
  EXPECT_THROW((void)lease->id, LeaseMisuse) << "using a released lease must throw LeaseMisuse";
  EXPECT_THROW((void)(*lease).id, LeaseMisuse);
  auto other = pool.acquire();
  auto taken = std::move(other);
  // NOLINTNEXTLINE(bugprone-use-after-move): using a moved-from lease is the misuse tested
  EXPECT_THROW((void)other->id, LeaseMisuse) << "a moved-from lease holds nothing";
  EXPECT_EQ(pool.stats().in_use, 1U);
  EXPECT_EQ(pool.stats().idle, 0U) << "the misuses must not have given anything back twice";
}

TEST(Pool, RejectsImpossibleOptions) {
  FakeDatabase db;
  PoolOptions zero = options(0);
  EXPECT_THROW(Pool<FakeConnection>(db, zero), std::invalid_argument);
  PoolOptions too_idle = options(2);
  too_idle.min_idle = 3;
  EXPECT_THROW(Pool<FakeConnection>(db, too_idle), std::invalid_argument);
  PoolOptions no_wait = options(2);
  no_wait.connection_timeout = 0ms;
  EXPECT_THROW(Pool<FakeConnection>(db, no_wait), std::invalid_argument);
  no_wait.connection_timeout = -1ms;
  EXPECT_THROW(Pool<FakeConnection>(db, no_wait), std::invalid_argument);
  // Each bound at its edge is accepted: max_size 1, min_idle = max_size, a 1 ms timeout.
  PoolOptions smallest = options(1);
  smallest.min_idle = 1;
  smallest.connection_timeout = 1ms;
  Pool<FakeConnection> pool(db, smallest);
  EXPECT_TRUE(eventually([&] { return pool.stats().idle == 1; }))
      << "max_size 1 with min_idle 1 is a pool of one connection, kept idle";
  auto lease = pool.acquire(1h);
  EXPECT_EQ(pool.stats().total, 1U);
}

TEST(Pool, StatisticsCountEveryEvent) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.connection_timeout = 100ms;
  Pool<FakeConnection> pool(db, o);
  auto a = pool.acquire();
  auto b = pool.acquire();
  Call<int> late([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  clock.advance(40ms);
  b.release();  // the waiter waited 40 ms, then gives it back
  ASSERT_TRUE(late.finished());
  auto c = pool.acquire();  // at once
  Call<int> too_late([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  EXPECT_EQ(pool.stats().waiting, 1U);
  clock.advance(100ms);
  ASSERT_TRUE(too_late.finished());
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.created, 2U);
  EXPECT_EQ(s.closed, 0U);
  EXPECT_EQ(s.timeouts, 1U);
  EXPECT_EQ(s.in_use, 2U);
  EXPECT_EQ(s.idle, 0U);
  EXPECT_EQ(s.pending, 0U);
  EXPECT_EQ(s.total, 2U);
  EXPECT_EQ(s.waiting, 0U);
  EXPECT_EQ(s.acquire_wait.count, 4U) << "four acquire() calls got a connection";
  EXPECT_EQ(s.acquire_wait.p50, 0ns) << "three of the four did not wait at all";
  EXPECT_EQ(s.acquire_wait.max, 40ms) << "one waited 40 ms on the pool's clock";
  EXPECT_GE(s.acquire_wait.p99, 37ms);
  EXPECT_LE(s.acquire_wait.p99, 40ms);
}

// ---------------------------------------------------------------- level 2: growth in the
// background

TEST(Growth, ConnectionsAreCreatedOnThePoolsOwnThread) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(4));
  std::vector<std::jthread> users;
  std::latch all_hold(4);
  std::latch done(1);
  for (int i = 0; i < 4; ++i) {
    users.emplace_back([&] {
      auto lease = pool.acquire();
      all_hold.count_down();
      done.wait();
    });
  }
  all_hold.wait();
  const auto creators = db.create_threads();
  done.count_down();
  users.clear();
  EXPECT_EQ(db.created(), 4);
  EXPECT_EQ(creators.size(), 1U)
      << "connections were created on " << creators.size()
      << " threads. The threads that call acquire() must only wait on the pool; the pool's own "
         "thread creates (HikariCP's rule), so a slow database never blocks a caller's "
         "thread in create()";
  for (const auto& id : creators) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(Growth, AHangingDatabaseStillLetsEveryAcquireTimeOut) {
  FakeDatabase db;
  db.hang_creates(true);
  FakeClock clock;
  PoolOptions o = options(4, &clock);
  o.connection_timeout = 200ms;
  {
    Pool<FakeConnection> pool(db, o);
    std::vector<std::unique_ptr<Call<int>>> callers;
    for (int i = 0; i < 3; ++i) {
      callers.push_back(std::make_unique<Call<int>>([&] { return pool.acquire()->id; }));
    }
    ASSERT_TRUE(eventually([&] { return db.create_calls() >= 1; }));
    // stats() is not used here: a pool that creates under its lock would block it too. A
    // caller that had not started waiting when the clock moved sees the next move.
    std::vector<bool> ended;
    for (auto& caller : callers) {
      bool done = false;
      for (int round = 0; round < 20 && !done; ++round) {
        clock.advance(200ms);
        done = caller->finished(150ms);
      }
      ended.push_back(done);
    }
    db.hang_creates(false);  // lets a pool that created under its lock go on, so the test ends
    for (std::size_t i = 0; i < ended.size(); ++i) {
      EXPECT_TRUE(ended[i])
          << "caller " << i
          << " did not time out while Factory::create hung. Creating a "
             "connection must not hold the lock that acquire() needs: release it around create()";
      if (ended[i]) {
        const std::string what = callers[i]->outcome();
        EXPECT_NE(what.find("PoolTimeout"), std::string::npos) << what;
      }
    }
  }
}

TEST(Growth, WhileCreatesHangTheTimeoutBlamesCreationNotExhaustion) {
  FakeDatabase db;
  db.hang_creates(true);  // a database that accepts the connection and never answers
  FakeClock clock;
  PoolOptions o = options(4, &clock);
  o.connection_timeout = 300ms;
  {
    Pool<FakeConnection> pool(db, o);
    Call<int> caller([&] { return pool.acquire()->id; });
    ASSERT_TRUE(eventually([&] { return db.create_calls() >= 1; }))
        << "a waiter needs a connection: the pool should start creating one";
    bool done = false;
    for (int round = 0; round < 20 && !done; ++round) {
      clock.advance(300ms);
      done = caller.finished(150ms);
    }
    db.hang_creates(false);  // lets a pool that created under its lock go on, so the test ends
    ASSERT_TRUE(done) << "acquire() did not time out while Factory::create hung";
    EXPECT_EQ(caller.timeout_reason(), TimeoutReason::create_failing)
        << caller.outcome()
        << "\nNo connection was in use (0 of 4): the pool was not exhausted. It was waiting for "
           "a Factory::create that had not finished: that is create_failing (api.hpp), and "
           "what() should say that creating a connection has not finished.";
    EXPECT_EQ(caller.outcome().find("exhausted"), std::string::npos) << caller.outcome();
    EXPECT_EQ(caller.timeout_at().in_use, 0U);
  }
}

TEST(Growth, AFailingDatabaseIsNamedInTheTimeout) {
  FakeDatabase db;
  db.fail_creates("connection refused (by the test)");
  FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.connection_timeout = 10s;
  Pool<FakeConnection> pool(db, o);
  Call<int> caller([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  // A second create() call means the first one's failure has been dealt with. Small steps of
  // the clock let a pool that pauses between attempts go on, far from the caller's timeout.
  for (int round = 0; round < 100 && db.create_calls() < 2; ++round) {
    clock.advance(50ms);
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_GE(db.create_calls(), 2) << "the pool should try again after a failed create()";
  clock.advance(10s);
  ASSERT_TRUE(caller.finished());
  EXPECT_EQ(caller.timeout_reason(), TimeoutReason::create_failing) << caller.outcome();
  EXPECT_NE(caller.outcome().find("connection refused (by the test)"), std::string::npos)
      << "the timeout should give the database's last error: " << caller.outcome();
  db.fail_creates("");
  Call<int> later([&] { return pool.acquire(1h)->id; });
  bool recovered = false;
  for (int round = 0; round < 50 && !recovered; ++round) {
    clock.advance(1s);  // past the creator's pause after a failure
    recovered = later.finished(100ms);
  }
  ASSERT_TRUE(recovered);
  EXPECT_EQ(later.outcome(), "returned") << "the pool must recover once the database does";

  // Freshness: once a creation has succeeded, the database's old error is no longer the reason.
  // Both connections lent, a third acquire times out: the pool is exhausted.
  auto one = pool.acquire(1h);
  std::promise<void> release_two;
  Call<int> two([&, done = release_two.get_future().share()] {
    auto lease = pool.acquire(1h);
    done.wait_for(course::scaled(20s));
    return lease->id;
  });
  ASSERT_TRUE(eventually([&] { return pool.stats().in_use == 2; }))
      << "the second connection should be made and lent";
  Call<int> third([&] { return pool.acquire(5s)->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  clock.advance(5s);
  ASSERT_TRUE(third.finished());
  EXPECT_EQ(third.timeout_reason(), TimeoutReason::exhausted)
      << "both connections were lent and every creation since the database recovered has "
         "succeeded, so the pool was exhausted; the timeout blamed \""
      << third.outcome()
      << "\". Forget the last create error once a creation succeeds: a reason must describe "
         "now, not a failure long gone";
  release_two.set_value();
  ASSERT_TRUE(two.finished());
}

TEST(Growth, ASpikeOfShortRequestsCreatesFewConnections) {
  // HikariCP's spike: 50 threads at once, a connection takes 150 ms to make, a query 2 ms,
  // max_size 50, min_idle 5. Five idle connections serve the 50 queries in about 20 ms, long
  // before a new connection is ready: a pool that makes one per waiter ends with 45 more.
  FakeDatabase db;
  PoolOptions o = options(50);
  o.min_idle = 5;
  Pool<FakeConnection> pool(db, o);
  ASSERT_TRUE(eventually([&] { return pool.stats().idle == 5; })) << "min_idle is 5";
  db.set_create_latency(course::scaled(150ms));
  constexpr int kThreads = 50;
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        auto lease = pool.acquire();
        std::this_thread::sleep_for(2ms);  // the query
      });
    }
  }
  // Creations still under way count too: wait for them (a pool without elision has dozens).
  eventually([&] { return pool.stats().pending == 0; }, 10s);
  const int created = db.created() + static_cast<int>(pool.stats().pending);
  EXPECT_LE(created, 10)
      << "the spike made the pool create " << created - 5
      << " connections besides its 5 idle ones. A creation should start only for a waiter "
         "that no creation under way will serve, and none should start once the waiters are "
         "gone: the 5 connections given back serve them long before a new one is ready";
}

// ---------------------------------------------------------------- level 3: health and lifetimes

TEST(Health, ABrokenConnectionIsNeverLent) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(2));
  int broken = 0;
  {
    auto lease = pool.acquire();
    broken = lease->id;
  }
  db.break_connection(broken);
  auto lease = pool.acquire();
  EXPECT_NE(lease->id, broken) << "connection " << broken
                               << " is broken: validate() says so, and it must not be lent";
  EXPECT_TRUE(db.is_open(lease->id));
  EXPECT_FALSE(db.is_open(broken)) << "a broken connection is closed";
  EXPECT_EQ(pool.stats().validation_failures, 1U);
  EXPECT_EQ(pool.stats().total, 1U) << "the broken one no longer counts";
}

TEST(Health, AConnectionWhoseUseFailedIsClosedOnReturnAndReplaced) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.alive_bypass = 10s;  // given back a moment ago: no validation would catch it
  Pool<FakeConnection> pool(db, o);
  int lost = 0;
  {
    auto lease = pool.acquire();
    lost = lease->id;
    db.lose_connection(lost);  // its use failed: the server ended the session
  }
  EXPECT_GE(db.broken_checks(), 1)
      << "the pool never asked Factory::is_broken when the connection came back";
  EXPECT_FALSE(db.is_open(lost))
      << "connection " << lost
      << " came back broken (Factory::is_broken said so): close it on return. Kept idle, it is "
         "lent again within alive_bypass without validation, and every use of it fails: a "
         "pool that never recovers after the database restarts";
  const PoolStats after_return = pool.stats();
  EXPECT_EQ(after_return.idle, 0U);
  EXPECT_EQ(after_return.total, 0U) << "the broken connection no longer counts";
  EXPECT_EQ(after_return.broken, 1U) << "PoolStats::broken counts connections closed this way";
  auto lease = pool.acquire();
  EXPECT_NE(lease->id, lost) << "a broken connection is never lent again";
  EXPECT_TRUE(db.is_open(lease->id));
  EXPECT_EQ(pool.stats().validation_failures, 0U) << "no validation was needed to find it";
}

TEST(Health, AcquiresDeadlineBoundsValidation) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(4, &clock);
  o.validation_timeout = 5000ms;
  o.connection_timeout = 1500ms;
  Pool<FakeConnection> pool(db, o);
  {
    std::vector<Lease<FakeConnection>> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(pool.acquire());
  }  // four idle connections, used before: each is validated before it is lent again
  ASSERT_EQ(pool.stats().idle, 4U);
  db.hang_validations(true, &clock);  // the server froze: a validation takes its whole timeout
  db.hang_creates(true);
  const auto start = clock.now();
  Call<int> caller([&] { return pool.acquire()->id; });
  // The fake validations move the clock themselves: the test does not, so the clock's reading
  // afterwards is the time acquire() spent.
  const bool done = caller.finished(5000ms);
  const auto took = std::chrono::duration_cast<milliseconds>(clock.now() - start);
  db.hang_validations(false);
  db.hang_creates(false);
  if (!done) clock.advance(1h);  // lets a pool that waits on the clock end, so the test ends
  ASSERT_TRUE(done) << "acquire(1500 ms) did not end while the database hung: after validating "
                       "for as long as the deadline allows, it must give up";
  std::string asked;
  for (const milliseconds timeout : db.validation_timeouts()) {
    asked += " " + std::to_string(timeout.count()) + " ms";
  }
  EXPECT_LE(took, 1600ms)
      << "acquire(1500 ms) took " << took.count() << " ms of the pool's clock; validate() was "
      << "called with" << asked
      << ".\nThe deadline bounds everything acquire() does, validation included (HikariCP's "
         "connectionTimeout): pass validate() the smaller of validation_timeout and what is "
         "left of the deadline, and stop when the deadline has passed.";
  EXPECT_EQ(caller.timeout_reason(), TimeoutReason::validation_failing)
      << caller.outcome()
      << "\nThe deadline came while a validation got no answer: validation_failing (api.hpp)";
}

TEST(Health, AValidationThatHangsDoesNotHoldUpAnotherAcquire) {
  FakeDatabase db;
  PoolOptions o = options(2);  // the real clock: the pool's own thread must really run
  o.validation_timeout = 1h;   // the hung validation lasts until the test ends it
  {
    Pool<FakeConnection> pool(db, o);
    pool.acquire().release();  // one connection, used: validated before it is lent again
    db.hang_validations(true);
    Call<int> validating([&] { return pool.acquire()->id; });
    ASSERT_TRUE(eventually([&] { return db.validations() == 1; }))
        << "the used connection was never validated";
    // Room for a second connection: the pool makes one, and this caller must get it while the
    // first caller's validation still hangs.
    Call<int> other([&] { return pool.acquire()->id; });
    const bool served = other.finished(3000ms);
    db.hang_validations(false);  // that validation fails now; the first caller goes on
    EXPECT_TRUE(served && other.outcome() == "returned")
        << "acquire() did not return while another thread's validation hung ("
        << (served ? other.outcome() : "still waiting after 3 s")
        << ").\nValidate with the pool's lock released: a database that does not answer one "
           "validation must not stop every other thread from taking or making a connection.";
    EXPECT_TRUE(validating.finished(5000ms)) << "the first caller never got a connection";
  }
}

TEST(Health, AUsedConnectionIsValidatedBeforeItIsLentWithTheValidationTimeout) {
  FakeDatabase db;
  PoolOptions o = options(1);
  o.validation_timeout = 1234ms;
  Pool<FakeConnection> pool(db, o);
  pool.acquire().release();
  EXPECT_EQ(db.validations(), 0) << "a connection just created needs no validation";
  pool.acquire().release();
  pool.acquire().release();
  EXPECT_EQ(db.validations(), 2) << "each lending of a used connection validates it first";
  for (const auto timeout : db.validation_timeouts()) EXPECT_EQ(timeout, 1234ms);
}

TEST(Health, AConnectionGivenBackRecentlySkipsValidation) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.alive_bypass = 500ms;
  Pool<FakeConnection> pool(db, o);
  pool.acquire().release();
  clock.advance(499ms);
  pool.acquire().release();
  EXPECT_EQ(db.validations(), 0) << "given back 499 ms ago, within alive_bypass (500 ms): no "
                                    "validation";
  clock.advance(500ms);
  pool.acquire().release();
  EXPECT_EQ(db.validations(), 1) << "given back 500 ms ago: validated";
}

TEST(Health, AliveBypassCountsFromTheReturnNotFromTheCreation) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.alive_bypass = 500ms;
  Pool<FakeConnection> pool(db, o);
  {
    auto lease = pool.acquire();  // created, and lent, at 0 ms
    clock.advance(1000ms);
  }  // given back at 1000 ms
  clock.advance(100ms);
  pool.acquire().release();  // 1100 ms: 100 ms after its return, 1100 ms after its creation
  EXPECT_EQ(db.validations(), 0)
      << "the connection was given back 100 ms before it was lent again, within alive_bypass "
         "(500 ms), yet it was validated: alive_bypass counts from the moment the connection "
         "came back, not from its creation or from when it was lent";
  clock.advance(500ms);
  pool.acquire().release();  // 500 ms after its last return
  EXPECT_EQ(db.validations(), 1) << "given back 500 ms ago: validated";
}

TEST(Health, AValidationSlowerThanItsTimeoutCountsAsAFailure) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.validation_timeout = 100ms;
  Pool<FakeConnection> pool(db, o);
  int first = 0;
  {
    auto lease = pool.acquire();
    first = lease->id;
  }
  db.set_validation_cost(clock, 150ms);  // answers "fine", but after 150 ms
  auto lease = pool.acquire();
  EXPECT_NE(lease->id, first) << "validate() answered after 150 ms, past validation_timeout "
                                 "(100 ms): the connection must be treated as broken";
  EXPECT_EQ(pool.stats().validation_failures, 1U);
}

TEST(Health, AValidationAnsweredExactlyAtItsTimeoutSucceeds) {
  // The bound's edge: "an answer after validation_timeout is a failure", so one that takes
  // exactly validation_timeout is an answer.
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.validation_timeout = 100ms;
  Pool<FakeConnection> pool(db, o);
  int first = 0;
  {
    auto lease = pool.acquire();
    first = lease->id;
  }
  db.set_validation_cost(clock, 100ms);  // answers "fine" after exactly validation_timeout
  auto lease = pool.acquire();
  EXPECT_EQ(lease->id, first) << "validate() answered \"fine\" after exactly validation_timeout "
                                 "(100 ms): that is in time, so the connection is lent; only an "
                                 "answer after the timeout is a failure (compare with <=, not <)";
  EXPECT_EQ(pool.stats().validation_failures, 0U);
}

TEST(Health, MaxLifetimeRetiresAConnectionOnlyWhenItIsReturned) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.max_lifetime = 30min;
  Pool<FakeConnection> pool(db, o);
  auto lease = pool.acquire();
  const int old = lease->id;
  clock.advance(31min);
  pool.housekeep();
  EXPECT_TRUE(db.is_open(old)) << "connection " << old
                               << " passed max_lifetime while in use: it must not be closed "
                                  "under its user";
  lease.release();
  EXPECT_FALSE(db.is_open(old)) << "past max_lifetime, it is closed when it comes back";
  auto fresh = pool.acquire();
  EXPECT_NE(fresh->id, old);
}

TEST(Health, AnIdleConnectionPastMaxLifetimeIsNotLent) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.max_lifetime = 30min;
  Pool<FakeConnection> pool(db, o);
  int old = 0;
  {
    auto lease = pool.acquire();
    old = lease->id;
  }
  clock.advance(30min);
  auto lease = pool.acquire();
  EXPECT_NE(lease->id, old) << "an idle connection that reached max_lifetime must be retired, "
                               "not lent";
  EXPECT_FALSE(db.is_open(old));
  EXPECT_EQ(pool.stats().validation_failures, 0U) << "expiry is not a validation failure";
}

TEST(Health, IdleTimeoutShrinksThePoolDownToMinIdle) {
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(6, &clock);
  o.min_idle = 2;
  o.idle_timeout = 10min;
  Pool<FakeConnection> pool(db, o);
  {
    std::vector<Lease<FakeConnection>> leases;
    for (int i = 0; i < 5; ++i) leases.push_back(pool.acquire());
    // With 5 lent, min_idle has the pool make a sixth.
    ASSERT_TRUE(eventually([&] { return pool.stats().idle == 1 && pool.stats().pending == 0; }));
  }
  ASSERT_EQ(pool.stats().idle, 6U);
  clock.advance(9min);
  pool.housekeep();
  EXPECT_EQ(pool.stats().idle, 6U) << "nobody has been idle for idle_timeout yet";
  clock.advance(1min);
  pool.housekeep();
  EXPECT_EQ(pool.stats().idle, 2U) << "idle_timeout closes idle connections, but only down to "
                                      "min_idle (2)";
  EXPECT_EQ(db.open(), 2U);
  EXPECT_EQ(pool.stats().closed, 4U);
}

// idle_timeout is a duration: it counts from when the connection became idle (its return), not
// from its creation; a value other than the default (3 min); and min_idle 0 lets it close all.
TEST(Health, IdleTimeoutCountsFromTheReturn) {
  using std::chrono::nanoseconds;
  FakeDatabase db;
  FakeClock clock;
  PoolOptions o = options(4, &clock);
  o.min_idle = 0;
  o.idle_timeout = 3min;
  Pool<FakeConnection> pool(db, o);
  {
    auto lease = pool.acquire();  // created now, at t0
    clock.advance(2min);
  }  // given back at t0 + 2 min
  clock.advance(2min);
  pool.housekeep();
  EXPECT_EQ(pool.stats().idle, 1U)
      << "at t0 + 4 min the connection has been idle for 2 min (it came back at t0 + 2 min): "
         "idle_timeout (3 min) counts from the return, not from the creation";
  clock.advance(1min - nanoseconds(1));
  pool.housekeep();
  EXPECT_EQ(pool.stats().idle, 1U) << "1 ns short of 3 min idle: not yet";
  clock.advance(nanoseconds(1));
  pool.housekeep();
  EXPECT_EQ(pool.stats().idle, 0U)
      << "3 min idle at t0 + 5 min, and min_idle is 0: idle_timeout closes it";
  EXPECT_EQ(pool.stats().closed, 1U);
}

TEST(Health, MinIdleIsKeptUpWithoutAnyAcquire) {
  FakeDatabase db;
  PoolOptions o = options(6);
  o.min_idle = 3;
  Pool<FakeConnection> pool(db, o);
  EXPECT_TRUE(eventually([&] { return pool.stats().idle == 3; }))
      << "min_idle is 3: the pool creates them on its own; idle is " << pool.stats().idle;
  auto a = pool.acquire();
  EXPECT_TRUE(eventually([&] { return pool.stats().idle == 3; }))
      << "after a lease, the pool tops the idle ones up to min_idle again";
  EXPECT_EQ(pool.stats().total, 4U);
}

TEST(Health, ALeakIsReportedOnceAfterItsThreshold) {
  FakeDatabase db;
  FakeClock clock;
  std::vector<LeakWarning> warnings;
  std::vector<std::size_t> in_use_seen;
  std::mutex mutex;
  const Pool<FakeConnection>* watched = nullptr;
  PoolOptions o = options(2, &clock);
  o.leak_threshold = 2s;
  o.on_leak = [&](const LeakWarning& w) {
    // on_leak runs outside the pool's lock, so it may ask the pool for its counts (under the
    // lock, this call would deadlock and the test would hit its timeout).
    const std::size_t in_use = watched->stats().in_use;
    const std::scoped_lock lock(mutex);
    warnings.push_back(w);
    in_use_seen.push_back(in_use);
  };
  Pool<FakeConnection> pool(db, o);
  watched = &pool;
  pool.acquire().release();  // lease 1, given back at once
  // The time held counts from the lending, not from the connection's creation: lease 2 takes the
  // same connection 5 s after it was made.
  clock.advance(5s);
  auto held = pool.acquire();  // lease 2
  clock.advance(1999ms);
  pool.housekeep();
  EXPECT_TRUE(warnings.empty())
      << "held 1999 ms of a 2000 ms threshold: no warning yet (the connection is 7 s old, but "
         "leak_threshold counts from the lending)";
  clock.advance(1ms);
  pool.housekeep();
  clock.advance(5s);
  pool.housekeep();
  ASSERT_EQ(warnings.size(), 1U) << "one warning per lease, however long it stays out";
  EXPECT_EQ(warnings[0].lease, 2U) << "leases are numbered from 1 in the order they were given";
  EXPECT_EQ(warnings[0].held, 2000ms);
  EXPECT_EQ(pool.stats().leaks, 1U);
  EXPECT_EQ(in_use_seen, std::vector<std::size_t>{1U});
  EXPECT_TRUE(db.is_open(held->id)) << "a leak warning does not take the connection away";
}

TEST(Health, TheHousekeeperRunsOnItsOwn) {
  FakeDatabase db;
  PoolOptions o = options(4);
  o.idle_timeout = 50ms;
  o.housekeeping_period = 20ms;
  Pool<FakeConnection> pool(db, o);
  {
    std::vector<Lease<FakeConnection>> leases;
    for (int i = 0; i < 3; ++i) leases.push_back(pool.acquire());
  }
  EXPECT_TRUE(eventually([&] { return pool.stats().idle == 0 && db.open() == 0; }))
      << "with housekeeping_period 20 ms the pool's own thread retires the idle connections "
         "after idle_timeout (50 ms), without any call to housekeep()";
}

// ---------------------------------------------------------------- level 4: shutdown

TEST(Shutdown, IdleConnectionsCloseAtOnceAndLentOnesOnReturn) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(3));
  auto lent = pool.acquire();
  const int lent_id = lent->id;
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
  }
  pool.shutdown();
  EXPECT_EQ(db.open(), 1U) << "shutdown closes the idle connections at once";
  EXPECT_TRUE(db.is_open(lent_id)) << "the lent one is closed only when it comes back";
  EXPECT_EQ(lent->id, lent_id) << "and it still works for its user";
  lent.release();
  EXPECT_EQ(db.open(), 0U);
  EXPECT_TRUE(db.double_closes().empty());
}

TEST(Shutdown, WaitersAndLaterAcquiresGetPoolClosed) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  auto held = pool.acquire();
  Call<int> waiter([&] { return pool.acquire()->id; });
  ASSERT_TRUE(waiting_becomes(pool, 1));
  Call<int> closer([&] {
    pool.shutdown();
    return 0;
  });
  ASSERT_TRUE(waiter.finished()) << "shutdown() must wake the waiting acquire()";
  EXPECT_NE(waiter.outcome().find("PoolClosed"), std::string::npos) << waiter.outcome();
  ASSERT_TRUE(closer.finished()) << "shutdown() must not wait for lent connections";
  EXPECT_THROW((void)pool.acquire(), PoolClosed);
  pool.shutdown();  // a second call does nothing
}

TEST(Shutdown, AShutdownStopsACreationInProgress) {
  FakeDatabase db;
  db.hang_creates(true);
  Pool<FakeConnection> pool(db, options(2));
  Call<int> waiter([&] { return pool.acquire()->id; });
  ASSERT_TRUE(eventually([&] { return db.create_calls() == 1; }));
  Call<int> closer([&] {
    pool.shutdown();
    return 0;
  });
  const bool stopped = closer.finished();
  db.hang_creates(false);  // so that the test ends either way
  EXPECT_TRUE(stopped) << "shutdown() did not return while Factory::create hung: create() "
                          "gets a stop token, and shutdown must request the stop before it "
                          "joins the creator";
  ASSERT_TRUE(waiter.finished());
  EXPECT_NE(waiter.outcome().find("PoolClosed"), std::string::npos) << waiter.outcome();
  EXPECT_EQ(db.open(), 0U);
}

}  // namespace
}  // namespace connpool::testing
