// Reference solution for level 3 of 00-warmup.
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "warmup/warmup.hpp"

namespace warmup {
namespace {

// Chunk w of `count` items split into `parts`: the first count % parts
// chunks get one extra item, so sizes differ by at most one.
std::span<const std::int64_t> chunk(std::span<const std::int64_t> values, int parts, int w) {
  const auto n = values.size();
  const auto p = static_cast<std::size_t>(parts);
  const auto i = static_cast<std::size_t>(w);
  const auto base = n / p;
  const auto extra = n % p;
  const auto begin = i * base + std::min(i, extra);
  const auto size = base + (i < extra ? 1 : 0);
  return values.subspan(begin, size);
}

}  // namespace

std::int64_t parallel_sum(std::span<const std::int64_t> values, int threads,
                          const WorkerHook& on_worker_start) {
  if (threads < 1) throw std::invalid_argument("parallel_sum needs at least 1 thread");

  // Each worker writes only its own slot, so no two threads touch the same
  // memory and no lock is needed; joining the threads publishes the slots.
  std::vector<std::int64_t> partial(static_cast<std::size_t>(threads), 0);
  {
    std::vector<std::jthread> workers;
    workers.reserve(partial.size());
    auto work = [&](int w) {
      if (on_worker_start) on_worker_start(w);
      const auto part = chunk(values, threads, w);
      partial[static_cast<std::size_t>(w)] =
          std::accumulate(part.begin(), part.end(), std::int64_t{0});
    };
    for (int w = 1; w < threads; ++w) workers.emplace_back(work, w);
    work(0);  // mutant: worker 0 runs on the calling thread
  }
  return std::accumulate(partial.begin(), partial.end(), std::int64_t{0});
}

}  // namespace warmup
