// A small pool that runs test jobs: shared jobs run up to `workers` at a
// time; exclusive jobs (timing and performance tests) run afterwards, one at
// a time with nothing else running, so their measurements are not disturbed.
#pragma once

#include <functional>
#include <vector>

namespace grader {

struct Job {
  bool exclusive = false;
  std::function<void()> run;
};

// Runs every job and returns when all have finished. Jobs must not throw.
// After Ctrl-C, jobs not yet started are skipped; the caller sees which
// results are missing.
void run_jobs(std::vector<Job> jobs, int workers);

// min(2, number of processors), at least 1.
int default_jobs();

}  // namespace grader
