// A Markdown summary for $GITHUB_STEP_SUMMARY: the total, one table per exercise and the failure
// details folded in <details> blocks.
#include <string>

#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {
namespace {

using report::markdown_cell;

constexpr std::size_t kMaxBuildErrorLines = 60;

void append_code_block(std::string& out, const std::string& text) {
  const std::string fence = report::markdown_fence(text);
  out += fence + "text\n" + text;
  if (!text.empty() && text.back() != '\n') out += '\n';
  out += fence + "\n";
}

void append_details(std::string& out, const std::string& summary, const std::string& body) {
  out += "<details><summary>" + report::xml_escape(summary) + "</summary>\n\n";
  append_code_block(out, body);
  out += "\n</details>\n\n";
}

void append_table(std::string& out, const ExerciseResult& exercise) {
  out += "| Test | Category | Points | Status | Time |\n";
  out += "| --- | --- | ---: | --- | ---: |\n";
  for (const auto& test : exercise.tests) {
    out += "| " + markdown_cell(test.spec.name) + " | " +
           std::string(to_string(test.spec.category)) + " | " + report::format_points(test.score) +
           " / " + report::format_points(test.spec.points) + " | " +
           markdown_cell(report::status_word(test)) + " | " + report::format_test_time(test) +
           " |\n";
  }
  out += '\n';
}

std::string build_error_text(const std::string& build_error) {
  const auto lines = report::excerpt(build_error, kMaxBuildErrorLines);
  std::string text;
  for (const auto& line : lines.lines) text += line + "\n";
  if (lines.omitted > 0) text += "... " + std::to_string(lines.omitted) + " more lines\n";
  return text;
}

void append_exercise(std::string& out, const ExerciseResult& exercise) {
  out += "### " + markdown_cell(exercise.manifest.id) + " — " +
         markdown_cell(exercise.manifest.title) + ": " + report::format_points(exercise.score()) +
         " / " + report::format_points(exercise.max_score()) + " points\n\n";
  if (!exercise.implementation.empty() && exercise.implementation != "exercises") {
    out += "Implementation: " + markdown_cell(exercise.implementation) + "\n\n";
  }
  if (exercise.not_started) {
    out += "Not started: every file is the skeleton's, so nothing was built or run.\n\n";
    return;
  }
  if (exercise.build_error) {
    out += "**Did not compile**, so no test ran.\n\n";
    append_details(out, "Compiler errors", build_error_text(*exercise.build_error));
  }
  append_table(out, exercise);
  if (exercise.build_error) return;
  for (const auto& test : exercise.tests) {
    if (test.passed()) continue;
    append_details(out, test.spec.name + ": " + report::status_word(test),
                   report::failure_text(test, report::kMaxFailureLines));
  }
}

}  // namespace

std::string render_github(const GradeReport& report) {
  const double score = report.score();
  const double max_score = report.max_score();
  const report::Counts counts = report::count_tests(report);
  std::string out = "## Grade: " + report::score_summary(score, max_score) + "\n\n";
  out += std::to_string(counts.passed) + " of " + std::to_string(counts.tests) + " tests pass";
  if (counts.not_run > 0) out += ", " + std::to_string(counts.not_run) + " not run";
  out += ", in " + report::format_seconds(report.seconds) + ".\n\n";
  for (const auto& exercise : report.exercises) append_exercise(out, exercise);
  return out;
}

}  // namespace grader
