// Level 6: asynchronous on one thread, with libcurl's multi interface. Read ../README.md first.
#include <stdexcept>

#include "downloader_internal.hpp"

namespace downloader::detail {

std::vector<Result> download_async(const Job& /*job*/) {
  throw std::logic_error("the async strategy is not implemented yet (level 6 of 01-downloader)");
}

}  // namespace downloader::detail
