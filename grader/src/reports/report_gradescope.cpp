// Gradescope's results.json: exactly the fields of Gradescope's autograder specification, with the
// per-test scores summing to the top-level score.
#include <cmath>
#include <nlohmann/json.hpp>

#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxBuildErrorLines = 60;

std::string test_output(const ExerciseResult& exercise, const TestResult& test) {
  std::string output;
  if (!test.spec.description.empty()) output += test.spec.description + "\n";
  if (test.passed()) {
    for (const auto& run : test.runs) {
      const std::string note = report::retry_note(run);
      if (!note.empty()) output += std::string(to_string(run.config)) + " build: " + note + "\n";
    }
    return output;
  }
  if (exercise.build_error) return output + "Not run: the exercise did not compile.\n";
  if (exercise.not_started) {
    return output + "Not run: the exercise is not started (its files are the skeleton's).\n";
  }
  return output + report::failure_text(test, report::kMaxFailureLines);
}

Json tags_of(const TestSpec& spec) {
  Json tags = Json::array();
  tags.push_back(to_string(spec.category));
  for (const auto& tag : spec.tags) tags.push_back(tag);
  return tags;
}

Json test_json(const ExerciseResult& exercise, const TestResult& test, std::size_t index) {
  return Json{{"name", exercise.manifest.id + ": " + test.spec.name},
              {"number", std::to_string(exercise.manifest.order) + "." + std::to_string(index)},
              {"score", test.score},
              {"max_score", test.spec.points},
              {"output", test_output(exercise, test)},
              {"tags", tags_of(test.spec)},
              {"visibility", "visible"},
              {"status", test.passed() ? "passed" : "failed"}};
}

std::string summary_output(const GradeReport& report, double score) {
  std::string output = "Score: " + report::score_summary(score, report.max_score()) + "\n";
  for (const auto& exercise : report.exercises) {
    output += exercise.manifest.id + " - " + exercise.manifest.title + ": " +
              report::format_points(exercise.score()) + " / " +
              report::format_points(exercise.max_score()) + "\n";
    if (!exercise.build_error) continue;
    output += "  did not compile:\n";
    const auto lines = report::excerpt(*exercise.build_error, kMaxBuildErrorLines);
    for (const auto& line : lines.lines) output += "    " + line + "\n";
    if (lines.omitted > 0) output += "    ... " + std::to_string(lines.omitted) + " more lines\n";
  }
  return output;
}

}  // namespace

std::string render_gradescope(const GradeReport& report) {
  Json tests = Json::array();
  double score = 0.0;  // summed from the same values written per test, so they always agree
  for (const auto& exercise : report.exercises) {
    std::size_t index = 0;
    for (const auto& test : exercise.tests) {
      tests.push_back(test_json(exercise, test, ++index));
      score += test.score;
    }
  }
  const Json results{{"score", score},
                     {"execution_time", std::lround(report.seconds)},
                     {"output", summary_output(report, score)},
                     {"output_format", "text"},
                     {"visibility", "visible"},
                     {"stdout_visibility", "hidden"},
                     {"tests", std::move(tests)}};
  return results.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace grader
