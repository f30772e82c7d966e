// Level 3: a parallel sum that equals the sequential one.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "warmup/warmup.hpp"

namespace warmup {
namespace {

std::vector<std::int64_t> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<std::int64_t> dist(-1'000'000, 1'000'000);
  std::vector<std::int64_t> values(n);
  for (auto& v : values) v = dist(gen);
  return values;
}

std::int64_t sequential_sum(const std::vector<std::int64_t>& values) {
  return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

TEST(ParallelSum, EqualsSequentialSum) {
  for (const std::size_t n : {1UL, 7UL, 100UL, 1001UL, 65'537UL}) {
    const auto values = random_values(n, static_cast<std::uint32_t>(n));
    for (const int threads : {1, 2, 3, 4, 8}) {
      EXPECT_EQ(parallel_sum(values, threads), sequential_sum(values))
          << n << " values on " << threads
          << " threads: every value must be in exactly one chunk. Check the chunk "
             "boundaries, especially the last chunk when n is not a multiple of threads.";
    }
  }
}

TEST(ParallelSum, EmptyInputSumsToZero) {
  const std::vector<std::int64_t> none;
  EXPECT_EQ(parallel_sum(none, 4), 0);
}

TEST(ParallelSum, HandlesMoreThreadsThanValues) {
  const std::vector<std::int64_t> values{5, -3, 11};
  EXPECT_EQ(parallel_sum(values, 8), 13) << "with more threads than values some chunks are empty";
}

TEST(ParallelSum, RejectsZeroThreads) {
  const std::vector<std::int64_t> values{1, 2, 3};
  EXPECT_THROW(parallel_sum(values, 0), std::invalid_argument);
  EXPECT_THROW(parallel_sum(values, -2), std::invalid_argument);
}

TEST(ParallelSum, WorkersRunAtTheSameTime) {
  const auto values = random_values(10'000, 7);
  testing::OverlapWatch watch(4);
  const auto got = parallel_sum(values, 4, watch.hook());
  watch.save("parallel_sum workers");
  if (!watch.all_together()) ADD_FAILURE() << watch.explain();
  EXPECT_EQ(got, sequential_sum(values));
}

TEST(ParallelSum, RunsEachWorkerOnItsOwnThread) {
  const auto values = random_values(1'000, 3);
  testing::ThreadWatch watch;
  const auto got = parallel_sum(values, 4, watch.hook());
  const auto ids = watch.ids();
  EXPECT_EQ(ids.size(), 4U) << "4 workers ran on " << ids.size()
                            << " distinct threads; start one std::jthread per worker";
  EXPECT_FALSE(ids.contains(std::this_thread::get_id()))
      << "a worker ran on the calling thread; the caller should only start and join them";
  EXPECT_EQ(watch.indices(), testing::every_index(4))
      << "each worker calls on_worker_start once, with its index 0 .. threads-1";
  EXPECT_EQ(got, sequential_sum(values));
}

TEST(ParallelSum, SumsPastTwoToTheThirtyOne) {
  // Every value fits in 32 bits, but each chunk's sum and the total do not: an accumulator of
  // type int (std::accumulate(begin, end, 0) is one) wraps around.
  const std::vector<std::int64_t> values(10'000, 2'000'000'000);
  for (const int threads : {1, 3, 4}) {
    EXPECT_EQ(parallel_sum(values, threads), std::int64_t{20'000'000'000'000})
        << "10 000 values of 2 000 000 000 on " << threads
        << " threads: the sum is past 2^31, so every partial sum must be a std::int64_t. "
           "std::accumulate(first, last, 0) adds in int, because its third argument is an int; "
           "write std::int64_t{0}.";
  }
}

TEST(ParallelSum, IsRaceFreeOnLargeInput) {
  const auto values = random_values(400'000, 11);
  EXPECT_EQ(parallel_sum(values, 8), sequential_sum(values))
      << "workers must not add into one shared total without synchronisation";
}

}  // namespace
}  // namespace warmup
