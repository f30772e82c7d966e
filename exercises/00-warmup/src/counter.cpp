// Your code for levels 1 and 2. Read ../README.md first.
#include <stdexcept>
#include <thread>
#include <vector>

#include "warmup/warmup.hpp"

namespace warmup {

std::int64_t count_unsynchronised(const CountJob& job) {
  std::int64_t counter = 0;
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < job.threads; ++w) {
      workers.emplace_back([&job, &counter, w] {
        if (job.on_worker_start) job.on_worker_start(w);
        for (std::int64_t i = 0; i < job.increments_per_thread; ++i) {
          ++counter;  // a data race: read, add, write, interleaved with the other workers
        }
      });
    }
  }  // the jthreads join here
  return counter;
}

std::int64_t count_with_mutex(const CountJob& /*job*/) {
  throw std::logic_error("count_with_mutex is not implemented yet (level 1 of 00-warmup)");
}

std::int64_t count_with_atomic(const CountJob& /*job*/) {
  throw std::logic_error("count_with_atomic is not implemented yet (level 2 of 00-warmup)");
}

}  // namespace warmup
