// The terminal report students read after `grader/grader grade`: one block per exercise with a
// table of tests, what went wrong, and what to do next.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "course/util.hpp"
#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {
namespace {

using report::printable;

constexpr std::size_t kMaxBuildErrorLines = 60;
constexpr std::string_view kIndent = "  ";
constexpr std::string_view kDetailIndent = "      ";

enum class Tone { plain, good, bad, warn, dim, strong };

class Painter {
 public:
  explicit Painter(bool enabled) : enabled_(enabled) {}

  [[nodiscard]] std::string operator()(std::string_view text, Tone tone) const {
    if (!enabled_ || tone == Tone::plain) return std::string(text);
    return std::string(code(tone)) + std::string(text) + "\x1b[0m";
  }

 private:
  static std::string_view code(Tone tone) {
    switch (tone) {
      case Tone::good:
        return "\x1b[32m";
      case Tone::bad:
        return "\x1b[31m";
      case Tone::warn:
        return "\x1b[33m";
      case Tone::dim:
        return "\x1b[2m";
      case Tone::strong:
        return "\x1b[1m";
      case Tone::plain:
        return "";
    }
    return "";
  }
  bool enabled_;
};

Tone tone_of(Outcome outcome) {
  switch (outcome) {
    case Outcome::passed:
      return Tone::good;
    case Outcome::timeout:
    case Outcome::resource_limit:
    case Outcome::output_limit:
      return Tone::warn;
    case Outcome::not_run:
      return Tone::dim;
    case Outcome::failed:
    case Outcome::crashed:
    case Outcome::sanitizer:
      return Tone::bad;
  }
  return Tone::plain;
}

Tone tone_of_score(double score, double max_score) {
  if (max_score > 0 && score >= max_score - 1e-9) return Tone::good;
  return score > 0 ? Tone::warn : Tone::bad;
}

std::string pad_right(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string pad_left(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

// One table row before alignment; colour is applied after padding so escapes do not count.
struct Row {
  std::string test;
  std::string category;
  std::string points;
  std::string status;
  std::string time;
  Tone status_tone = Tone::plain;
};

std::vector<Row> rows_of(const ExerciseResult& exercise) {
  std::vector<Row> rows;
  for (const auto& test : exercise.tests) {
    rows.push_back(Row{
        .test = printable(test.spec.name),
        .category = std::string(to_string(test.spec.category)),
        .points = report::format_points(test.score) + "/" + report::format_points(test.spec.points),
        .status = report::status_word(test),
        .time = report::format_test_time(test),
        .status_tone = tone_of(report::shown_outcome(test)),
    });
  }
  return rows;
}

void append_table(std::string& out, const ExerciseResult& exercise, const Painter& paint) {
  const Row heading{"test", "category", "points", "status", "time", Tone::plain};
  const std::vector<Row> rows = rows_of(exercise);
  std::size_t widths[5] = {0, 0, 0, 0, 0};
  const auto widen = [&](const Row& row) {
    widths[0] = std::max(widths[0], row.test.size());
    widths[1] = std::max(widths[1], row.category.size());
    widths[2] = std::max(widths[2], row.points.size());
    widths[3] = std::max(widths[3], row.status.size());
    widths[4] = std::max(widths[4], row.time.size());
  };
  widen(heading);
  for (const auto& row : rows) widen(row);
  const auto line = [&](const Row& row, bool is_heading) {
    std::string text(kIndent);
    text += pad_right(row.test, widths[0]) + "  ";
    text += pad_right(row.category, widths[1]) + "  ";
    text += pad_left(row.points, widths[2]) + "  ";
    text += paint(pad_right(row.status, widths[3]), row.status_tone) + "  ";
    text += pad_left(row.time, widths[4]);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += is_heading ? paint(text, Tone::dim) : text;
    out += '\n';
  };
  line(heading, true);
  for (const auto& row : rows) line(row, false);
}

void append_header(std::string& out, const ExerciseResult& exercise, const Painter& paint) {
  const double score = exercise.score();
  const double max_score = exercise.max_score();
  out += paint(printable(exercise.manifest.id) + " — " + printable(exercise.manifest.title),
               Tone::strong);
  out += " (";
  out += paint(report::format_points(score) + " / " + report::format_points(max_score) + " points",
               tone_of_score(score, max_score));
  out += ")\n";
  if (!exercise.implementation.empty() && exercise.implementation != "exercises") {
    out += std::string(kIndent) + "implementation: " + printable(exercise.implementation) + "\n";
  }
}

void append_lines(std::string& out, const report::Excerpt& excerpt, std::string_view indent,
                  std::string_view what_is_left_out) {
  for (const auto& line : excerpt.lines) out += std::string(indent) + line + "\n";
  if (excerpt.omitted > 0) {
    out += std::string(indent) + "... " + std::to_string(excerpt.omitted) + " more lines of " +
           std::string(what_is_left_out) + " (add --verbose to see everything)\n";
  }
}

void append_build_error(std::string& out, const ExerciseResult& exercise,
                        const TextOptions& options, const Painter& paint) {
  out += '\n' + std::string(kIndent) +
         paint("The exercise did not compile, so no test ran.", Tone::bad) + " Compiler errors:\n";
  const auto lines =
      report::excerpt(*exercise.build_error, options.verbose ? 0 : kMaxBuildErrorLines);
  append_lines(out, lines, kDetailIndent, "compiler output");
}

// A word the shell passes through as it is, or the word in single quotes.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("_-./:=+,").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The command that runs one test again, alone, on the same implementation.
std::string rerun_command(const ExerciseResult& exercise, const TestResult& test) {
  std::string command = "grader/grader grade " + shell_word(exercise.manifest.id) + " --test " +
                        shell_word(test.spec.name);
  if (!exercise.implementation.empty() && exercise.implementation != "exercises") {
    command += " --impl " + shell_word(exercise.implementation);
  }
  return command;
}

void append_failure(std::string& out, const ExerciseResult& exercise, const TestResult& test,
                    const TextOptions& options, const Painter& paint) {
  out += '\n' + std::string(kIndent) + paint(printable(test.spec.name), Tone::strong);
  if (!test.spec.description.empty()) out += " — " + printable(test.spec.description);
  out += '\n';
  const std::size_t cap = options.verbose ? 0 : report::kMaxFailureLines;
  for (const auto& block : report::failure_blocks(test, cap)) {
    const Outcome outcome = block.run != nullptr && !block.run->attempts.empty()
                                ? block.run->final_attempt().outcome
                                : Outcome::not_run;
    out += std::string(kIndent) + "  " + paint(block.headline, tone_of(outcome)) + '\n';
    append_lines(out, report::Excerpt{block.details, block.omitted}, kDetailIndent, "output");
  }
  out += std::string(kIndent) + "  " + paint("Run it alone:", Tone::dim) + " " +
         printable(rerun_command(exercise, test)) + '\n';
}

void append_next_step(std::string& out, const ExerciseResult& exercise, const Painter& paint) {
  const std::string id = printable(exercise.manifest.id);
  const std::string watch = "`grader/grader watch " + id + "` to re-grade on every save";
  std::string advice;
  if (exercise.build_error) {
    advice = "fix the first compiler error above, then run " + watch + ".";
  } else if (exercise.manifest.hints.empty()) {
    advice = "re-read exercises/" + id + "/README.md, then run " + watch + ".";
  } else {
    advice = "run `grader/grader hint " + id + "` for a hint, or " + watch + ".";
  }
  out += '\n' + std::string(kIndent) + paint("Next step:", Tone::strong) + " " + advice + '\n';
}

// An exercise whose files are all the skeleton's: nothing was built; say how to start it.
void append_not_started(std::string& out, const ExerciseResult& exercise, const Painter& paint) {
  const std::string id = printable(exercise.manifest.id);
  out += std::string(kIndent) + paint("Not started", Tone::dim) + " (" +
         std::to_string(exercise.tests.size()) +
         " tests, nothing built). To start: read exercises/" + id +
         "/README.md and edit the files it names; `grader/grader grade " + id +
         "` then grades it.\n";
}

void append_exercise(std::string& out, const ExerciseResult& exercise, const TextOptions& options,
                     const Painter& paint) {
  append_header(out, exercise, paint);
  if (exercise.not_started) {
    append_not_started(out, exercise, paint);
    return;
  }
  append_table(out, exercise, paint);
  if (exercise.build_error) append_build_error(out, exercise, options, paint);
  bool all_passed = !exercise.build_error && !exercise.tests.empty();
  for (const auto& test : exercise.tests) {
    if (test.passed()) continue;
    all_passed = false;
    // After a build error every test is "not run"; the compiler errors already say why.
    if (!exercise.build_error) append_failure(out, exercise, test, options, paint);
  }
  if (all_passed) {
    out += std::string(kIndent) + paint("All tests pass.", Tone::good) + '\n';
  } else {
    append_next_step(out, exercise, paint);
  }
}

void append_total(std::string& out, const GradeReport& report, const Painter& paint) {
  const double score = report.score();
  const double max_score = report.max_score();
  const report::Counts counts = report::count_tests(report);
  std::string line = "Total: " + report::score_summary(score, max_score);
  out += paint(line, tone_of_score(score, max_score));
  out +=
      " — " + std::to_string(counts.passed) + " of " + std::to_string(counts.tests) + " tests pass";
  if (counts.not_run > 0) out += ", " + std::to_string(counts.not_run) + " not run";
  out += ", in " + report::format_seconds(report.seconds) + '\n';
  const auto not_started = std::count_if(report.exercises.begin(), report.exercises.end(),
                                         [](const ExerciseResult& e) { return e.not_started; });
  if (not_started > 0) {
    out += std::to_string(not_started) + " of " + std::to_string(report.exercises.size()) +
           " exercises not started (their files are the skeleton's: nothing was built for them)\n";
  }
  if (not_started > 0 && static_cast<std::size_t>(not_started) == report.exercises.size()) {
    const std::string first = printable(report.exercises.front().manifest.id);
    out += "Start with " + first + ": read exercises/" + first +
           "/README.md, then `grader/grader watch " + first + "` re-grades it on every save.\n";
  }
  if (counts.tests > 0 && counts.passed == counts.tests) {
    out += paint("Every test passes. Well done!", Tone::good) + '\n';
  }
  if (!report.sandbox.empty() && counts.not_run < counts.tests) {
    out += "Tests ran in: " + report.sandbox + '\n';
  }
}

}  // namespace

std::string render_text(const GradeReport& report, const TextOptions& options) {
  const Painter paint(options.color);
  std::string out;
  for (const auto& exercise : report.exercises) {
    append_exercise(out, exercise, options, paint);
    out += '\n';
  }
  append_total(out, report, paint);
  return out;
}

}  // namespace grader
