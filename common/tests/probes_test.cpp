#include "course/probes.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "course/testing.hpp"
#include "course/time_scale.hpp"

namespace course {
namespace {

using namespace std::chrono_literals;

TEST(OverlapProbe, FormsWhenNThreadsAreInsideAtOnce) {
  OverlapProbe probe(4, 10s);
  std::vector<char> results(4, 0);
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] { results[i] = probe.arrive_and_wait() ? 1 : 0; });
    }
  }
  EXPECT_EQ(results, std::vector<char>(4, 1));
  EXPECT_TRUE(probe_formed(probe));
  EXPECT_EQ(probe.peak(), 4u);
  EXPECT_EQ(probe.max_inside(), 4u);
  EXPECT_EQ(probe.current(), 0u);
  EXPECT_TRUE(probe.arrive_and_wait()) << "a formed probe stays formed";
}

TEST(OverlapProbe, SequentialCallerFailsAfterOneTimeoutNotN) {
  const auto timeout = 200ms;
  OverlapProbe probe(3, timeout);
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(probe.arrive_and_wait());
  EXPECT_FALSE(probe.arrive_and_wait());
  EXPECT_FALSE(probe.arrive_and_wait());
  const auto elapsed = std::chrono::steady_clock::now() - before;
  EXPECT_GE(elapsed, scaled(timeout));
  EXPECT_LT(elapsed, 2 * scaled(timeout) + scaled(500ms));
  EXPECT_TRUE(probe.broken());
  EXPECT_FALSE(probe.formed());
  EXPECT_EQ(probe.peak(), 1u);
  const auto verdict = probe_formed(probe);
  EXPECT_FALSE(verdict);
  EXPECT_NE(std::string(verdict.message()).find("one at a time"), std::string::npos)
      << verdict.message();
}

TEST(OverlapProbe, TooFewThreadsTogetherAreReported) {
  OverlapProbe probe(3, 100ms);
  std::latch both_inside(2);
  std::vector<char> results(2, 1);
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        OverlapProbe::Inside inside = probe.enter();
        both_inside.arrive_and_wait();
        results[i] = inside.wait() ? 1 : 0;
      });
    }
  }
  EXPECT_EQ(results, std::vector<char>(2, 0));
  EXPECT_EQ(probe.peak(), 2u);
  EXPECT_NE(probe.describe().find("at most 2 were inside together"), std::string::npos)
      << probe.describe();
}

TEST(OverlapProbe, GuardsCountOccupants) {
  OverlapProbe probe(3, 1s);
  {
    auto first = probe.enter();
    auto second = probe.enter();
    EXPECT_EQ(probe.current(), 2u);
    EXPECT_FALSE(probe.formed());
    {
      auto third = probe.enter();
      EXPECT_TRUE(probe.formed());
      EXPECT_TRUE(third.wait());
    }
    EXPECT_EQ(probe.current(), 2u);
  }
  EXPECT_EQ(probe.current(), 0u);
  EXPECT_EQ(probe.peak(), 3u);
}

TEST(PeakCounter, CountsThreadsInsideTogether) {
  PeakCounter counter;
  std::latch all_inside(8);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        auto guard = counter.enter();
        all_inside.arrive_and_wait();
      });
    }
  }
  EXPECT_EQ(counter.peak(), 8u);
  EXPECT_EQ(counter.current(), 0u);
}

TEST(PeakCounter, SequentialEntriesPeakAtOne) {
  PeakCounter counter;
  for (int i = 0; i < 5; ++i) {
    auto guard = counter.enter();
    EXPECT_EQ(counter.current(), 1u);
  }
  EXPECT_EQ(counter.peak(), 1u);
  {
    auto a = counter.enter();
    auto b = std::move(a);
    EXPECT_EQ(counter.current(), 1u) << "moving a guard must not count twice";
  }
  EXPECT_EQ(counter.current(), 0u);
  counter.reset_peak();
  EXPECT_EQ(counter.peak(), 0u);
}

}  // namespace
}  // namespace course
