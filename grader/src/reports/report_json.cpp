// The machine-readable report: the whole GradeReport in the schema documented in grader/README.md.
//
// {"schema": "course-grader-report", "version": 1, "score", "max_score", "seconds", "sandbox",
//  "counts": {"tests", "passed", "failed", "not_run"},
//  "exercises": [{"id", "title", "order", "implementation", "student_files", "score", "max_score",
//                 "counts", "build_error": string | null, "not_started": bool,
//                 "tests": [{"name", "category", "points", "score", "passed", "outcome", "status",
//                            "seconds", "timeout_s", "tags", "description",
//                            "runs": [{"config": "default" | "asan" | "tsan", "outcome", "passed",
//                                      "attempts": [{"outcome", "seconds", "reason"}],
//                                      "output", "traces": [path, ...]}]}]}]}
#include <nlohmann/json.hpp>

#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {
namespace {

using Json = nlohmann::ordered_json;  // keeps keys in the documented order

constexpr int kSchemaVersion = 1;

Json attempt_json(const Attempt& attempt) {
  return Json{{"outcome", to_string(attempt.outcome)},
              {"seconds", attempt.seconds},
              {"reason", attempt.reason}};
}

Json run_json(const RunResult& run) {
  Json attempts = Json::array();
  for (const auto& attempt : run.attempts) attempts.push_back(attempt_json(attempt));
  Json traces = Json::array();
  for (const auto& trace : run.traces) traces.push_back(trace.string());
  const Outcome outcome = run.attempts.empty() ? Outcome::not_run : run.final_attempt().outcome;
  return Json{{"config", to_string(run.config)},
              {"outcome", to_string(outcome)},
              {"passed", run.passed()},
              {"attempts", std::move(attempts)},
              {"output", run.output},
              {"traces", std::move(traces)}};
}

Json test_json(const TestResult& test) {
  Json runs = Json::array();
  for (const auto& run : test.runs) runs.push_back(run_json(run));
  return Json{{"name", test.spec.name},
              {"category", to_string(test.spec.category)},
              {"points", test.spec.points},
              {"score", test.score},
              {"passed", test.passed()},
              {"outcome", to_string(report::shown_outcome(test))},
              {"status", report::status_word(test)},
              {"seconds", test.seconds()},
              {"timeout_s", test.spec.timeout_s},
              {"tags", test.spec.tags},
              {"description", test.spec.description},
              {"runs", std::move(runs)}};
}

Json counts_json(const report::Counts& counts) {
  return Json{{"tests", counts.tests},
              {"passed", counts.passed},
              {"failed", counts.failed},
              {"not_run", counts.not_run}};
}

Json exercise_json(const ExerciseResult& exercise) {
  Json tests = Json::array();
  for (const auto& test : exercise.tests) tests.push_back(test_json(test));
  const auto& manifest = exercise.manifest;
  return Json{{"id", manifest.id},
              {"title", manifest.title},
              {"order", manifest.order},
              {"implementation", exercise.implementation},
              {"student_files", manifest.student_files},
              {"score", exercise.score()},
              {"max_score", exercise.max_score()},
              {"counts", counts_json(report::count_tests(exercise))},
              {"build_error", exercise.build_error ? Json(*exercise.build_error) : Json(nullptr)},
              {"not_started", exercise.not_started},
              {"tests", std::move(tests)}};
}

}  // namespace

std::string render_json(const GradeReport& report) {
  Json exercises = Json::array();
  for (const auto& exercise : report.exercises) exercises.push_back(exercise_json(exercise));
  const Json document{
      {"schema", "course-grader-report"}, {"version", kSchemaVersion},
      {"score", report.score()},          {"max_score", report.max_score()},
      {"seconds", report.seconds},        {"counts", counts_json(report::count_tests(report))},
      {"sandbox", report.sandbox},        {"exercises", std::move(exercises)}};
  // Student programs may print invalid UTF-8; replace it rather than throw.
  return document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace grader
