// Where a grade's reports go: each --format to its --output or to stdout, and always
// build/reports/last/report.json and report.html.
#include <cstdio>
#include <iostream>

#include "commands/commands.hpp"
#include "commands/standing.hpp"
#include "course/util.hpp"
#include "reports/reporters.hpp"

namespace grader {

namespace {

std::string render(const std::string& format, const GradeReport& report, const GradeArgs& args,
                   bool to_terminal) {
  const auto* found = find_report_format(format);
  if (found == nullptr) throw GraderError("--format: unknown format '" + format + "'");
  return found->render(report, TextOptions{to_terminal && use_color(), args.verbose});
}

void append_file(const fs::path& path, const std::string& content) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) throw GraderError("cannot append to " + path.string());
  std::fwrite(content.data(), 1, content.size(), file);
  std::fclose(file);
}

}  // namespace

void emit_reports(const fs::path& root, const GradeReport& report, const GradeArgs& args) {
  const auto last = root / "build" / "reports" / "last";
  write_file(last / "report.json", render_json(report));
  write_file(last / "report.html", render_html(report));
  // `list` shows the last grade of every test of the student's own exercises.
  if (args.tests.empty() && args.impl == "exercises")
    record_standings(root, report, !args.no_sanitizers);

  std::vector<std::string> formats = args.formats;
  if (formats.empty()) formats.push_back("text");
  bool stdout_used = false;
  bool text_on_stdout = false;
  for (std::size_t i = 0; i < formats.size(); ++i) {
    const auto& format = formats[i];
    if (i < args.outputs.size() && !args.outputs[i].empty()) {
      write_file(args.outputs[i], render(format, report, args, false));
      continue;
    }
    const auto summary = get_env("GITHUB_STEP_SUMMARY");
    if (format == "github" && summary && !summary->empty()) {
      append_file(*summary, render(format, report, args, false));
      continue;
    }
    std::cout << render(format, report, args, stdout_is_tty());
    stdout_used = true;
    text_on_stdout = text_on_stdout || format == "text";
  }
  // Reports written only to files still deserve a summary on the terminal.
  if (!stdout_used) {
    std::cout << render("text", report, args, stdout_is_tty());
    text_on_stdout = true;
  }
  if (text_on_stdout) {
    if (args.no_sanitizers) std::cout << "Note: sanitizer runs skipped (--no-sanitizers).\n";
    std::cout << "Reports: " << display_path(last / "report.json", root) << ", "
              << display_path(last / "report.html", root) << "\n";
  }
  std::cout.flush();
}

}  // namespace grader
