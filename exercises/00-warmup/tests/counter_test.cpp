// Levels 1 and 2: a shared counter fixed with a mutex, then with an atomic.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "test_support.hpp"
#include "warmup/warmup.hpp"

namespace warmup {
namespace {

using CountFn = std::int64_t (*)(const CountJob&);

struct Counter {
  const char* name;
  CountFn count;
};

std::string lost_updates_message(std::int64_t expected, std::int64_t got) {
  return "Expected " + std::to_string(expected) + " but the counter ended at " +
         std::to_string(got) + ": " + std::to_string(expected - got) +
         " increments were lost. Two workers read the same old value and both wrote "
         "old+1. Make the read-add-write indivisible (hold the lock around it, or use "
         "fetch_add).";
}

void expect_exact(const Counter& counter, int threads, std::int64_t increments) {
  const CountJob job{
      .threads = threads, .increments_per_thread = increments, .on_worker_start = {}};
  const std::int64_t expected = threads * increments;
  const std::int64_t got = counter.count(job);
  if (got != expected) ADD_FAILURE() << lost_updates_message(expected, got);
}

void expect_workers_overlap(const Counter& counter, int threads) {
  testing::OverlapWatch watch(threads);
  testing::ThreadWatch threads_seen;
  const WorkerHook overlap = watch.hook();
  const WorkerHook seen = threads_seen.hook();
  const CountJob job{
      .threads = threads, .increments_per_thread = 1000, .on_worker_start = [&](int worker) {
        seen(worker);
        overlap(worker);
      }};
  const std::int64_t got = counter.count(job);
  watch.save(std::string(counter.name) + " workers");
  if (!watch.all_together()) ADD_FAILURE() << watch.explain();
  EXPECT_EQ(got, threads * 1000);
  EXPECT_EQ(threads_seen.indices(), testing::every_index(threads))
      << "each worker calls on_worker_start once, with its index 0 .. threads-1";
  EXPECT_EQ(threads_seen.ids().size(), static_cast<std::size_t>(threads))
      << threads << " workers ran on " << threads_seen.ids().size()
      << " distinct threads: start one std::jthread per worker";
}

void expect_invalid_jobs_rejected(const Counter& counter) {
  EXPECT_THROW(counter.count({.threads = 0, .increments_per_thread = 10, .on_worker_start = {}}),
               std::invalid_argument)
      << counter.name << " must refuse a job with 0 threads";
  EXPECT_THROW(counter.count({.threads = 2, .increments_per_thread = -1, .on_worker_start = {}}),
               std::invalid_argument)
      << counter.name << " must refuse a negative number of increments";
}

const Counter kMutex{"count_with_mutex", &count_with_mutex};
const Counter kAtomic{"count_with_atomic", &count_with_atomic};

TEST(MutexCounter, CountsExactlyWithOneThread) { expect_exact(kMutex, 1, 10'000); }
TEST(MutexCounter, ZeroIncrementsGiveZero) { expect_exact(kMutex, 4, 0); }
TEST(MutexCounter, CountsExactlyWithEightThreads) { expect_exact(kMutex, 8, 20'000); }
TEST(MutexCounter, WorkersRunAtTheSameTime) { expect_workers_overlap(kMutex, 4); }
TEST(MutexCounter, RejectsInvalidJobs) { expect_invalid_jobs_rejected(kMutex); }

TEST(AtomicCounter, CountsExactlyWithOneThread) { expect_exact(kAtomic, 1, 10'000); }
TEST(AtomicCounter, ZeroIncrementsGiveZero) { expect_exact(kAtomic, 4, 0); }
TEST(AtomicCounter, CountsExactlyWithEightThreads) { expect_exact(kAtomic, 8, 100'000); }
TEST(AtomicCounter, WorkersRunAtTheSameTime) { expect_workers_overlap(kAtomic, 4); }
TEST(AtomicCounter, RejectsInvalidJobs) { expect_invalid_jobs_rejected(kAtomic); }

}  // namespace
}  // namespace warmup
