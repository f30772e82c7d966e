#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "report_fixture.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

class GradescopeReportTest : public ReportFixture {
 protected:
  [[nodiscard]] nlohmann::json parsed() const {
    return nlohmann::json::parse(render_gradescope(report_));
  }
};

TEST_F(GradescopeReportTest, TopLevelHasExactlyGradescopesFields) {
  const auto doc = parsed();
  EXPECT_EQ(keys_of(doc),
            (std::set<std::string>{"score", "execution_time", "output", "output_format",
                                   "visibility", "stdout_visibility", "tests"}));
  EXPECT_TRUE(doc.at("score").is_number());
  EXPECT_TRUE(doc.at("execution_time").is_number());
  EXPECT_EQ(doc.at("execution_time"), 13);  // 12.5 s, rounded
  EXPECT_TRUE(doc.at("output").is_string());
  EXPECT_EQ(doc.at("output_format"), "text");
  EXPECT_EQ(doc.at("visibility"), "visible");
  EXPECT_EQ(doc.at("stdout_visibility"), "hidden");
  EXPECT_TRUE(doc.at("tests").is_array());
}

TEST_F(GradescopeReportTest, EveryTestHasExactlyGradescopesFields) {
  const auto doc = parsed();
  ASSERT_EQ(doc.at("tests").size(), kFixtureTests);
  for (const auto& t : doc.at("tests")) {
    EXPECT_EQ(keys_of(t), (std::set<std::string>{"name", "number", "score", "max_score", "output",
                                                 "tags", "visibility", "status"}))
        << t.dump();
    EXPECT_TRUE(t.at("name").is_string());
    EXPECT_TRUE(t.at("number").is_string());
    EXPECT_TRUE(t.at("score").is_number());
    EXPECT_TRUE(t.at("max_score").is_number());
    EXPECT_TRUE(t.at("output").is_string());
    EXPECT_TRUE(t.at("tags").is_array());
    EXPECT_EQ(t.at("visibility"), "visible");
    const std::string status = t.at("status");
    EXPECT_TRUE(status == "passed" || status == "failed") << status;
    EXPECT_EQ(status == "passed", t.at("score") == t.at("max_score")) << t.dump();
  }
}

TEST_F(GradescopeReportTest, ScoresSumToTheTotal) {
  const auto doc = parsed();
  double sum = 0;
  double max_sum = 0;
  for (const auto& t : doc.at("tests")) {
    sum += t.at("score").get<double>();
    max_sum += t.at("max_score").get<double>();
  }
  EXPECT_DOUBLE_EQ(doc.at("score").get<double>(), sum);
  EXPECT_DOUBLE_EQ(sum, kFixtureScore);
  EXPECT_DOUBLE_EQ(max_sum, kFixtureMaxScore);
}

TEST_F(GradescopeReportTest, NumbersAreExerciseOrderDotTestIndex) {
  const auto doc = parsed();
  std::vector<std::string> numbers;
  for (const auto& t : doc.at("tests")) numbers.push_back(t.at("number"));
  EXPECT_EQ(numbers,
            (std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "1.1", "1.2"}));
  EXPECT_EQ(doc.at("tests").at(0).at("name"), "00-warmup: " + std::string(kPassName));
  EXPECT_EQ(doc.at("tests").at(3).at("tags"),
            nlohmann::json::array({"concurrency", "sanitizer:tsan"}));
}

TEST_F(GradescopeReportTest, OutputsExplainFailuresAndTheBuildError) {
  const auto doc = parsed();
  const auto& tests = doc.at("tests");
  const std::string failed = tests.at(1).at("output");
  EXPECT_NE(failed.find("FAIL: counter.cpp:42: Failure"), std::string::npos);
  EXPECT_NE(failed.find("more lines left out"), std::string::npos);  // capped
  EXPECT_NE(std::string(tests.at(3).at("output")).find("RACE (tsan)"), std::string::npos);
  EXPECT_NE(std::string(tests.at(4).at("output")).find("passed on retry 1 of 2"),
            std::string::npos);
  EXPECT_NE(std::string(tests.at(6).at("output")).find("did not compile"), std::string::npos);
  const std::string summary = doc.at("output");
  EXPECT_NE(summary.find("Score: 3.0 / 11.0 points"), std::string::npos);
  EXPECT_NE(summary.find("'submit' was not declared in this scope"), std::string::npos);
}

}  // namespace
}  // namespace grader::testing
