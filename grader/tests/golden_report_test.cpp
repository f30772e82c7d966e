// Golden reports: the fixture's grade (a pass, a failure, a timeout, a race, a retry, a trace, an
// exercise that did not build) rendered in every format and compared byte for byte with
// grader/tests/golden/<format>.golden, after masking what changes from run to run (the fixture's
// temporary directory, clock times). A change to a reporter shows here as a diff to review; when
// it is wanted, rewrite the files with
//
//   GRADER_UPDATE_GOLDEN=1 build/default/grader/grader_tests --gtest_filter='GoldenReport.*'
//
// and commit them with the change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "course/util.hpp"
#include "report_fixture.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

const std::filesystem::path kGoldenDir =
    std::filesystem::path(COURSE_SOURCE_DIR) / "grader" / "tests" / "golden";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// What differs between two runs of the same report: where the fixture wrote its trace, and any
// wall-clock date or time a format stamps.
std::string masked(std::string text, const std::filesystem::path& dir) {
  text = replace_all(std::move(text), dir.string(), "<fixture-dir>");
  static const std::regex kTimestamp(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?)");
  return std::regex_replace(text, kTimestamp, "<timestamp>");
}

// The first line where the two texts differ, with both versions, for the failure message.
std::string first_difference(const std::string& expected, const std::string& actual) {
  const auto want = split_lines(expected);
  const auto got = split_lines(actual);
  for (std::size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    const std::string a = i < want.size() ? want[i] : "<end of file>";
    const std::string b = i < got.size() ? got[i] : "<end of file>";
    if (a != b) {
      return "line " + std::to_string(i + 1) + "\n  golden: " + a.substr(0, 200) +
             "\n  now:    " + b.substr(0, 200);
    }
  }
  return "the same lines, different line endings";
}

class GoldenReport : public ReportFixture {};

TEST_F(GoldenReport, EveryFormatRendersTheFixtureAsItsGoldenFile) {
  const bool update = std::getenv("GRADER_UPDATE_GOLDEN") != nullptr;
  for (const auto& format : report_formats()) {
    const auto rendered = masked(format.render(report_, TextOptions{}), dir_);
    const auto golden = kGoldenDir / (std::string(format.name) + ".golden");
    if (update) {
      write_file(golden, rendered);
      continue;
    }
    const auto expected = try_read_file(golden);
    ASSERT_TRUE(expected.has_value())
        << golden << " is missing: a new format needs its golden file (see this file's header)";
    EXPECT_EQ(*expected, rendered)
        << "the " << format.name << " report of the fixture is not " << golden
        << "; first difference at " << first_difference(*expected, rendered)
        << "\nIf the change is wanted, rewrite the golden files (see this test's header).";
  }
}

TEST_F(GoldenReport, EveryGoldenFileBelongsToAFormat) {
  for (const auto& entry : std::filesystem::directory_iterator(kGoldenDir)) {
    const auto name = entry.path().stem().string();
    EXPECT_NE(find_report_format(name), nullptr)
        << entry.path() << " is the golden file of no format: remove it";
  }
}

}  // namespace
}  // namespace grader::testing
