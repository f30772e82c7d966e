// The result payload GitHub Classroom's autograding reporter reads
// (classroom-resources/autograding-grading-reporter): one runner's results,
// which the workflow base64-encodes into the step output `result`.
#include <nlohmann/json.hpp>

#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {

std::string render_classroom(const GradeReport& report) {
  using Json = nlohmann::ordered_json;
  Json tests = Json::array();
  for (const auto& exercise : report.exercises) {
    for (const auto& test : exercise.tests) {
      tests.push_back(Json{
          {"name", exercise.manifest.id + ": " + test.spec.name},
          {"status", test.passed() ? "pass" : "fail"},
          {"score", test.score},
          {"max_score", test.spec.points},
          {"message",
           test.passed() ? std::string() : report::failure_text(test, report::kMaxFailureLines)},
          {"line_no", 0},
          {"execution_time", report::format_seconds(test.seconds())},
      });
    }
  }
  const bool all_passed = report.score() >= report.max_score();
  const Json payload{{"version", 1},
                     {"status", all_passed ? "pass" : "fail"},
                     {"max_score", report.max_score()},
                     {"tests", tests}};
  return payload.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace grader
