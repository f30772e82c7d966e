#include "running/job_pool.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include "course/util.hpp"

namespace grader {

namespace {

void run_shared(const std::vector<Job*>& jobs, int workers) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (;;) {
      const auto index = next.fetch_add(1);
      if (index >= jobs.size() || interrupted()) return;
      jobs[index]->run();
    }
  };
  const auto count = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(workers, 1)), 1,
                                             std::max<std::size_t>(jobs.size(), 1));
  std::vector<std::jthread> threads;
  threads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) threads.emplace_back(worker);
}  // the jthreads join here

}  // namespace

void run_jobs(std::vector<Job> jobs, int workers) {
  std::vector<Job*> shared;
  std::vector<Job*> exclusive;
  for (auto& job : jobs) (job.exclusive ? exclusive : shared).push_back(&job);
  run_shared(shared, workers);
  for (auto* job : exclusive) {
    if (interrupted()) return;
    job->run();
  }
}

int default_jobs() {
  const auto cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp<unsigned>(cores, 1, 2));
}

}  // namespace grader
