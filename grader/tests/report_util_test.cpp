#include "reports/report_util.hpp"

#include <gtest/gtest.h>

#include "report_fixture.hpp"

namespace grader {
namespace {

using namespace grader::report;
using grader::testing::result;
using grader::testing::run;
using grader::testing::spec;

TEST(ReportUtil, ValidUtf8ReplacesInvalidBytesAndKeepsValidOnes) {
  EXPECT_EQ(valid_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(valid_utf8("a\xFF"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // truncated
}

TEST(ReportUtil, PrintableDropsControlCharactersButKeepsTabsAndNewlines) {
  EXPECT_EQ(printable("a\x1b[31mred\x1b[0m\tb\x07\n"), "a[31mred[0m\tb\n");
  EXPECT_EQ(printable(std::string("x\0y", 3)), "xy");
  EXPECT_EQ(printable("one\r\ntwo\rthree"), "one\ntwo\nthree");
  EXPECT_EQ(printable("\xEF\xBF\xBF"), "");  // U+FFFF is not a character
}

TEST(ReportUtil, XmlEscapeEscapesMarkupAndQuotes) {
  EXPECT_EQ(xml_escape("a < b && c > \"d\" 'e'"),
            "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &#39;e&#39;");
  EXPECT_EQ(xml_attribute("line 1\nline 2\t!"), "line 1&#10;line 2&#9;!");
}

TEST(ReportUtil, MarkdownCellStaysOnOneLineAndEscapesPipes) {
  EXPECT_EQ(markdown_cell("a|b\nc <x>"), "a\\|b c \\<x\\>");
}

TEST(ReportUtil, MarkdownFenceIsLongerThanAnyBacktickRun) {
  EXPECT_EQ(markdown_fence("plain"), "```");
  EXPECT_EQ(markdown_fence("a ```` b"), "`````");
}

TEST(ReportUtil, ExcerptCapsLinesAndCountsWhatItLeavesOut) {
  const Excerpt capped = excerpt("1\n2\n3\n4\n5\n", 3);
  EXPECT_EQ(capped.lines, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(capped.omitted, 2U);
  const Excerpt all = excerpt("1\n2\n3\n4\n5\n", 0);
  EXPECT_EQ(all.lines.size(), 5U);
  EXPECT_EQ(all.omitted, 0U);
  const Excerpt narrow = excerpt(std::string(1000, 'x'), 10, 100);
  EXPECT_EQ(narrow.lines.front(), std::string(100, 'x') + " [...]");
}

TEST(ReportUtil, NumbersAreFormattedForPeople) {
  EXPECT_EQ(format_points(7), "7.0");
  EXPECT_EQ(format_points(0.5), "0.5");
  EXPECT_EQ(format_points(0.25), "0.25");
  EXPECT_EQ(format_seconds(0.012), "0.01 s");
  EXPECT_EQ(format_seconds(12.34), "12.3 s");
  EXPECT_EQ(format_seconds(123), "2 min 03 s");
  EXPECT_EQ(format_percent(17, 30), "56.7%");
  EXPECT_EQ(format_percent(10, 10), "100%");
  EXPECT_EQ(format_percent(0, 0), "0%");
}

TEST(ReportUtil, SplitTestNameSplitsAtTheFirstDot) {
  EXPECT_EQ(split_test_name("Suite.Case").suite, "Suite");
  EXPECT_EQ(split_test_name("Suite.Case").test_case, "Case");
  EXPECT_EQ(split_test_name("Param/Suite.Case/0").test_case, "Case/0");
  EXPECT_EQ(split_test_name("NoDot").suite, "");
}

TEST(ReportUtil, StatusWordNamesTheBuildThatFailedAndTheRetries) {
  const auto pass = result(spec("A.B", 1, Category::correctness),
                           {run(BuildConfig::normal, {{Outcome::passed, 0.1, ""}})});
  EXPECT_EQ(status_word(pass), "PASS");
  const auto race = result(spec("A.B", 1, Category::correctness),
                           {run(BuildConfig::normal, {{Outcome::passed, 0.1, ""}}),
                            run(BuildConfig::tsan, {{Outcome::sanitizer, 0.1, "race"}})});
  EXPECT_EQ(status_word(race), "RACE (tsan)");
  const auto asan = result(spec("A.B", 1, Category::correctness),
                           {run(BuildConfig::normal, {{Outcome::passed, 0.1, ""}}),
                            run(BuildConfig::asan, {{Outcome::sanitizer, 0.1, "heap"}})});
  EXPECT_EQ(status_word(asan), "ASAN");
  const auto slow_in_tsan = result(spec("A.B", 1, Category::correctness),
                                   {run(BuildConfig::normal, {{Outcome::passed, 0.1, ""}}),
                                    run(BuildConfig::tsan, {{Outcome::timeout, 40, "timed out"}})});
  EXPECT_EQ(status_word(slow_in_tsan), "TIMEOUT (tsan)");
  const auto retried =
      result(spec("A.B", 1, Category::timing, {"timing"}),
             {run(BuildConfig::normal, {{Outcome::failed, 1, "slow"}, {Outcome::passed, 1, ""}})});
  EXPECT_EQ(status_word(retried), "PASS (retry 1)");
  EXPECT_EQ(retry_note(retried.runs.front()), "passed on retry 1 of 2");
  const auto never = result(spec("A.B", 1, Category::timing, {"timing"}),
                            {run(BuildConfig::normal, {{Outcome::failed, 1, "slow"},
                                                       {Outcome::failed, 1, "slow"},
                                                       {Outcome::failed, 1, "slow"}})});
  EXPECT_EQ(status_word(never), "FAIL (retry 2)");
  EXPECT_EQ(status_word(result(spec("A.B", 1, Category::correctness), {})), "NOT RUN");
}

TEST(ReportUtil, FailureBlocksCapTheOutputAndKeepTheHeadline) {
  std::string output;
  for (int i = 0; i < 100; ++i) output += "line " + std::to_string(i) + "\n";
  const auto failed =
      result(spec("A.B", 1, Category::correctness),
             {run(BuildConfig::normal, {{Outcome::failed, 0.1, "a.cpp:1: Failure"}}, output)});
  const auto blocks = failure_blocks(failed, 40);
  ASSERT_EQ(blocks.size(), 1U);
  EXPECT_EQ(blocks.front().headline, "FAIL: a.cpp:1: Failure");
  EXPECT_EQ(blocks.front().details.size(), 40U);
  EXPECT_EQ(blocks.front().omitted, 60U);
  EXPECT_EQ(failure_blocks(failed, 0).front().details.size(), 100U);
}

TEST(ReportUtil, SanitizerBlocksShowTheReportNotTheRawOutput) {
  const std::string reason = "WARNING: ThreadSanitizer: data race\n  Write\n  Read\nSUMMARY: race";
  const auto race = result(spec("A.B", 1, Category::correctness),
                           {run(BuildConfig::tsan, {{Outcome::sanitizer, 0.1, reason}},
                                "[ RUN      ] banner\n" + reason)});
  const auto block = failure_blocks(race, 40).front();
  EXPECT_EQ(block.headline, "RACE (tsan): WARNING: ThreadSanitizer: data race");
  ASSERT_EQ(block.details.size(), 4U);
  EXPECT_NE(block.details[0].find("Two threads touched the same memory"), std::string::npos)
      << "a data race is explained in the course's terms first";
  EXPECT_EQ(std::vector<std::string>(block.details.begin() + 1, block.details.end()),
            (std::vector<std::string>{"  Write", "  Read", "SUMMARY: race"}));
  const auto verbose = failure_blocks(race, 0).front();
  EXPECT_EQ(verbose.details.size(), 1U + 3U + 5U);  // meaning, the report, then the whole output
}

}  // namespace
}  // namespace grader
