// Your code for level 3. Read ../README.md first.
#include <stdexcept>

#include "warmup/warmup.hpp"

namespace warmup {

std::int64_t parallel_sum(std::span<const std::int64_t> /*values*/, int /*threads*/,
                          const WorkerHook& /*on_worker_start*/) {
  throw std::logic_error("parallel_sum is not implemented yet (level 3 of 00-warmup)");
}

}  // namespace warmup
