// Level 2: robots.txt (RFC 9309). Read ../README.md first.
#include <stdexcept>
#include <string>

#include "crawler/crawler.hpp"

namespace crawler {

RobotsRules RobotsRules::parse(std::string_view /*body*/, std::string_view /*user_agent*/) {
  throw std::logic_error("RobotsRules::parse is not implemented yet (level 2 of 06-web-crawler)");
}

bool RobotsRules::allows(std::string_view /*path*/) const {
  throw std::logic_error("RobotsRules::allows is not implemented yet (level 2 of 06-web-crawler)");
}

}  // namespace crawler
