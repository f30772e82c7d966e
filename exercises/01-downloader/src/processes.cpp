// Level 7 (optional): L worker processes. Read ../README.md first.
#include <stdexcept>

#include "downloader_internal.hpp"

namespace downloader::detail {

std::vector<Result> download_processes(const Job& /*job*/) {
  throw std::logic_error(
      "the processes strategy is not implemented yet (level 7 of 01-downloader, optional)");
}

}  // namespace downloader::detail
