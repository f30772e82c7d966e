// Level 6: the fair strategy. Read ../README.md first.
#include <stdexcept>

#include "frontier.hpp"

namespace crawler::detail {

void crawl_fair(Frontier& /*frontier*/) {
  throw std::logic_error("not implemented yet: level 6 (src/crawl_fair.cpp)");
}

}  // namespace crawler::detail
