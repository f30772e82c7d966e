// The job pool: shared jobs run in parallel up to the limit; exclusive jobs
// run with nothing else running.
#include "running/job_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

namespace grader {
namespace {

// Counts how many jobs run at once and the most ever seen.
struct Occupancy {
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::mutex mutex;
  std::vector<std::pair<std::string, int>> exclusive_saw;  // name, jobs running at its start

  void enter() {
    const int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
  }
  void leave() { --running; }
};

TEST(JobPool, RunsEveryJobWithAtMostTheWorkerLimitAtOnce) {
  Occupancy occupancy;
  std::atomic<int> done{0};
  // The first two jobs wait for each other: the pool must run two at once.
  std::latch both_started(2);
  std::vector<Job> jobs;
  for (int i = 0; i < 2; ++i) {
    jobs.push_back(Job{false, [&] {
                         occupancy.enter();
                         both_started.arrive_and_wait();
                         occupancy.leave();
                         ++done;
                       }});
  }
  for (int i = 0; i < 20; ++i) {
    jobs.push_back(Job{false, [&] {
                         occupancy.enter();
                         occupancy.leave();
                         ++done;
                       }});
  }
  run_jobs(std::move(jobs), 2);
  EXPECT_EQ(done.load(), 22);
  EXPECT_EQ(occupancy.peak.load(), 2);
}

TEST(JobPool, ExclusiveJobsRunAlone) {
  Occupancy occupancy;
  // The shared jobs only finish once all three run at once, so a pool that
  // wrongly started the exclusive jobs alongside them would be seen doing so.
  std::latch shared_together(3);
  auto exclusive_job = [&occupancy](int i) {
    return Job{true, [&occupancy, i] {
                 occupancy.enter();
                 {
                   std::scoped_lock lock(occupancy.mutex);
                   occupancy.exclusive_saw.emplace_back("job " + std::to_string(i),
                                                        occupancy.running.load());
                 }
                 occupancy.leave();
               }};
  };
  std::vector<Job> jobs;
  jobs.push_back(exclusive_job(0));
  for (int i = 1; i <= 3; ++i) {
    jobs.push_back(Job{false, [&] {
                         occupancy.enter();
                         shared_together.arrive_and_wait();
                         occupancy.leave();
                       }});
  }
  jobs.push_back(exclusive_job(4));
  run_jobs(std::move(jobs), 4);
  EXPECT_EQ(occupancy.peak.load(), 3);
  ASSERT_EQ(occupancy.exclusive_saw.size(), 2U);
  for (const auto& [name, running] : occupancy.exclusive_saw) {
    EXPECT_EQ(running, 1) << name << " shared the machine with other jobs";
  }
}

TEST(JobPool, HandlesNoJobsAndDefaultsToAtMostTwoWorkers) {
  run_jobs({}, 2);
  EXPECT_GE(default_jobs(), 1);
  EXPECT_LE(default_jobs(), 2);
}

}  // namespace
}  // namespace grader
