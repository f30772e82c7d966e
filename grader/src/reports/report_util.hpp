// Helpers shared by the reporters: escaping for XML/HTML/Markdown, the status words students see,
// and excerpts of long test output. Everything here is a pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "course/model.hpp"

namespace grader::report {

// ---- Text hygiene -------------------------------------------------------------------------------

// Replaces every invalid UTF-8 sequence with U+FFFD, so that JSON, XML and HTML writers never
// choke on the bytes a student's program printed.
std::string valid_utf8(std::string_view text);

// valid_utf8, then drops characters a terminal or an XML parser must not see: C0 controls other
// than tab and newline (ANSI escapes start with one), DEL, and the non-characters U+FFFE/U+FFFF.
// "\r\n" becomes "\n"; a lone '\r' becomes '\n'.
std::string printable(std::string_view text);

// Escapes for XML and HTML character data (also safe inside double- or single-quoted attributes).
// Applies printable() first, so the result is always well-formed.
std::string xml_escape(std::string_view text);

// Like xml_escape but keeps newlines and tabs as character references, for attribute values
// whose line breaks should survive attribute-value normalisation.
std::string xml_attribute(std::string_view text);

// A Markdown table cell: one line, '|' escaped, HTML-sensitive characters escaped.
std::string markdown_cell(std::string_view text);

// A Markdown code fence longer than any run of backticks in text, so the block cannot be closed
// from inside.
std::string markdown_fence(std::string_view text);

// ---- Lines and excerpts -------------------------------------------------------------------------

std::vector<std::string_view> split_lines(std::string_view text);

// The first max_lines lines of text (after printable()), each cut to max_width characters; the
// number of lines left out is in omitted. max_lines = 0 means "no limit" (verbose output).
struct Excerpt {
  std::vector<std::string> lines;
  std::size_t omitted = 0;
};
Excerpt excerpt(std::string_view text, std::size_t max_lines, std::size_t max_width = 400);

// The default cap on failure output per test, in every human-facing report.
inline constexpr std::size_t kMaxFailureLines = 40;

// ---- Numbers ------------------------------------------------------------------------------------

std::string format_points(double points);                   // "7.0", "0.5", "0.25"
std::string format_seconds(double seconds);                 // "0.01 s", "12.3 s", "2 min 03 s"
std::string format_percent(double part, double whole);      // "56.7%", "100%"
std::string score_summary(double score, double max_score);  // "7.0 / 10.0 points (70%)"

// The time column of a test: its total seconds over every run and attempt, "-" when it never ran.
std::string format_test_time(const TestResult& test);

// ---- Test names and status ----------------------------------------------------------------------

// GoogleTest "Suite.Case" split at the first '.'; a name without '.' is all case.
struct TestName {
  std::string suite;
  std::string test_case;
};
TestName split_test_name(std::string_view full_name);

// The run that decides how a test is shown: the first run that did not pass (normal build first,
// then the sanitizer builds), or the last run when all passed; nullptr when there is no run.
const RunResult* deciding_run(const TestResult& test);

// The outcome shown for a test: not_run when it has no run.
Outcome shown_outcome(const TestResult& test);

// One word (or two) for a status column: PASS, FAIL, TIMEOUT, CRASH, RACE (tsan), ASAN, LIMIT,
// OUTPUT, NOT RUN, with notes such as "(tsan)" when a sanitizer build failed a test that passed
// normally, and "(retry 1)" when a timing test needed a retry.
std::string status_word(const TestResult& test);

// Short words without notes, for one outcome in one build configuration.
std::string outcome_word(Outcome outcome, BuildConfig config);

// "passed on retry 2 of 2" / "failed 3 times"; empty when the run had a single attempt.
std::string retry_note(const RunResult& run);

// What went wrong in one failing run: a headline ("RACE (tsan): WARNING: ThreadSanitizer: data
// race"), then detail lines (the rest of a multi-line reason, earlier attempts of a retried run,
// the captured output), capped to max_lines (0 = no limit) with the count of lines left out.
// A sanitizer run shows its report (the reason) and leaves the raw output to verbose mode.
struct FailureBlock {
  const RunResult* run = nullptr;  // nullptr for a test that has no run at all
  std::string headline;
  std::vector<std::string> details;
  std::size_t omitted = 0;
};
std::vector<FailureBlock> failure_blocks(const TestResult& test,
                                         std::size_t max_lines = kMaxFailureLines);

// failure_blocks as plain text: headline, then the details, then "... N more lines".
std::string failure_text(const TestResult& test, std::size_t max_lines = kMaxFailureLines);

// The runs of a test that did not pass, in order.
std::vector<const RunResult*> failing_runs(const TestResult& test);

// Counts over a report or an exercise, for summaries.
struct Counts {
  std::size_t tests = 0;
  std::size_t passed = 0;
  std::size_t failed = 0;   // ran and did not pass
  std::size_t not_run = 0;  // never ran (build error, missing from the binary)
};
Counts count_tests(const ExerciseResult& exercise);
Counts count_tests(const GradeReport& report);

}  // namespace grader::report
