// Levels 4 and 5: threads. Read ../README.md first.
#include <stdexcept>

#include "downloader_internal.hpp"

namespace downloader::detail {

// Level 4: one std::jthread per URL, all started before any is joined.
std::vector<Result> download_thread_per_url(const Job& /*job*/) {
  throw std::logic_error(
      "the thread_per_url strategy is not implemented yet (level 4 of 01-downloader)");
}

// Level 5: min(L, N) worker threads that take URLs from a shared queue.
std::vector<Result> download_thread_pool(const Job& /*job*/) {
  throw std::logic_error(
      "the thread_pool strategy is not implemented yet (level 5 of 01-downloader)");
}

}  // namespace downloader::detail
