#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "report_fixture.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

class ClassroomReportTest : public ReportFixture {
 protected:
  [[nodiscard]] nlohmann::json parsed() const {
    return nlohmann::json::parse(render_classroom(report_));
  }
};

TEST_F(ClassroomReportTest, HasTheFieldsTheClassroomReporterReads) {
  const auto doc = parsed();
  EXPECT_EQ(doc.at("version"), 1);
  EXPECT_EQ(doc.at("status"), "fail") << "the fixture has failing tests";
  EXPECT_DOUBLE_EQ(doc.at("max_score").get<double>(), report_.max_score());
  ASSERT_TRUE(doc.at("tests").is_array());
}

TEST_F(ClassroomReportTest, TestScoresSumToTheReportScore) {
  const auto doc = parsed();
  double total = 0;
  std::size_t tests = 0;
  for (const auto& test : doc.at("tests")) {
    total += test.at("score").get<double>();
    EXPECT_TRUE(test.at("status") == "pass" || test.at("status") == "fail");
    EXPECT_TRUE(test.at("name").is_string());
    ++tests;
  }
  std::size_t expected_tests = 0;
  for (const auto& exercise : report_.exercises) expected_tests += exercise.tests.size();
  EXPECT_EQ(tests, expected_tests);
  EXPECT_DOUBLE_EQ(total, report_.score());
}

TEST_F(ClassroomReportTest, FailedTestsCarryTheirMessage) {
  bool saw_failure = false;
  const auto doc = parsed();
  for (const auto& test : doc.at("tests")) {
    if (test.at("status") == "fail") {
      saw_failure = true;
      EXPECT_FALSE(test.at("message").get<std::string>().empty()) << test.at("name");
    }
  }
  EXPECT_TRUE(saw_failure);
}

}  // namespace
}  // namespace grader::testing
