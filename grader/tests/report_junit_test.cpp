#include <gtest/gtest.h>

#include <string>

#include "report_fixture.hpp"
#include "report_xml_reader.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

class JunitReportTest : public ReportFixture {
 protected:
  [[nodiscard]] std::unique_ptr<XmlElement> parsed() const {
    return parse_xml(render_junit(report_));
  }

  static const XmlElement& testcase(const XmlElement& suite, const std::string& name) {
    for (const auto* c : suite.all("testcase")) {
      if (c->attribute("name") == name) return *c;
    }
    throw std::logic_error("no testcase " + name);
  }
};

TEST_F(JunitReportTest, TheReaderRejectsMalformedXml) {
  // The checks below are only as good as the reader: make sure it can fail.
  EXPECT_THROW(parse_xml("<a><b></a></b>"), std::runtime_error);
  EXPECT_THROW(parse_xml("<a>x < y</a>"), std::runtime_error);
  EXPECT_THROW(parse_xml("<a>x & y</a>"), std::runtime_error);
  EXPECT_THROW(parse_xml("<a b=\"1\" b=\"2\"/>"), std::runtime_error);
  EXPECT_THROW(parse_xml("<a>\x1b[31m</a>"), std::runtime_error);
  EXPECT_THROW(parse_xml("<a>\xff</a>"), std::runtime_error);
  EXPECT_THROW(parse_xml("<a>&#1;</a>"), std::runtime_error);
  EXPECT_NO_THROW(parse_xml("<?xml version=\"1.0\"?>\n<a b='&lt;&amp;&quot;'>t&#10;</a>"));
}

TEST_F(JunitReportTest, IsWellFormedDespiteMarkupControlCharactersAndBadBytes) {
  const std::string xml = render_junit(report_);
  ASSERT_NO_THROW(parse_xml(xml)) << xml;
  EXPECT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
  EXPECT_NE(xml.find("3998 &lt; 4000 &amp; &quot;quotes&quot; &#39;too&#39;"), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml.find('\x07'), std::string::npos);
}

TEST_F(JunitReportTest, CountsInTheSuiteAttributesMatchTheTestcases) {
  const auto root = parsed();
  EXPECT_EQ(root->name, "testsuites");
  EXPECT_EQ(root->attribute("tests"), "8");
  EXPECT_EQ(root->attribute("failures"), "3");
  EXPECT_EQ(root->attribute("errors"), "0");
  EXPECT_EQ(root->attribute("skipped"), "2");
  EXPECT_EQ(root->attribute("time"), "12.500");
  const auto suites = root->all("testsuite");
  ASSERT_EQ(suites.size(), 2U);
  EXPECT_EQ(suites[0]->attribute("name"), "00-warmup");
  EXPECT_EQ(suites[1]->attribute("name"), "01-pool");
  for (const auto* suite : suites) {
    std::size_t failures = 0;
    std::size_t skipped = 0;
    for (const auto* c : suite->all("testcase")) {
      failures += c->all("failure").size();
      skipped += c->all("skipped").size();
    }
    EXPECT_EQ(suite->attribute("tests"), std::to_string(suite->all("testcase").size()));
    EXPECT_EQ(suite->attribute("failures"), std::to_string(failures));
    EXPECT_EQ(suite->attribute("skipped"), std::to_string(skipped));
  }
  EXPECT_EQ(suites[0]->attribute("failures"), "3");
  EXPECT_EQ(suites[1]->attribute("skipped"), "2");
}

TEST_F(JunitReportTest, TestcasesUseExerciseAndSuiteAsClassname) {
  const auto root = parsed();
  const auto& warmup = *root->all("testsuite")[0];
  const auto& pass = testcase(warmup, "CountsOneThread");
  EXPECT_EQ(pass.attribute("classname"), "00-warmup.Counter");
  EXPECT_EQ(pass.attribute("time"), "0.012");
  EXPECT_TRUE(pass.children.empty());
  EXPECT_EQ(testcase(warmup, "ParallelIsFaster").attribute("classname"), "00-warmup.Sum");
  EXPECT_TRUE(testcase(warmup, "ParallelIsFaster").children.empty());  // passed on retry
}

TEST_F(JunitReportTest, FailuresCarryTheReasonAndTheOutput) {
  const auto root = parsed();
  const auto& warmup = *root->all("testsuite")[0];
  const auto* failure = testcase(warmup, "MutexCounterIsExact").first("failure");
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->attribute("message"), "FAIL: counter.cpp:42: Failure");
  EXPECT_EQ(failure->attribute("type"), "failed");
  EXPECT_NE(failure->text.find("Which is: 3998 < 4000 & \"quotes\" 'too'"), std::string::npos);
  EXPECT_NE(failure->text.find("red text[0m bell nul bad byte \xEF\xBF\xBD end"),
            std::string::npos);

  const auto* timeout = testcase(warmup, "JoinsAllThreads").first("failure");
  ASSERT_NE(timeout, nullptr);
  EXPECT_EQ(timeout->attribute("type"), "timeout");
  EXPECT_TRUE(timeout->attribute("message").starts_with("TIMEOUT: timed out after 10.0 s"));

  const auto* race = testcase(warmup, "ConcurrentIncrements").first("failure");
  ASSERT_NE(race, nullptr);
  EXPECT_EQ(race->attribute("type"), "sanitizer");
  EXPECT_NE(race->text.find("Write of size 8"), std::string::npos);
}

TEST_F(JunitReportTest, NotRunTestsAreSkippedAndTheBuildErrorIsKept) {
  const auto root = parsed();
  const auto& pool = *root->all("testsuite")[1];
  for (const auto* c : pool.all("testcase")) {
    ASSERT_NE(c->first("skipped"), nullptr);
    EXPECT_EQ(c->first("skipped")->attribute("message"), "not run: the exercise did not compile");
    EXPECT_EQ(c->first("failure"), nullptr);
  }
  ASSERT_NE(pool.first("system-err"), nullptr);
  EXPECT_EQ(pool.first("system-err")->text, std::string(kBuildError));
}

TEST_F(JunitReportTest, NamesAndTitlesAreEscapedToo) {
  GradeReport odd;
  ExerciseResult e;
  e.manifest.id = "02-<odd>";
  e.manifest.title = "Quotes \" and ' and & and \x01 control";
  e.tests.push_back(result(spec("Suite.Name<&>\"'", 1, Category::correctness),
                           {run(BuildConfig::normal, {{Outcome::crashed, 0.1, "a\nb < c\x02"}})}));
  e.manifest.tests.push_back(e.tests.back().spec);
  odd.exercises.push_back(e);
  const auto root = parse_xml(render_junit(odd));
  const auto& suite = *root->first("testsuite");
  EXPECT_EQ(suite.attribute("name"), "02-<odd>");
  const auto& c = *suite.first("testcase");
  EXPECT_EQ(c.attribute("name"), "Name<&>\"'");
  EXPECT_EQ(c.first("failure")->attribute("message"), "CRASH: a");
  EXPECT_NE(c.first("failure")->text.find("b < c\n"), std::string::npos);
}

}  // namespace
}  // namespace grader::testing
