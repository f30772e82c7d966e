#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "course/fake_clock.hpp"
#include "course/time_scale.hpp"

namespace course {
namespace {

using namespace std::chrono_literals;

TEST(TimeScale, ParsesPositiveNumbersAndFallsBackToTheDefault) {
  const double fallback = detail::default_time_scale();
  EXPECT_GE(fallback, 1.0);
  EXPECT_EQ(detail::parse_time_scale(nullptr), fallback);
  EXPECT_EQ(detail::parse_time_scale(""), fallback);
  EXPECT_EQ(detail::parse_time_scale("3"), 3.0);
  EXPECT_EQ(detail::parse_time_scale("0.5"), 0.5);
  EXPECT_EQ(detail::parse_time_scale("0"), fallback);
  EXPECT_EQ(detail::parse_time_scale("-2"), fallback);
  EXPECT_EQ(detail::parse_time_scale("fast"), fallback);
  EXPECT_EQ(detail::parse_time_scale("2x"), fallback);
  EXPECT_EQ(detail::parse_time_scale("inf"), fallback);
  EXPECT_EQ(detail::parse_time_scale("nan"), fallback);
  EXPECT_EQ(detail::parse_time_scale("1000"), 1000.0);
  EXPECT_EQ(detail::parse_time_scale("1001"), fallback) << "the grader's cap is the kit's";
}

TEST(TimeScale, ScaledMultipliesAndKeepsTheDurationType) {
  const std::chrono::milliseconds stretched = scaled(200ms);
  EXPECT_EQ(stretched, std::chrono::round<std::chrono::milliseconds>(200ms * time_scale()));
  EXPECT_GT(time_scale(), 0.0);
  EXPECT_EQ(scaled(std::chrono::milliseconds::max()), std::chrono::milliseconds::max())
      << "must saturate, not overflow, when time_scale() >= 1";
  const std::chrono::duration<double> fractional = scaled(std::chrono::duration<double>(0.5));
  EXPECT_DOUBLE_EQ(fractional.count(), 0.5 * time_scale());
}

TEST(FakeClock, MovesOnlyWhenTold) {
  FakeClock clock;
  const auto start = clock.now();
  EXPECT_EQ(start, FakeClock::kDefaultStart);
  EXPECT_EQ(clock.now(), start);
  clock.advance(1500ms);
  EXPECT_EQ(clock.now() - start, 1500ms);
  clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(clock.now() - start, 3500ms);
  clock.set(start + 1h);
  EXPECT_EQ(clock.now() - start, 1h);
}

TEST(FakeClock, WorksThroughTheClockInterface) {
  FakeClock fake(Clock::time_point{} + 5s);
  const Clock& clock = fake;
  EXPECT_EQ(clock.now().time_since_epoch(), 5s);
  const Clock& real = real_clock();
  const auto before = std::chrono::steady_clock::now();
  EXPECT_GE(real.now(), before);
}

TEST(FakeClock, ReadersOnOtherThreadsSeeTimeOnlyMoveForward) {
  FakeClock clock;
  {
    std::jthread reader([&](const std::stop_token& stop) {
      auto last = clock.now();
      while (!stop.stop_requested()) {
        const auto now = clock.now();
        EXPECT_GE(now, last);
        last = now;
      }
    });
    for (int i = 0; i < 10000; ++i) clock.advance(1ms);
  }
  EXPECT_EQ(clock.now() - FakeClock::kDefaultStart, 10s);
}

TEST(FakeSleeper, RecordsDelaysWithoutSleeping) {
  FakeSleeper fake;
  const Sleeper sleep = fake.sleeper();
  const auto before = std::chrono::steady_clock::now();
  sleep(100ms);
  sleep(200ms);
  sleep(1h);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  EXPECT_EQ(fake.delays(), (std::vector<std::chrono::milliseconds>{100ms, 200ms, 1h}));
  EXPECT_EQ(fake.count(), 3u);
  EXPECT_EQ(fake.total(), 1h + 300ms);
  fake.clear();
  EXPECT_EQ(fake.count(), 0u);
}

TEST(FakeSleeper, AdvancesAFakeClockBySleptTime) {
  FakeClock clock;
  FakeSleeper fake(clock);
  fake.sleeper()(250ms);
  fake.sleep(750ms);
  EXPECT_EQ(clock.now() - FakeClock::kDefaultStart, 1s);
}

TEST(FakeSleeper, IsThreadSafe) {
  FakeClock clock;
  FakeSleeper fake(clock);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([sleep = fake.sleeper()] {
        for (int j = 0; j < 100; ++j) sleep(1ms);
      });
    }
  }
  EXPECT_EQ(fake.count(), 400u);
  EXPECT_EQ(fake.total(), 400ms);
  EXPECT_EQ(clock.now() - FakeClock::kDefaultStart, 400ms);
}

// The code under test waits the usual way: loop on its condition and the clock's deadline.
bool wait_for_flag_or_deadline(const Clock& clock, std::mutex& mutex,
                               std::condition_variable_any& cv, const bool& flag,
                               Clock::time_point deadline) {
  std::unique_lock lock(mutex);
  while (!flag && clock.now() < deadline) clock.wait_until(cv, lock, deadline);
  return flag;
}

TEST(SteadyClock, WaitUntilReturnsAtTheDeadline) {
  const SteadyClock clock;
  std::mutex mutex;
  std::condition_variable_any cv;
  const bool flag = false;
  const auto start = clock.now();
  EXPECT_FALSE(wait_for_flag_or_deadline(clock, mutex, cv, flag, start + 20ms));
  EXPECT_GE(clock.now() - start, 20ms);
}

TEST(SteadyClock, CoarseNowIsNeverAheadAndOnlyATickBehind) {
  const SteadyClock clock;
  for (int i = 0; i < 1000; ++i) {
    const auto before = clock.now();
    const auto coarse = clock.coarse_now();
    const auto after = clock.now();
    ASSERT_LE(coarse, after) << "coarse_now() ran ahead of now()";
    // A kernel tick is 1 to 10 ms; 50 ms leaves room for a descheduled thread.
    ASSERT_GE(coarse, before - 50ms) << "coarse_now() lagged by more than a tick";
  }
}

TEST(FakeClock, CoarseNowIsExact) {
  FakeClock clock;
  clock.advance(1234us);
  const Clock& as_clock = clock;
  EXPECT_EQ(as_clock.coarse_now(), clock.now());
}

TEST(FakeClock, AWaitEndsWhenTheClockReachesItsDeadlineAndNotBefore) {
  FakeClock clock;
  std::mutex mutex;
  std::condition_variable_any cv;
  const bool flag = false;
  std::atomic<bool> returned{false};
  const auto deadline = clock.now() + 1h;
  std::jthread waiter([&] {
    wait_for_flag_or_deadline(clock, mutex, cv, flag, deadline);
    returned = true;
  });
  while (clock.waiting() == 0) std::this_thread::sleep_for(1ms);
  clock.advance(1h - 1ns);
  std::this_thread::sleep_for(3 * FakeClock::kRealTimeCap);
  EXPECT_FALSE(returned) << "one nanosecond before its deadline the wait must go on";
  clock.advance(1ns);
  waiter.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(clock.waiting(), 0U);
}

TEST(FakeClock, ANotifyStillEndsAWait) {
  FakeClock clock;
  std::mutex mutex;
  std::condition_variable_any cv;
  bool flag = false;
  std::jthread waiter(
      [&] { EXPECT_TRUE(wait_for_flag_or_deadline(clock, mutex, cv, flag, clock.now() + 1h)); });
  while (clock.waiting() == 0) std::this_thread::sleep_for(1ms);
  {
    const std::scoped_lock lock(mutex);
    flag = true;
  }
  cv.notify_all();
  waiter.join();
  // One notify, one wake-up counted (a spurious wake-up of the OS could add one).
  EXPECT_GE(clock.notified_wakeups(), 1U);
  EXPECT_LE(clock.notified_wakeups(), 2U);
}

TEST(FakeClock, MovingTheClockIsNotCountedAsANotifiedWakeUp) {
  FakeClock clock;
  std::mutex mutex;
  std::condition_variable_any cv;
  const bool flag = false;
  std::jthread waiter([&] { wait_for_flag_or_deadline(clock, mutex, cv, flag, clock.now() + 1s); });
  while (clock.waiting() == 0) std::this_thread::sleep_for(1ms);
  clock.advance(1s);
  waiter.join();
  EXPECT_EQ(clock.notified_wakeups(), 0U);
}

TEST(FakeClock, AHoldKeepsAWokenWaiterWithItsLockReleasedUntilItEnds) {
  FakeClock clock;
  std::mutex mutex;
  std::condition_variable_any cv;
  bool flag = false;
  std::atomic<bool> returned{false};
  auto hold = clock.hold_wakeups();
  std::jthread waiter([&] {
    EXPECT_TRUE(wait_for_flag_or_deadline(clock, mutex, cv, flag, clock.now() + 1h));
    returned = true;
  });
  // Held already if its wait reached the real-time cap before this thread looked.
  while (clock.waiting() == 0 && clock.held() == 0) std::this_thread::sleep_for(1ms);
  {
    const std::scoped_lock lock(mutex);
    flag = true;
  }
  cv.notify_all();
  while (clock.held() == 0) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(clock.waiting(), 0U) << "a held thread is not counted as waiting";
  std::this_thread::sleep_for(3 * FakeClock::kRealTimeCap);
  EXPECT_FALSE(returned) << "a hold keeps a woken wait_until() from returning";
  {
    std::unique_lock lock(mutex, std::try_to_lock);
    EXPECT_TRUE(lock.owns_lock()) << "a held thread must not keep the caller's lock";
  }
  hold.end();
  waiter.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(clock.held(), 0U);
}

TEST(RealSleeper, Sleeps) {
  const auto before = std::chrono::steady_clock::now();
  real_sleeper()(20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 20ms);
}

}  // namespace
}  // namespace course
