#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "report_fixture.hpp"
#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The table row of a test: the line that starts with the indented test name.
std::string row_of(const std::string& text, std::string_view name) {
  for (const auto& line : lines_of(text)) {
    if (line.starts_with("  " + std::string(name) + " ")) return line;
  }
  return {};
}

class TextReportTest : public ReportFixture {
 protected:
  [[nodiscard]] std::string plain(bool verbose = false) const {
    return render_text(report_, TextOptions{.color = false, .verbose = verbose});
  }
};

TEST_F(TextReportTest, ListsEveryTestWithItsStatusAndPoints) {
  const std::string text = plain();
  const struct {
    std::string_view name;
    std::string status;
    std::string points;
  } expected[] = {
      {kPassName, "PASS", "1.0/1.0"},
      {kFailName, "FAIL", "0.0/2.0"},
      {kTimeoutName, "TIMEOUT", "0.0/1.0"},
      {kRaceName, "RACE (tsan)", "0.0/2.0"},
      {kRetryName, "PASS (retry 1)", "1.0/1.0"},
      {kTracedName, "PASS", "1.0/1.0"},
      {kNotRunName, "NOT RUN", "0.0/1.0"},
      {kNotRunNoRunsName, "NOT RUN", "0.0/2.0"},
  };
  for (const auto& e : expected) {
    const std::string row = row_of(text, e.name);
    ASSERT_FALSE(row.empty()) << "no row for " << e.name << " in\n" << text;
    EXPECT_NE(row.find(" " + e.status + " "), std::string::npos) << row;
    EXPECT_NE(row.find(" " + e.points + " "), std::string::npos) << row;
  }
}

TEST_F(TextReportTest, ColumnsAreAligned) {
  const std::string text = plain();
  std::size_t status_column = std::string::npos;
  for (const auto name : {kPassName, kFailName, kTimeoutName, kRaceName, kRetryName, kTracedName}) {
    const std::string row = row_of(text, name);
    const auto column = row.find(report::status_word(test(name)));
    if (status_column == std::string::npos) status_column = column;
    EXPECT_EQ(column, status_column) << row;
  }
}

TEST_F(TextReportTest, HeadersShowEachExerciseScoreAndTheTotalLineTheSum) {
  const std::string text = plain();
  EXPECT_NE(
      text.find("00-warmup — Warm-up: a shared counter and a parallel sum (3.0 / 8.0 points)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("01-pool — A thread pool (0.0 / 3.0 points)"), std::string::npos);
  EXPECT_NE(text.find("Total: 3.0 / 11.0 points (27.3%)"), std::string::npos);
  EXPECT_NE(text.find("3 of 8 tests pass, 2 not run"), std::string::npos);
}

TEST_F(TextReportTest, NoAnsiEscapesWithoutColourButSomeWithColour) {
  EXPECT_EQ(plain().find('\x1b'), std::string::npos);
  EXPECT_EQ(plain(true).find('\x1b'), std::string::npos);  // not even from the test's output
  const std::string coloured = render_text(report_, TextOptions{.color = true, .verbose = false});
  EXPECT_NE(coloured.find("\x1b[32m"), std::string::npos);
  EXPECT_NE(coloured.find("\x1b[31m"), std::string::npos);
}

TEST_F(TextReportTest, FailureOutputIsIndentedCappedAndComplete) {
  const std::string text = plain();
  EXPECT_NE(text.find("four threads increment 1000 times each"), std::string::npos);
  EXPECT_NE(text.find("\n    FAIL: counter.cpp:42: Failure\n"
                      "      Expected equality of these values:\n"
                      "        counter.value()\n"
                      "          Which is: 3998 < 4000 & \"quotes\" 'too'\n"),
            std::string::npos)
      << text;
  // 60 lines of output; the first is the headline, the next 40 are shown.
  EXPECT_NE(text.find("progress line 41\n"), std::string::npos);
  EXPECT_EQ(text.find("progress line 42"), std::string::npos);
  EXPECT_NE(text.find("\n      ... 19 more lines of output (add --verbose to see everything)\n"),
            std::string::npos);
  const std::string verbose = plain(true);
  EXPECT_NE(verbose.find("progress line 60"), std::string::npos);
  EXPECT_EQ(verbose.find("more lines"), std::string::npos);
}

TEST_F(TextReportTest, StudentOutputCannotInjectControlCharacters) {
  const std::string text = plain(true);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_NE(text.find("bad byte \xEF\xBF\xBD end"), std::string::npos);
}

TEST_F(TextReportTest, TimeoutAndRaceShowTheirReasons) {
  const std::string text = plain();
  EXPECT_NE(text.find("TIMEOUT: timed out after 10.0 s (the test's limit)"), std::string::npos);
  EXPECT_NE(text.find("RACE (tsan): WARNING: ThreadSanitizer: data race (pid=4242)"),
            std::string::npos);
  EXPECT_NE(text.find("  Write of size 8 at 0x7b0400000010 by thread T2:"), std::string::npos);
  EXPECT_NE(text.find("SUMMARY: ThreadSanitizer: data race"), std::string::npos);
  // The raw output (with GoogleTest's banner) is for --verbose only.
  EXPECT_EQ(text.find("Running main() from gtest_main.cc"), std::string::npos);
  EXPECT_NE(plain(true).find("Running main() from gtest_main.cc"), std::string::npos);
}

TEST_F(TextReportTest, PassingTestsShowNoFailureDetails) {
  const std::string text = plain();
  // The retried test passed: its first attempt's message is not a failure to fix.
  EXPECT_EQ(text.find("took 1.50 s, expected at most 1.20 s"), std::string::npos);
}

TEST_F(TextReportTest, BuildErrorsAreShownOnceAndTheTestsAreNotRun) {
  const std::string text = plain();
  EXPECT_NE(text.find("The exercise did not compile, so no test ran."), std::string::npos);
  EXPECT_NE(text.find("      pool.cpp:17:3: error: 'submit' was not declared in this scope"),
            std::string::npos);
  EXPECT_EQ(text.find("NOT RUN: the exercise did not compile"), std::string::npos);
}

TEST_F(TextReportTest, NextStepSuggestsTheHintOrWatchCommands) {
  const std::string text = plain();
  EXPECT_NE(text.find("Next step: run `grader/grader hint 00-warmup` for a hint, or "
                      "`grader/grader watch 00-warmup` to re-grade on every save."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Next step: fix the first compiler error above, then run "
                      "`grader/grader watch 01-pool`"),
            std::string::npos);
}

TEST_F(TextReportTest, EachFailureGivesTheCommandThatRunsItAlone) {
  const std::string text = plain();
  for (const auto name : {kFailName, kTimeoutName, kRaceName}) {
    EXPECT_NE(
        text.find("Run it alone: grader/grader grade 00-warmup --test " + std::string(name) + "\n"),
        std::string::npos)
        << name << " in\n"
        << text;
  }
  for (const auto name : {kPassName, kRetryName, kNotRunName}) {
    EXPECT_EQ(text.find("--test " + std::string(name)), std::string::npos)
        << "only a failure that ran has a command: " << name;
  }
}

TEST_F(TextReportTest, TheRerunCommandKeepsTheImplementationQuotedForTheShell) {
  GradeReport other = report_;
  other.exercises.front().implementation = "/tmp/it's mine";
  const std::string text = render_text(other, {});
  EXPECT_NE(text.find("--test " + std::string(kFailName) + " --impl '/tmp/it'\\''s mine'\n"),
            std::string::npos)
      << text;
}

TEST_F(TextReportTest, AFullyPassingExerciseSaysSoAndHasNoNextStep) {
  GradeReport passing;
  passing.exercises.push_back(report_.exercises.front());
  auto& tests = passing.exercises.front().tests;
  std::erase_if(tests, [](const TestResult& t) { return !t.passed(); });
  passing.exercises.front().manifest.tests.clear();
  for (const auto& t : tests) passing.exercises.front().manifest.tests.push_back(t.spec);
  const std::string text = render_text(passing, {});
  EXPECT_NE(text.find("All tests pass."), std::string::npos);
  EXPECT_EQ(text.find("Next step"), std::string::npos);
  EXPECT_NE(text.find("Every test passes. Well done!"), std::string::npos);
}

}  // namespace
}  // namespace grader::testing
