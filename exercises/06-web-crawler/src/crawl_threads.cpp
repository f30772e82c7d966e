// Level 4: the threads strategy. Read ../README.md first.
#include <stdexcept>

#include "frontier.hpp"

namespace crawler::detail {

void crawl_threads(Frontier& /*frontier*/) {
  throw std::logic_error("the threads strategy is not implemented yet (level 4 of 06-web-crawler)");
}

}  // namespace crawler::detail
