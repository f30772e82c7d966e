// Level 5: the pool for coroutines, on one Asio event loop.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "async_pool.hpp"
#include "course/fake_clock.hpp"
#include "course/time_scale.hpp"
#include "pool.hpp"
#include "test_support.hpp"

namespace connpool::testing {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

// Runs the event loop on this thread until its work is done, or fails the test after `limit`:
// a coroutine that never ends (a lost hand-off) must not hang the test.
void run_loop(asio::io_context& io, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + course::scaled(limit);
  while (!io.stopped() && std::chrono::steady_clock::now() < end) {
    io.run_for(10ms);
  }
  if (!io.stopped()) {
    ADD_FAILURE() << "the coroutines did not finish within " << limit.count()
                  << " ms: a coroutine is still waiting for a connection nobody hands it";
    io.stop();
  }
}

asio::awaitable<void> pause_on_loop(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// Records how a coroutine ended, on the loop's thread. The lambdas that make the coroutines are
// named variables of the test: a coroutine lambda's captures live in the lambda object, which
// must outlive the coroutine.
void spawn(asio::io_context& io, asio::awaitable<void> body, std::string& failure) {
  asio::co_spawn(io, std::move(body), [&failure](const std::exception_ptr& error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      failure += std::string(e.what()) + "\n";
    }
  });
}

TEST(AsyncPool, ManyCoroutinesShareAFewConnections) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(2));
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  int holding = 0;
  int peak = 0;
  int served = 0;
  std::string failures;
  auto query = [&]() -> asio::awaitable<void> {
    auto lease = co_await async_pool.async_acquire();
    peak = std::max(peak, ++holding);
    co_await pause_on_loop(2ms);  // the query: other coroutines run meanwhile
    --holding;
    ++served;
  };
  for (int i = 0; i < 20; ++i) spawn(io, query(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_EQ(served, 20) << "every coroutine must get a connection in turn";
  EXPECT_EQ(peak, 2) << peak << " coroutines held a connection at once; max_size is 2";
  EXPECT_LE(db.peak_open(), 2U);
}

TEST(AsyncPool, AWaitingCoroutineDoesNotBlockTheLoop) {
  FakeDatabase db;
  PoolOptions o = options(1);
  o.connection_timeout = 3s;
  Pool<FakeConnection> pool(db, o);
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  std::string failures;
  std::optional<Lease<FakeConnection>> held;
  int ticks_while_waiting = 0;
  bool got_it = false;
  held.emplace(pool.acquire());
  auto waiter = [&]() -> asio::awaitable<void> {
    auto lease = co_await async_pool.async_acquire();
    got_it = true;
  };
  spawn(io, waiter(), failures);
  auto ticker = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      co_await pause_on_loop(1ms);
      if (!got_it) ++ticks_while_waiting;
    }
    held.reset();  // gives the connection back, from the loop
  };
  spawn(io, ticker(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_EQ(ticks_while_waiting, 5)
      << "while one coroutine waited for a connection, another ran only " << ticks_while_waiting
      << " of its 5 steps: async_acquire() blocked the event loop's thread (a blocking wait, "
         "like time.sleep in an async def). Queue a callback instead, and let the release call it";
  EXPECT_TRUE(got_it);
}

TEST(AsyncPool, ATimedOutCoroutineGetsPoolTimeout) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  auto held = pool.acquire();
  std::string failures;
  std::string outcome = "returned";
  std::optional<TimeoutReason> reason;
  auto waiter = [&]() -> asio::awaitable<void> {
    try {
      auto lease = co_await async_pool.async_acquire(100ms);
    } catch (const PoolTimeout& e) {
      outcome = e.what();
      reason = e.reason();
    }
  };
  spawn(io, waiter(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_EQ(reason, TimeoutReason::exhausted) << outcome;
  EXPECT_EQ(pool.stats().timeouts, 1U);
  EXPECT_EQ(pool.stats().waiting, 0U) << "a coroutine that timed out must leave the queue";
  held.release();
  EXPECT_EQ(pool.stats().idle, 1U) << "the connection given back must not go to the coroutine "
                                      "that gave up";
}

TEST(AsyncPool, ACancelledWaiterNeverTakesAConnection) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  std::optional<Lease<FakeConnection>> held;
  held.emplace(pool.acquire());
  std::string failures;
  bool impatient_gave_up = false;
  bool gave_up_while_held = false;
  bool patient_served = false;
  auto impatient = [&]() -> asio::awaitable<void> {
    // Waits for a connection or 50 ms, whichever comes first: `||` cancels the loser.
    auto first = co_await (async_pool.async_acquire(10s) || pause_on_loop(50ms));
    impatient_gave_up = first.index() == 1;
    gave_up_while_held = held.has_value();
  };
  spawn(io, impatient(), failures);
  auto patient = [&]() -> asio::awaitable<void> {
    co_await pause_on_loop(10ms);  // queued after the impatient one
    auto lease = co_await async_pool.async_acquire(10s);
    patient_served = true;
  };
  spawn(io, patient(), failures);
  auto releaser = [&]() -> asio::awaitable<void> {
    co_await pause_on_loop(200ms);
    held.reset();
  };
  spawn(io, releaser(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_TRUE(impatient_gave_up);
  EXPECT_TRUE(gave_up_while_held)
      << "the cancelled wait ended only when a connection came back: the cancellation was "
         "ignored. Install a cancellation handler (asio::get_associated_cancellation_slot) "
         "that takes the waiter out of the queue and completes it at once";
  EXPECT_TRUE(patient_served);
  EXPECT_EQ(pool.stats().acquire_wait.count, 2U)
      << "two leases were expected (the held one and the patient coroutine's): a cancelled "
         "waiter that stays in the queue takes the next connection, which then goes back "
         "unused";
}

TEST(AsyncPool, ABrokenConnectionIsNotLentToACoroutine) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  AsyncPool<FakeConnection> async_pool(pool);
  int broken = 0;
  {
    auto lease = pool.acquire();
    broken = lease->id;
  }
  db.break_connection(broken);
  asio::io_context io;
  std::string failures;
  int got = 0;
  auto waiter = [&]() -> asio::awaitable<void> {
    auto lease = co_await async_pool.async_acquire();
    got = lease->id;
  };
  spawn(io, waiter(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_NE(got, broken) << "the idle connection was broken: it must be validated and replaced";
  EXPECT_NE(got, 0);
  EXPECT_EQ(pool.stats().validation_failures, 1U);
}

// Validation before a coroutine gets a connection follows Pool::acquire's rule: a fresh one is
// not validated, one given back within alive_bypass is not, and the window counts from the return.
TEST(AsyncPool, ValidationFollowsTheAliveBypassFromTheReturn) {
  FakeDatabase db;
  course::FakeClock clock;
  PoolOptions o = options(1, &clock);
  o.alive_bypass = 500ms;
  Pool<FakeConnection> pool(db, o);
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  std::string failures;
  std::vector<int> validations;  // after each acquire
  auto user = [&]() -> asio::awaitable<void> {
    {
      auto lease = co_await async_pool.async_acquire();  // created, and lent, at 0 ms
      validations.push_back(db.validations());
      clock.advance(1000ms);
    }  // given back at 1000 ms
    clock.advance(100ms);
    {
      auto lease = co_await async_pool.async_acquire();  // 100 ms after its return
      validations.push_back(db.validations());
    }  // given back at 1100 ms
    clock.advance(500ms);
    auto lease = co_await async_pool.async_acquire();  // 500 ms after its return
    validations.push_back(db.validations());
  };
  spawn(io, user(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_EQ(validations, (std::vector<int>{0, 0, 1}))
      << "validations counted after each of three acquisitions by a coroutine: a fresh "
         "connection (no validation), one given back 100 ms before (within alive_bypass, "
         "500 ms: none), one given back 500 ms before (validated). A coroutine's connection is "
         "checked by the same rule as a thread's (Pool::acquire): each needless validation is a "
         "round trip to the database";
}

TEST(AsyncPool, AnIdleConnectionPastMaxLifetimeIsNotLentToACoroutine) {
  FakeDatabase db;
  course::FakeClock clock;
  PoolOptions o = options(2, &clock);
  o.max_lifetime = 30min;
  Pool<FakeConnection> pool(db, o);
  AsyncPool<FakeConnection> async_pool(pool);
  int old = 0;
  {
    auto lease = pool.acquire();
    old = lease->id;
  }
  clock.advance(30min);
  asio::io_context io;
  std::string failures;
  int got = 0;
  auto user = [&]() -> asio::awaitable<void> {
    auto lease = co_await async_pool.async_acquire();
    got = lease->id;
  };
  spawn(io, user(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_NE(got, old) << "connection " << old
                      << " reached max_lifetime while idle: it must be retired, not lent to a "
                         "coroutine (check it before the coroutine gets it, as Pool::acquire does)";
  EXPECT_NE(got, 0);
  EXPECT_FALSE(db.is_open(old));
  EXPECT_EQ(pool.stats().validation_failures, 0U) << "expiry is not a validation failure";
}

TEST(AsyncPool, AConnectionWhoseUseFailedIsClosedWhenTheCoroutineGivesItBack) {
  FakeDatabase db;
  PoolOptions o = options(2);
  o.alive_bypass = 1h;  // given back a moment ago: no validation would catch it
  Pool<FakeConnection> pool(db, o);
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  std::string failures;
  int lost = 0;
  int next = 0;
  auto user = [&]() -> asio::awaitable<void> {
    {
      auto lease = co_await async_pool.async_acquire();
      lost = lease->id;
      db.lose_connection(lost);  // its use failed: the server ended the session
    }
    auto lease = co_await async_pool.async_acquire();
    next = lease->id;
  };
  spawn(io, user(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_NE(next, lost) << "connection " << lost
                        << " came back broken (Factory::is_broken): it must be closed, never "
                           "lent to the next coroutine";
  EXPECT_FALSE(db.is_open(lost));
  EXPECT_EQ(pool.stats().broken, 1U);
}

TEST(AsyncPool, TheDeadlineBoundsValidation) {
  FakeDatabase db;
  PoolOptions o = options(2);
  o.validation_timeout = 1h;
  Pool<FakeConnection> pool(db, o);
  AsyncPool<FakeConnection> async_pool(pool);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
  }  // two idle connections, used before: each is validated before it is lent again
  db.hang_validations(true);  // the server froze: a validation takes its whole timeout
  db.hang_creates(true);
  asio::io_context io;
  std::string failures;
  std::string outcome = "returned";
  std::optional<TimeoutReason> reason;
  auto waiter = [&]() -> asio::awaitable<void> {
    try {
      auto lease = co_await async_pool.async_acquire(200ms);
    } catch (const PoolTimeout& e) {
      outcome = e.what();
      reason = e.reason();
    }
  };
  spawn(io, waiter(), failures);
  const auto start = std::chrono::steady_clock::now();
  run_loop(io);
  const auto took = std::chrono::steady_clock::now() - start;
  db.hang_validations(false);
  db.hang_creates(false);
  EXPECT_EQ(failures, "");
  std::string asked;
  for (const milliseconds timeout : db.validation_timeouts()) {
    asked += " " + std::to_string(timeout.count()) + " ms";
  }
  ASSERT_FALSE(db.validation_timeouts().empty());
  EXPECT_LE(db.validation_timeouts().front(), 200ms)
      << "validate() was called with" << asked
      << ": async_acquire(200 ms) must pass it what is left of its deadline at most";
  EXPECT_LT(took, course::scaled(5s))
      << "async_acquire(200 ms) took " << std::chrono::duration<double>(took).count() << " s";
  EXPECT_EQ(reason, TimeoutReason::validation_failing) << outcome;
}

TEST(AsyncPool, ShutdownEndsAWaitingCoroutineWithPoolClosed) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  AsyncPool<FakeConnection> async_pool(pool);
  asio::io_context io;
  std::optional<Lease<FakeConnection>> held;
  held.emplace(pool.acquire());
  std::string failures;
  std::string outcome = "returned";
  auto waiter = [&]() -> asio::awaitable<void> {
    try {
      auto lease = co_await async_pool.async_acquire(10s);
    } catch (const PoolClosed& e) {
      outcome = std::string("PoolClosed: ") + e.what();
    }
  };
  spawn(io, waiter(), failures);
  auto closer = [&]() -> asio::awaitable<void> {
    co_await pause_on_loop(20ms);
    pool.shutdown();
    held.reset();
  };
  spawn(io, closer(), failures);
  run_loop(io);
  EXPECT_EQ(failures, "");
  EXPECT_NE(outcome.find("PoolClosed"), std::string::npos) << outcome;
}

TEST(AsyncPool, CoroutinesAndThreadsWaitInOneFirstComeFirstServedQueue) {
  asio::io_context io;  // first: it outlives the pool, whose waiters post to it
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(1));
  AsyncPool<FakeConnection> async_pool(pool);
  std::mutex mutex;
  std::vector<std::string> served;  // who got the connection, in turn
  const auto serve = [&](const std::string& who) {
    const std::scoped_lock lock(mutex);
    served.push_back(who);
  };
  const auto served_so_far = [&] {
    const std::scoped_lock lock(mutex);
    return served.size();
  };
  std::string failures;  // written on the loop's thread, read once it is joined
  auto coroutine = [&](std::string who) -> asio::awaitable<void> {
    auto lease = co_await async_pool.async_acquire();
    serve(who);
  };
  std::optional<Lease<FakeConnection>> held;
  held.emplace(pool.acquire());
  bool queued = false;
  bool all_served = false;
  {
    auto work = asio::make_work_guard(io);
    std::jthread loop([&io] { io.run(); });
    spawn(io, coroutine("coroutine 1"), failures);
    queued = waiting_becomes(pool, 1);
    Call<int> thread([&] {
      auto lease = pool.acquire();
      serve("thread");
      return 0;
    });
    queued = queued && waiting_becomes(pool, 2);
    asio::post(io, [&] { spawn(io, coroutine("coroutine 2"), failures); });
    queued = queued && waiting_becomes(pool, 3);
    held.reset();
    all_served = queued && eventually([&] { return served_so_far() == 3; });
    pool.shutdown();  // ends any wait left, so that the loop and the thread end
    work.reset();
    // A pool that never completes a coroutine's wait would keep the loop running forever:
    // stop it, so that the test ends with its message instead of at its timeout.
    if (!all_served) io.stop();
  }
  ASSERT_TRUE(queued) << "expected 3 waiters (coroutine 1, a thread, coroutine 2), one after "
                         "the other, while the only connection was held; got "
                      << pool.stats().waiting;
  ASSERT_TRUE(all_served) << "after the release, only " << served.size()
                          << " of the 3 waiters got the connection in turn";
  EXPECT_EQ(failures, "");
  EXPECT_EQ(served, (std::vector<std::string>{"coroutine 1", "thread", "coroutine 2"}))
      << "coroutines and threads wait in one queue, served first come, first served: they "
         "asked in the order coroutine 1, thread, coroutine 2. A coroutine's waiter goes at the "
         "back of the same std::list as a thread's, and a release serves the front";
}

TEST(AsyncPool, ThreadsAndCoroutinesShareOnePool) {
  FakeDatabase db;
  Pool<FakeConnection> pool(db, options(3));
  AsyncPool<FakeConnection> async_pool(pool);
  std::atomic<int> holding{0};
  std::atomic<int> peak{0};
  std::atomic<int> cycles{0};
  auto hold = [&] {
    const int now = ++holding;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    --holding;
    ++cycles;
  };
  asio::io_context io;
  std::string failures;
  auto cycles_of_a_coroutine = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 50; ++i) {
      auto lease = co_await async_pool.async_acquire();
      hold();
    }
  };
  for (int c = 0; c < 8; ++c) spawn(io, cycles_of_a_coroutine(), failures);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        try {
          for (int i = 0; i < 50; ++i) {
            auto lease = pool.acquire();
            hold();
          }
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      });
    }
    run_loop(io, 30s);
  }
  EXPECT_EQ(failures, "");
  EXPECT_EQ(cycles, 12 * 50);
  EXPECT_LE(peak, 3);
  EXPECT_LE(db.peak_open(), 3U);
}

}  // namespace
}  // namespace connpool::testing
