#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "report_fixture.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

constexpr std::string_view kTableHeader = "| Test | Category | Points | Status | Time |";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The lines of one exercise's section: from its "### " heading to the next one.
std::vector<std::string> section(const std::string& markdown, std::string_view id) {
  std::vector<std::string> lines;
  bool inside = false;
  for (const auto& line : lines_of(markdown)) {
    if (line.starts_with("### ")) inside = line.starts_with("### " + std::string(id) + " ");
    if (inside) lines.push_back(line);
  }
  return lines;
}

class GithubReportTest : public ReportFixture {
 protected:
  [[nodiscard]] std::string markdown() const { return render_github(report_); }
};

TEST_F(GithubReportTest, StartsWithTheTotal) {
  EXPECT_TRUE(
      markdown().starts_with("## Grade: 3.0 / 11.0 points (27.3%)\n\n"
                             "3 of 8 tests pass, 2 not run, in 12.5 s.\n"))
      << markdown();
}

TEST_F(GithubReportTest, HasOneTablePerExerciseListingItsTests) {
  const std::string md = markdown();
  EXPECT_EQ(count(md, kTableHeader), report_.exercises.size());
  for (const auto& exercise : report_.exercises) {
    const auto lines = section(md, exercise.manifest.id);
    ASSERT_FALSE(lines.empty()) << "no section for " << exercise.manifest.id;
    const auto header = std::find(lines.begin(), lines.end(), kTableHeader);
    ASSERT_NE(header, lines.end());
    ASSERT_LT(header + 2, lines.end());
    EXPECT_EQ(*(header + 1), "| --- | --- | ---: | --- | ---: |");
    for (std::size_t i = 0; i < exercise.tests.size(); ++i) {
      const std::string& row = *(header + 2 + static_cast<std::ptrdiff_t>(i));
      EXPECT_TRUE(row.starts_with("| " + exercise.tests[i].spec.name + " | ")) << row;
    }
  }
}

TEST_F(GithubReportTest, RowsShowPointsAndStatusWords) {
  const std::string md = markdown();
  EXPECT_NE(md.find("| Counter.CountsOneThread | correctness | 1.0 / 1.0 | PASS | 0.01 s |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Counter.ConcurrentIncrements | concurrency | 0.0 / 2.0 | RACE (tsan) |"),
            std::string::npos);
  EXPECT_NE(md.find("| Pool.StopsOnDestruction | robustness | 0.0 / 2.0 | NOT RUN | - |"),
            std::string::npos);
}

TEST_F(GithubReportTest, FailureDetailsAreFoldedAndFenced) {
  const std::string md = markdown();
  // Three failing tests of 00-warmup, plus the compiler errors of 01-pool.
  EXPECT_EQ(count(md, "<details>"), 4U);
  EXPECT_EQ(count(md, "</details>"), 4U);
  EXPECT_NE(md.find("<details><summary>Counter.MutexCounterIsExact: FAIL</summary>"),
            std::string::npos);
  EXPECT_NE(md.find("<details><summary>Compiler errors</summary>"), std::string::npos);
  EXPECT_EQ(count(md, "```text\n"), 4U);
  EXPECT_EQ(md.find('\x1b'), std::string::npos);
}

TEST_F(GithubReportTest, UsesNoEmoji) {
  const std::string md = markdown();
  // The only non-ASCII characters allowed are the em dash and the replacement character.
  std::string rest = md;
  for (const std::string_view allowed : {"\xE2\x80\x94", "\xEF\xBF\xBD"}) {
    for (auto at = rest.find(allowed); at != std::string::npos; at = rest.find(allowed)) {
      rest.erase(at, allowed.size());
    }
  }
  for (const char c : rest) EXPECT_LT(static_cast<unsigned char>(c), 0x80U);
}

}  // namespace
}  // namespace grader::testing
