// Reporters: pure functions from a GradeReport to text in one format, and the table of formats
// that `grade --format` offers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "course/model.hpp"

namespace grader {

struct TextOptions {
  bool color = false;    // ANSI colours (only on a TTY with NO_COLOR unset)
  bool verbose = false;  // full output of failed tests instead of the capped excerpt
};

std::string render_text(const GradeReport& report, const TextOptions& options);
std::string render_json(const GradeReport& report);
std::string render_junit(const GradeReport& report);
std::string render_gradescope(const GradeReport& report);
std::string render_github(const GradeReport& report);
std::string render_html(const GradeReport& report);  // reads the trace files named in the report
std::string render_classroom(const GradeReport& report);  // GitHub Classroom's reporter payload

// One format of `grade --format`. Adding a format is a report_<name>.cpp with its render function
// and a row in report_formats() (reporters.cpp): the option's check, its help text and the
// dispatch are made from the table.
struct ReportFormat {
  std::string_view name;
  // `options` matter to the text report only; the others are the same on a terminal or in a file.
  std::string (*render)(const GradeReport& report, const TextOptions& options);
};

// Every format, "text" (the default) first.
const std::vector<ReportFormat>& report_formats();
// The format called `name`, or nullptr.
const ReportFormat* find_report_format(std::string_view name);
std::vector<std::string> report_format_names();

}  // namespace grader
