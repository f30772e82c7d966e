// Reference solution for levels 1 and 2 of 00-warmup.
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "warmup/warmup.hpp"

namespace warmup {
namespace {

void require_valid(const CountJob& job) {
  if (job.threads < 1) throw std::invalid_argument("CountJob::threads must be at least 1");
  if (job.increments_per_thread < 0) {
    throw std::invalid_argument("CountJob::increments_per_thread must not be negative");
  }
}

// Starts every worker before waiting for any of them, so that their
// lifetimes overlap; the jthreads join when `workers` goes out of scope.
template <class Body>
void run_workers(const CountJob& job, Body body) {
  std::vector<std::jthread> workers;
  workers.reserve(static_cast<std::size_t>(job.threads));
  for (int w = 0; w < job.threads; ++w) {
    // mutant: each worker is joined before the next starts, so lifetimes never overlap
    std::jthread worker([&job, &body, w] {
      if (job.on_worker_start) job.on_worker_start(w);
      body();
    });
  }
}

}  // namespace

std::int64_t count_unsynchronised(const CountJob& job) {
  require_valid(job);
  std::int64_t counter = 0;
  run_workers(job, [&] {
    for (std::int64_t i = 0; i < job.increments_per_thread; ++i) {
      ++counter;  // the race the notes show: kept on purpose, never called by the tests
    }
  });
  return counter;
}

std::int64_t count_with_mutex(const CountJob& job) {
  require_valid(job);
  std::int64_t counter = 0;
  std::mutex counter_mutex;
  run_workers(job, [&] {
    for (std::int64_t i = 0; i < job.increments_per_thread; ++i) {
      // Locking per increment is slow, but it is the direct fix of the race:
      // read-add-write becomes one indivisible step.
      const std::scoped_lock lock(counter_mutex);
      ++counter;
    }
  });
  return counter;
}

std::int64_t count_with_atomic(const CountJob& job) {
  require_valid(job);
  std::atomic<std::int64_t> counter{0};
  run_workers(job, [&] {
    for (std::int64_t i = 0; i < job.increments_per_thread; ++i) {
      // Only the count must be exact; no other memory is published through
      // it, so relaxed ordering is enough.
      counter.fetch_add(1, std::memory_order_relaxed);
    }
  });
  return counter.load();
}

}  // namespace warmup
