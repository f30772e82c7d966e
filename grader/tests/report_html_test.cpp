#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "report_fixture.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The inline SVG elements of a document, in order.
std::vector<std::string> svgs_of(const std::string& html) {
  std::vector<std::string> svgs;
  for (auto at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const auto end = html.find("</svg>", at);
    if (end == std::string::npos) break;
    svgs.push_back(html.substr(at, end + 6 - at));
  }
  return svgs;
}

class HtmlReportTest : public ReportFixture {
 protected:
  [[nodiscard]] std::string html() const { return render_html(report_); }
};

TEST_F(HtmlReportTest, IsOneSelfContainedDocument) {
  const std::string page = html();
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(page.find("<style>"), std::string::npos);
  EXPECT_TRUE(page.ends_with("</html>\n"));
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  // Every src or href stays inside the page.
  const std::regex reference(R"re((src|href)\s*=\s*"([^"]*)")re");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), reference);
       it != std::sregex_iterator(); ++it) {
    EXPECT_TRUE((*it)[2].str().starts_with("#")) << (*it)[0];
  }
}

TEST_F(HtmlReportTest, HasOneSvgPerTracedTestWithOneRectPerExecSegment) {
  const auto svgs = svgs_of(html());
  ASSERT_EQ(svgs.size(), 1U);  // only Sum.TasksOverlap wrote a trace
  EXPECT_EQ(count(svgs.front(), "<rect class=\"exec\""), kTracedExecSegments);
  EXPECT_EQ(count(svgs.front(), "<rect class=\"wait\""), 1U);
  EXPECT_EQ(count(svgs.front(), "<rect class=\"lifetime\""), 1U);  // the task without segments
  EXPECT_EQ(count(svgs.front(), "<rect"), kTracedExecSegments + 2);
}

TEST_F(HtmlReportTest, TimelineHasARowPerTaskAndAnAxisInMilliseconds) {
  const std::string svg = svgs_of(html()).front();
  EXPECT_EQ(count(svg, "<g class=\"task\">"), 4U);
  EXPECT_NE(svg.find(">chunk 0 @1<"), std::string::npos);
  // Task names are escaped, never markup.
  EXPECT_NE(svg.find("chunk 1 &lt;b&gt;&amp;amp;"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("<g class=\"axis\">"), std::string::npos);
  EXPECT_NE(svg.find(">0</text>"), std::string::npos);    // times start at the first task
  EXPECT_NE(svg.find(">100</text>"), std::string::npos);  // the trace spans 110 ms
  EXPECT_NE(svg.find(">ms</text>"), std::string::npos);
  // Wait segments are hatched with a pattern defined inside the same SVG.
  EXPECT_NE(svg.find("<pattern id=\"hatch-0\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"url(#hatch-0)\""), std::string::npos);
}

TEST_F(HtmlReportTest, ShowsTablesScoresAndFailures) {
  const std::string page = html();
  EXPECT_EQ(count(page, "<table>"), report_.exercises.size());
  for (const auto& exercise : report_.exercises) {
    for (const auto& t : exercise.tests) {
      EXPECT_NE(page.find("<tr><td>" + t.spec.name), std::string::npos) << t.spec.name;
    }
  }
  EXPECT_NE(page.find("RACE (tsan)"), std::string::npos);
  EXPECT_NE(page.find("3998 &lt; 4000 &amp; &quot;quotes&quot;"), std::string::npos);
  EXPECT_EQ(page.find('\x1b'), std::string::npos);
  EXPECT_NE(page.find("did not compile"), std::string::npos);
  EXPECT_NE(page.find("3.0 / 11.0 points"), std::string::npos);
}

TEST_F(HtmlReportTest, AnUnreadableTraceIsReportedInsteadOfDrawn) {
  std::ofstream(trace_file_) << "{ not json";
  const std::string page = html();
  EXPECT_EQ(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("No timeline: Sum.TasksOverlap.json is not a trace"), std::string::npos);
  std::filesystem::remove(trace_file_);
  EXPECT_NE(html().find("No timeline: cannot open"), std::string::npos);
}

TEST_F(HtmlReportTest, EachTraceGetsItsOwnHatchPattern) {
  auto& traced = report_.exercises.front().tests.back();
  const auto second = dir_ / "second.json";
  std::filesystem::copy_file(trace_file_, second);
  traced.runs.front().traces.push_back(second);
  const auto svgs = svgs_of(html());
  ASSERT_EQ(svgs.size(), 2U);
  EXPECT_NE(svgs[1].find("<pattern id=\"hatch-1\""), std::string::npos);
  EXPECT_NE(svgs[1].find("fill=\"url(#hatch-1)\""), std::string::npos);
}

}  // namespace
}  // namespace grader::testing
