// Warm-up: the notes' first lesson in C++.
//
// This header belongs to the course: the tests are written against it, so
// keep it as it is. Your code goes in src/counter.cpp and src/parallel_sum.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace warmup {

// Called once by every worker thread, as its first action, with the worker's
// index (0 .. threads-1). The tests use it to watch your threads: for example
// to check that all of them are alive at the same time.
using WorkerHook = std::function<void(int worker)>;

struct CountJob {
  int threads = 4;                         // workers to start, >= 1
  std::int64_t increments_per_thread = 0;  // each worker adds 1 this many times, >= 0
  WorkerHook on_worker_start;              // may be empty
};

// Given: the race from the notes. Every worker does `++counter` on a shared
// plain integer, so increments get lost. Run it to see a wrong total.
std::int64_t count_unsynchronised(const CountJob& job);

// Level 1: the same job, with the shared counter protected by a std::mutex.
// The result is exactly threads * increments_per_thread. Every worker is
// started before any is joined, so that their lifetimes overlap.
// Throws std::invalid_argument when threads < 1 or increments_per_thread < 0.
std::int64_t count_with_mutex(const CountJob& job);

// Level 2: the same job, with the counter a std::atomic. Same exact result,
// same rules.
std::int64_t count_with_atomic(const CountJob& job);

// Level 3: sums `values` by splitting them into `threads` contiguous chunks,
// each summed by its own worker thread. The result equals the sequential sum.
// Throws std::invalid_argument when threads < 1.
std::int64_t parallel_sum(std::span<const std::int64_t> values, int threads,
                          const WorkerHook& on_worker_start = {});

}  // namespace warmup
