// Level 5: the async strategy. Read ../README.md first.
#include <stdexcept>

#include "frontier.hpp"

namespace crawler::detail {

void crawl_async(Frontier& /*frontier*/) {
  throw std::logic_error("the async strategy is not implemented yet (level 5 of 06-web-crawler)");
}

}  // namespace crawler::detail
