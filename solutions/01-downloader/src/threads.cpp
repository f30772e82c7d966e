// Levels 4 and 5: threads. While one thread waits for its server, the others run: the lifetimes
// of the downloads overlap, so N downloads of latency d take about d (one thread per URL) or
// ceil(N/L)·d (L workers) instead of N·d.
#include <algorithm>
#include <atomic>
#include <thread>

#include "downloader_internal.hpp"

namespace downloader::detail {

std::vector<Result> download_thread_per_url(const Job& job) {
  std::vector<Result> results(job.size());
  const Cancellation cancel{.token = job.options.stop};
  {
    std::vector<std::jthread> threads;
    threads.reserve(job.size());
    for (std::size_t i = 0; i < job.size(); ++i) {
      // Each thread writes only its own slot, so the results need no lock.
      threads.emplace_back(
          [&job, &results, &cancel, i] { results[i] = job.fetch_and_report(i, cancel); });
    }
  }  // every jthread joins here; joining makes their writes visible to this thread
  return results;
}

std::vector<Result> download_thread_pool(const Job& job) {
  std::vector<Result> results(job.size());
  const Cancellation cancel{.token = job.options.stop};
  // The queue is the sequence of indices: a worker takes the next one with fetch_add, so each
  // URL is taken exactly once and at most L transfers are in flight.
  std::atomic<std::size_t> next{0};
  const std::size_t workers = std::min(job.options.max_concurrency, job.size());
  {
    std::vector<std::jthread> pool;
    pool.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
      pool.emplace_back([&job, &results, &cancel, &next] {
        for (std::size_t i = next.fetch_add(1); i < job.size(); i = next.fetch_add(1)) {
          results[i] = job.fetch_and_report(i, cancel);
        }
      });
    }
  }
  return results;
}

}  // namespace downloader::detail
