// The mutant: the "async" strategy runs the downloads on a pool of threads. It overlaps them and
// respects L, but its I/O is not on one thread.
#include "downloader_internal.hpp"

namespace downloader::detail {

std::vector<Result> download_async(const Job& job) { return download_thread_pool(job); }

}  // namespace downloader::detail
