// JUnit XML as GitHub and GitLab render it: one <testsuite> per exercise, one <testcase> per test.
#include <cstdio>
#include <string>

#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {
namespace {

using report::xml_attribute;
using report::xml_escape;

std::string junit_seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
  return buffer;
}

struct SuiteCounts {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t skipped = 0;
  double seconds = 0.0;
};

SuiteCounts suite_counts(const ExerciseResult& exercise) {
  SuiteCounts counts;
  for (const auto& test : exercise.tests) {
    ++counts.tests;
    counts.seconds += test.seconds();
    if (test.passed()) continue;
    if (report::shown_outcome(test) == Outcome::not_run) {
      ++counts.skipped;
    } else {
      ++counts.failures;
    }
  }
  return counts;
}

std::string counts_attributes(const SuiteCounts& counts) {
  return " tests=\"" + std::to_string(counts.tests) + "\" failures=\"" +
         std::to_string(counts.failures) + "\" errors=\"0\" skipped=\"" +
         std::to_string(counts.skipped) + "\"";
}

std::string not_run_reason(const ExerciseResult& exercise, const TestResult& test) {
  if (exercise.build_error) return "not run: the exercise did not compile";
  const RunResult* run = report::deciding_run(test);
  if (run != nullptr && !run->attempts.empty() && !run->final_attempt().reason.empty()) {
    const std::string& reason = run->final_attempt().reason;
    return reason.starts_with("skipped") ? reason : "not run: " + reason;
  }
  return "not run";
}

void append_testcase(std::string& out, const ExerciseResult& exercise, const TestResult& test) {
  const report::TestName name = report::split_test_name(test.spec.name);
  const std::string classname =
      name.suite.empty() ? exercise.manifest.id : exercise.manifest.id + "." + name.suite;
  out += "    <testcase classname=\"" + xml_attribute(classname) + "\" name=\"" +
         xml_attribute(name.test_case) + "\" time=\"" + junit_seconds(test.seconds()) + "\"";
  if (test.passed()) {
    out += "/>\n";
    return;
  }
  out += ">\n";
  const Outcome outcome = report::shown_outcome(test);
  if (outcome == Outcome::not_run) {
    out += "      <skipped message=\"" + xml_attribute(not_run_reason(exercise, test)) + "\"/>\n";
  } else {
    const auto blocks = report::failure_blocks(test, report::kMaxFailureLines);
    const std::string message =
        blocks.empty() ? report::status_word(test) : blocks.front().headline;
    out += "      <failure message=\"" + xml_attribute(message) + "\" type=\"" +
           std::string(to_string(outcome)) + "\">" +
           xml_escape(report::failure_text(test, report::kMaxFailureLines)) + "</failure>\n";
  }
  out += "    </testcase>\n";
}

void append_testsuite(std::string& out, const ExerciseResult& exercise) {
  const SuiteCounts counts = suite_counts(exercise);
  out += "  <testsuite name=\"" + xml_attribute(exercise.manifest.id) + "\"" +
         counts_attributes(counts) + " time=\"" + junit_seconds(counts.seconds) + "\">\n";
  out += "    <properties>\n";
  out +=
      "      <property name=\"title\" value=\"" + xml_attribute(exercise.manifest.title) + "\"/>\n";
  out += "      <property name=\"implementation\" value=\"" +
         xml_attribute(exercise.implementation) + "\"/>\n";
  out += "      <property name=\"score\" value=\"" + report::format_points(exercise.score()) +
         "\"/>\n";
  out += "      <property name=\"max_score\" value=\"" +
         report::format_points(exercise.max_score()) + "\"/>\n";
  out += "    </properties>\n";
  for (const auto& test : exercise.tests) append_testcase(out, exercise, test);
  if (exercise.build_error) {
    out += "    <system-err>" + xml_escape(*exercise.build_error) + "</system-err>\n";
  }
  out += "  </testsuite>\n";
}

}  // namespace

std::string render_junit(const GradeReport& report) {
  SuiteCounts total;
  for (const auto& exercise : report.exercises) {
    const SuiteCounts counts = suite_counts(exercise);
    total.tests += counts.tests;
    total.failures += counts.failures;
    total.skipped += counts.skipped;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"course-grader\"" + counts_attributes(total) + " time=\"" +
         junit_seconds(report.seconds) + "\">\n";
  for (const auto& exercise : report.exercises) append_testsuite(out, exercise);
  out += "</testsuites>\n";
  return out;
}

}  // namespace grader
