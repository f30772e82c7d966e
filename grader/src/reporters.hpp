// Reporters: pure functions from a GradeReport to text in one format.
#pragma once

#include <string>

#include "model.hpp"

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

}  // namespace grader
