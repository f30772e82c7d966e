// Level 5: the async strategy. Read ../README.md first.
#include <stdexcept>

#include "frontier.hpp"

namespace crawler::detail {

void crawl_async(Frontier& /*frontier*/) {
  throw std::logic_error("not implemented yet: level 5 (src/crawl_async.cpp)");
}

}  // namespace crawler::detail
