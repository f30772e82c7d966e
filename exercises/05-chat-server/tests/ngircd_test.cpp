// The conformance scenarios replayed on ngircd, a real IRC server: the scripted client of these
// tests is known to speak real IRC, and where ngircd and the course differ on purpose the
// scenario says so. Worth 0 points (tag "oracle"); skipped when ngircd is not installed.
#include "test_support.hpp"

namespace chat::testing {
namespace {

TEST(Ngircd, ConformanceScenariosPassOnARealServer) {
  if (NgircdServer::binary().empty()) {
    GTEST_SKIP() << "ngircd is not installed (grader/install-deps --extras installs it)";
  }
  ASSERT_FALSE(conformance_scenarios().empty());
  for (const auto& [name, scenario] : conformance_scenarios()) {
    SCOPED_TRACE("scenario " + name + ", replayed on ngircd");
    const NgircdServer ngircd;
    scenario(ngircd.target());
  }
}

}  // namespace
}  // namespace chat::testing
