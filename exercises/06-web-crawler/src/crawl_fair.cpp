// Level 6: the fair strategy. Read ../README.md first.
#include <stdexcept>

#include "frontier.hpp"

namespace crawler::detail {

void crawl_fair(Frontier& /*frontier*/) {
  throw std::logic_error("the fair strategy is not implemented yet (level 6 of 06-web-crawler)");
}

}  // namespace crawler::detail
