// Level 1: canonical URLs. Read ../README.md first.
#include <stdexcept>
#include <string>

#include "crawler/crawler.hpp"

namespace crawler {

// Parse with boost::urls::parse_uri (it refuses a relative or malformed URL), then build the
// canonical string one rule at a time: the scheme and host lower-cased, the default port dropped,
// the escapes normalised, the dot segments removed, the fragment dropped.
std::string canonical_url(std::string_view /*url*/) {
  throw std::logic_error("canonical_url is not implemented yet (level 1 of 06-web-crawler)");
}

// boost::urls::parse_uri_reference, then boost::urls::resolve, then the canonical form.
std::string resolve_url(std::string_view /*base*/, std::string_view /*reference*/) {
  throw std::logic_error("resolve_url is not implemented yet (level 1 of 06-web-crawler)");
}

std::string host_of(std::string_view /*canonical*/) {
  throw std::logic_error("host_of is not implemented yet (level 1 of 06-web-crawler)");
}

}  // namespace crawler
