// Level 4: the threads strategy. Read ../README.md first.
#include <stdexcept>

#include "frontier.hpp"

namespace crawler::detail {

void crawl_threads(Frontier& /*frontier*/) {
  throw std::logic_error("not implemented yet: level 4 (src/crawl_threads.cpp)");
}

}  // namespace crawler::detail
