#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report_fixture.hpp"
#include "reports/reporters.hpp"

namespace grader::testing {
namespace {

class JsonReportTest : public ReportFixture {
 protected:
  [[nodiscard]] nlohmann::json parsed() const {
    return nlohmann::json::parse(render_json(report_));
  }

  [[nodiscard]] static const nlohmann::json& test_named(const nlohmann::json& doc,
                                                        std::string_view name) {
    for (const auto& exercise : doc.at("exercises")) {
      for (const auto& t : exercise.at("tests")) {
        if (t.at("name") == name) return t;
      }
    }
    throw std::logic_error("test missing from the JSON report");
  }
};

TEST_F(JsonReportTest, IsValidJsonEvenWhenTheOutputIsNotUtf8) {
  EXPECT_TRUE(nlohmann::json::accept(render_json(report_)));
}

TEST_F(JsonReportTest, CarriesTotalsAndPerExerciseScores) {
  const auto doc = parsed();
  EXPECT_EQ(doc.at("schema"), "course-grader-report");
  EXPECT_EQ(doc.at("version"), 1);
  EXPECT_DOUBLE_EQ(doc.at("score").get<double>(), kFixtureScore);
  EXPECT_DOUBLE_EQ(doc.at("max_score").get<double>(), kFixtureMaxScore);
  EXPECT_DOUBLE_EQ(doc.at("seconds").get<double>(), 12.5);
  EXPECT_EQ(doc.at("counts").at("tests"), kFixtureTests);
  EXPECT_EQ(doc.at("counts").at("passed"), 3);
  EXPECT_EQ(doc.at("counts").at("not_run"), 2);
  ASSERT_EQ(doc.at("exercises").size(), 2U);
  const auto& warmup = doc.at("exercises").at(0);
  EXPECT_EQ(warmup.at("id"), "00-warmup");
  EXPECT_DOUBLE_EQ(warmup.at("score").get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(warmup.at("max_score").get<double>(), 8.0);
  EXPECT_TRUE(warmup.at("build_error").is_null());
  EXPECT_EQ(warmup.at("student_files").size(), 2U);
  const auto& pool = doc.at("exercises").at(1);
  EXPECT_EQ(pool.at("build_error"), std::string(kBuildError));
}

TEST_F(JsonReportTest, KeepsEveryRunAndEveryAttempt) {
  const auto doc = parsed();
  const auto& race = test_named(doc, kRaceName);
  EXPECT_EQ(race.at("outcome"), "sanitizer");
  EXPECT_EQ(race.at("status"), "RACE (tsan)");
  EXPECT_EQ(race.at("passed"), false);
  ASSERT_EQ(race.at("runs").size(), 2U);
  EXPECT_EQ(race.at("runs").at(0).at("config"), "default");
  EXPECT_EQ(race.at("runs").at(1).at("config"), "tsan");
  EXPECT_EQ(race.at("runs").at(1).at("attempts").at(0).at("reason"), std::string(kTsanReason));

  const auto& retried = test_named(doc, kRetryName);
  EXPECT_EQ(retried.at("passed"), true);
  EXPECT_EQ(retried.at("tags"), nlohmann::json::array({"timing"}));
  ASSERT_EQ(retried.at("runs").at(0).at("attempts").size(), 2U);
  EXPECT_EQ(retried.at("runs").at(0).at("attempts").at(0).at("outcome"), "failed");
  EXPECT_DOUBLE_EQ(retried.at("seconds").get<double>(), 2.4);

  const auto& traced = test_named(doc, kTracedName);
  EXPECT_EQ(traced.at("runs").at(0).at("traces"), nlohmann::json::array({trace_file_.string()}));

  EXPECT_EQ(test_named(doc, kNotRunNoRunsName).at("outcome"), "not_run");
  EXPECT_TRUE(test_named(doc, kNotRunNoRunsName).at("runs").empty());
}

TEST_F(JsonReportTest, OutputIsKeptWithInvalidBytesReplaced) {
  const auto doc = parsed();
  const std::string output = test_named(doc, kFailName).at("runs").at(0).at("output");
  EXPECT_NE(output.find("bad byte \xEF\xBF\xBD end"), std::string::npos);
  EXPECT_NE(output.find("progress line 60"), std::string::npos);  // the whole output
}

}  // namespace
}  // namespace grader::testing
