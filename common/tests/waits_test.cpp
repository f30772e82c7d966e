// course::eventually, settled, Gate, TimeBudget and Background: each wait ends, and each says
// what it saw.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "course/background.hpp"
#include "course/waits.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Eventually, IsTrueOnceTheConditionHoldsAndFalseAfterItsLimit) {
  std::atomic<bool> flag{false};
  std::jthread setter([&] { flag = true; });
  EXPECT_TRUE(course::eventually([&] { return flag.load(); }));

  const auto start = Clock::now();
  EXPECT_FALSE(course::eventually([] { return false; }, 30ms));
  EXPECT_GE(Clock::now() - start, 30ms);
}

TEST(Settled, ReturnsTheLastValueOnceItStopsChanging) {
  std::atomic<std::uint64_t> counter{0};
  std::jthread producer([&] {
    for (int i = 0; i < 20; ++i) {
      ++counter;
      std::this_thread::sleep_for(1ms);
    }
  });
  producer.join();
  EXPECT_EQ(course::settled([&] { return counter.load(); }, 20ms), 20U);
}

TEST(Gate, HoldsWaitersUntilOpenedAndEachWaitEndsAtItsTimeout) {
  course::Gate gate;
  EXPECT_FALSE(gate.wait(10ms)) << "a closed gate lets a waiter go only at its timeout";
  EXPECT_EQ(gate.waiting(), 0U);

  std::atomic<int> passed{0};
  {
    std::jthread first([&] { passed += gate.wait(10s) ? 1 : 0; });
    std::jthread second([&] { passed += gate.wait(10s) ? 1 : 0; });
    ASSERT_TRUE(gate.wait_until_waiting(2, 10s));
    EXPECT_EQ(passed.load(), 0);
    gate.open();
  }
  EXPECT_EQ(passed.load(), 2);
  EXPECT_TRUE(gate.wait(0ms)) << "an open gate lets callers through";

  gate.close();
  EXPECT_FALSE(gate.wait(10ms)) << "close() holds the next callers again";
}

TEST(TimeBudget, RunsAtLeastItsMinimumRoundsThenStopsWhenTheTimeIsSpent) {
  course::TimeBudget none(0ms, 3);
  while (none.more()) {
  }
  EXPECT_EQ(none.rounds(), 3);

  const auto start = Clock::now();
  course::TimeBudget budget(20ms, 1);
  while (budget.more()) std::this_thread::sleep_for(1ms);
  EXPECT_GE(Clock::now() - start, 20ms);
  EXPECT_GT(budget.rounds(), 1);
}

TEST(Background, GivesWhatTheCallReturnedAndHowLongItRan) {
  course::Background<int> call([] {
    std::this_thread::sleep_for(5ms);
    return 42;
  });
  ASSERT_TRUE(call.finished_within(10s));
  EXPECT_EQ(call.error(), "");
  EXPECT_GE(call.wall(), 5ms);
  EXPECT_EQ(call.get(), 42);
}

TEST(Background, KeepsWhatTheCallThrewAsTextAndThrowsItAgainInTheTest) {
  course::Background<int> call([]() -> int { throw std::logic_error("not implemented yet"); });
  ASSERT_TRUE(call.finished_within(10s));
  EXPECT_EQ(call.error(), "std::logic_error: not implemented yet");
  EXPECT_THROW(call.get(), std::logic_error) << "get() throws what the call threw";

  course::Background<void> thrower([] { throw 7; });
  ASSERT_TRUE(thrower.finished_within(10s));
  EXPECT_EQ(thrower.error(), "an exception that is not a std::exception");
}

TEST(Background, ReportsACallThatHasNotReturnedAndStopsItThroughItsToken) {
  std::atomic<bool> saw_stop{false};
  {
    course::Background<void> waiter([&](const std::stop_token& stop) {
      while (!stop.stop_requested()) std::this_thread::sleep_for(1ms);
      saw_stop = true;
    });
    EXPECT_FALSE(waiter.finished_within(20ms));
  }  // the destructor requests the stop, then joins
  EXPECT_TRUE(saw_stop.load());
}

TEST(Background, ACallThatNeverReturnsDoesNotHangTheTest) {
  // The call waits on a promise nobody keeps (a deadlock): it shares it, so that the parked
  // thread never touches what the test destroys.
  auto never = std::make_shared<std::promise<void>>();
  auto entered = std::make_shared<std::latch>(1);
  const auto start = Clock::now();
  {
    course::Background<void> stuck(
        [never, entered] {
          entered->count_down();
          never->get_future().wait();
        },
        50ms);
    entered->wait();
    EXPECT_FALSE(stuck.finished_within(10ms));
  }
  EXPECT_LT(Clock::now() - start, 60s) << "the destructor must give up on the call";
}

}  // namespace
