// A self-contained HTML report: inline CSS, no scripts, no external resources. Traced tests get an
// SVG timeline per trace file, drawn like the course notes' charts: one row per task, exec
// segments filled, wait segments hatched, a time axis in milliseconds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "course/trace_file.hpp"
#include "reports/report_util.hpp"
#include "reports/reporters.hpp"

namespace grader {
namespace {

using report::xml_escape;

// ---- Trace files (their format: common/include/course/trace_file.hpp) ---------------------------

using Trace = course::trace_file::Document;
using Task = course::trace_file::Task;
using Segment = course::trace_file::Segment;

// A trace, or the reason it could not be drawn.
struct LoadedTrace {
  std::optional<Trace> trace;
  std::string error;
};

LoadedTrace load_trace(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {std::nullopt, "cannot open " + path.string()};
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto parsed = course::trace_file::parse(text);
  if (!parsed.document) {
    return {std::nullopt, path.filename().string() + " is not a trace (" + parsed.error + ")"};
  }
  return {std::move(parsed.document), {}};
}

// ---- SVG timeline -------------------------------------------------------------------------------

constexpr double kLabelWidth = 190;
constexpr double kPlotWidth = 660;
constexpr double kRightMargin = 30;
constexpr double kTopMargin = 8;
constexpr double kRowHeight = 22;
constexpr double kBarHeight = 14;
constexpr double kAxisHeight = 34;
constexpr std::size_t kMaxRows = 200;
constexpr std::size_t kMaxLabelChars = 28;
constexpr int kMaxTicks = 20;

std::string number(double value, int decimals = 1) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Tick spacing of 1, 2 or 5 times a power of ten giving at most about eight ticks.
double tick_step(double span) {
  const double rough = span / 8.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  for (const double factor : {1.0, 2.0, 5.0, 10.0}) {
    if (factor * magnitude >= rough) return factor * magnitude;
  }
  return 10.0 * magnitude;
}

std::string tick_label(double value, double step) {
  const int decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return number(value, decimals);
}

std::string short_label(const Task& task) {
  std::string label = task.name.empty() ? "task" : task.name;
  if (task.thread) label += " @" + std::to_string(*task.thread);
  if (label.size() > kMaxLabelChars) label = label.substr(0, kMaxLabelChars - 3) + "...";
  return label;
}

// The time window a trace covers: from its earliest start, over a positive span.
struct Window {
  double origin = 0;
  double span = 1;
};

Window window_of(const Trace& trace) {
  if (trace.tasks.empty()) return {};
  double origin = trace.tasks.front().start;
  double finish = trace.tasks.front().end;
  for (const auto& task : trace.tasks) {
    origin = std::min(origin, task.start);
    finish = std::max(finish, task.end);
    for (const auto& s : task.segments) {
      origin = std::min(origin, s.start);
      finish = std::max(finish, s.end);
    }
  }
  const double span = finish - origin;
  return {origin, std::isfinite(span) && span > 0 ? span : 1.0};
}

class Timeline {
 public:
  Timeline(const Trace& trace, int id)
      : trace_(trace), id_(id), origin_(window_of(trace).origin), span_(window_of(trace).span) {}

  [[nodiscard]] std::string svg() const {
    const std::size_t rows = std::min(trace_.tasks.size(), kMaxRows);
    const double height = kTopMargin + static_cast<double>(rows) * kRowHeight + kAxisHeight;
    const double width = kLabelWidth + kPlotWidth + kRightMargin;
    std::string out = "<svg class=\"timeline\" width=\"" + number(width, 0) + "\" height=\"" +
                      number(height, 0) + "\" viewBox=\"0 0 " + number(width, 0) + " " +
                      number(height, 0) + "\" role=\"img\" aria-label=\"" +
                      xml_escape(trace_.title.empty() ? "timeline" : trace_.title) + "\">\n";
    out += "<defs><pattern id=\"" + hatch_id() +
           "\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
           "patternTransform=\"rotate(45)\"><path class=\"hatch-bg\" d=\"M0 0H6V6H0Z\"/>"
           "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" class=\"hatch-line\"/></pattern></defs>\n";
    out += axis(height);
    for (std::size_t row = 0; row < rows; ++row) out += task_row(trace_.tasks[row], row);
    out += "</svg>\n";
    return out;
  }

 private:
  [[nodiscard]] std::string hatch_id() const { return "hatch-" + std::to_string(id_); }

  [[nodiscard]] double x(double t) const {
    return kLabelWidth + (t - origin_) / span_ * kPlotWidth;
  }

  [[nodiscard]] std::string axis(double height) const {
    const double axis_y = height - kAxisHeight + 4;
    std::string out = "<g class=\"axis\">\n<line x1=\"" + number(kLabelWidth) + "\" y1=\"" +
                      number(axis_y) + "\" x2=\"" + number(kLabelWidth + kPlotWidth) + "\" y2=\"" +
                      number(axis_y) + "\"/>\n";
    const double step = tick_step(span_);
    for (int tick = 0; tick <= kMaxTicks; ++tick) {
      const double t = tick * step;
      if (t > span_ + step * 1e-6) break;
      const double px = kLabelWidth + t / span_ * kPlotWidth;
      out += "<line class=\"grid\" x1=\"" + number(px) + "\" y1=\"" + number(kTopMargin) +
             "\" x2=\"" + number(px) + "\" y2=\"" + number(axis_y + 4) + "\"/>";
      out += "<text x=\"" + number(px) + "\" y=\"" + number(axis_y + 16) +
             "\" text-anchor=\"middle\">" + tick_label(t, step) + "</text>\n";
    }
    out += "<text x=\"" + number(kLabelWidth + kPlotWidth + 4) + "\" y=\"" + number(axis_y + 16) +
           "\">" + xml_escape(trace_.unit) + "</text>\n</g>\n";
    return out;
  }

  [[nodiscard]] std::string interval(const Task& task, double start, double end) const {
    return xml_escape(task.name) + ": " + number(start - origin_) + " - " + number(end - origin_) +
           " " + xml_escape(trace_.unit);
  }

  [[nodiscard]] std::string bar(const char* css_class, const std::string& fill, double y,
                                double start, double end, const std::string& tooltip) const {
    const double width = std::max(x(end) - x(start), 1.0);
    return "<rect class=\"" + std::string(css_class) + "\"" + fill + " x=\"" + number(x(start)) +
           "\" y=\"" + number(y) + "\" width=\"" + number(width) + "\" height=\"" +
           number(kBarHeight) + "\"><title>" + tooltip + "</title></rect>\n";
  }

  [[nodiscard]] std::string task_row(const Task& task, std::size_t row) const {
    const double top = kTopMargin + static_cast<double>(row) * kRowHeight;
    const double bar_y = top + (kRowHeight - kBarHeight) / 2;
    std::string label_tooltip = xml_escape(task.name);
    if (task.thread) label_tooltip += " (thread " + std::to_string(*task.thread) + ")";
    if (task.cpu_ms) label_tooltip += ", cpu " + number(*task.cpu_ms) + " ms";
    std::string out = "<g class=\"task\"><text x=\"" + number(kLabelWidth - 8) + "\" y=\"" +
                      number(bar_y + kBarHeight - 3) + "\" text-anchor=\"end\"><title>" +
                      label_tooltip + "</title>" + xml_escape(short_label(task)) + "</text>\n";
    // The lifetime is a thin line, so every <rect> is a segment (or a lifetime without segments).
    out += "<line class=\"life\" x1=\"" + number(x(task.start)) + "\" y1=\"" +
           number(bar_y + kBarHeight / 2) + "\" x2=\"" + number(x(task.end)) + "\" y2=\"" +
           number(bar_y + kBarHeight / 2) + "\"/>\n";
    if (task.segments.empty()) {
      out += bar("lifetime", "", bar_y, task.start, task.end,
                 interval(task, task.start, task.end) + " (lifetime)");
    }
    for (const auto& s : task.segments) {
      if (s.exec) {
        out += bar("exec", "", bar_y, s.start, s.end, interval(task, s.start, s.end) + " exec");
      } else {
        out += bar("wait", " fill=\"url(#" + hatch_id() + ")\"", bar_y, s.start, s.end,
                   interval(task, s.start, s.end) + " wait");
      }
    }
    out += "</g>\n";
    return out;
  }

  const Trace& trace_;
  int id_;
  double origin_;
  double span_;
};

// ---- Document -----------------------------------------------------------------------------------

constexpr std::string_view kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1000px; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: .2rem; }
.total { font-size: 1.2rem; margin-top: 0; }
nav ul { padding-left: 1.2rem; }
section { border-top: 1px solid #d0d7de; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #eaeef2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1a7f37; font-weight: 600; }
.fail { color: #cf222e; font-weight: 600; }
.warn { color: #9a6700; font-weight: 600; }
.dim { color: #6e7781; }
.full { color: #1a7f37; } .partial { color: #9a6700; } .zero { color: #cf222e; }
details { margin: .4rem 0; }
summary { cursor: pointer; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .85rem;
      white-space: pre-wrap; word-break: break-word; }
figure { margin: 1rem 0; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.timeline { font: 11px sans-serif; background: #fff; max-width: 100%; height: auto; }
svg.timeline .exec { fill: #0969da; }
svg.timeline .wait { stroke: #8c959f; stroke-width: .5; }
svg.timeline .lifetime { fill: #b6e3ff; }
svg.timeline .hatch-bg { fill: #eaeef2; }
svg.timeline .hatch-line { stroke: #8c959f; stroke-width: 2; }
svg.timeline .life { stroke: #8c959f; stroke-width: 1; }
svg.timeline .axis line { stroke: #57606a; }
svg.timeline .axis line.grid { stroke: #d0d7de; stroke-dasharray: 2 3; }
svg.timeline text { fill: #1f2328; }
.legend { font-size: .85rem; color: #57606a; }
.swatch { display: inline-block; width: 1.2em; height: .8em; vertical-align: middle; }
.swatch.exec { background: #0969da; }
.swatch.wait { background: repeating-linear-gradient(45deg, #eaeef2 0 3px, #8c959f 3px 5px); }
)";

std::string status_class(Outcome outcome) {
  switch (outcome) {
    case Outcome::passed:
      return "pass";
    case Outcome::timeout:
    case Outcome::resource_limit:
    case Outcome::output_limit:
      return "warn";
    case Outcome::not_run:
      return "dim";
    case Outcome::failed:
    case Outcome::crashed:
    case Outcome::sanitizer:
      return "fail";
  }
  return "dim";
}

std::string score_class(double score, double max_score) {
  if (max_score > 0 && score >= max_score - 1e-9) return "full";
  return score > 0 ? "partial" : "zero";
}

std::string anchor(std::string_view id) {
  std::string out = "ex-";
  for (const char c : id) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    out += safe ? c : '_';
  }
  return out;
}

std::string score_span(double score, double max_score) {
  return "<span class=\"" + score_class(score, max_score) + "\">" + report::format_points(score) +
         " / " + report::format_points(max_score) + " points</span>";
}

void append_table(std::string& out, const ExerciseResult& exercise) {
  out +=
      "<table>\n<thead><tr><th>Test</th><th>Category</th><th class=\"num\">Points</th>"
      "<th>Status</th><th class=\"num\">Time</th></tr></thead>\n<tbody>\n";
  for (const auto& test : exercise.tests) {
    out += "<tr><td>" + xml_escape(test.spec.name);
    if (!test.spec.description.empty()) {
      out += "<br><span class=\"dim\">" + xml_escape(test.spec.description) + "</span>";
    }
    out += "</td><td>" + std::string(to_string(test.spec.category)) + "</td><td class=\"num\">" +
           report::format_points(test.score) + " / " + report::format_points(test.spec.points) +
           "</td><td class=\"" + status_class(report::shown_outcome(test)) + "\">" +
           xml_escape(report::status_word(test)) + "</td><td class=\"num\">" +
           report::format_test_time(test) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

void append_failures(std::string& out, const ExerciseResult& exercise) {
  if (exercise.not_started) {
    out += "<p>Not started: every file is the skeleton's, so nothing was built or run.</p>\n";
    return;
  }
  if (exercise.build_error) {
    out += "<p class=\"fail\">The exercise did not compile, so no test ran.</p>\n";
    out += "<details open><summary>Compiler errors</summary><pre>" +
           xml_escape(*exercise.build_error) + "</pre></details>\n";
    return;
  }
  for (const auto& test : exercise.tests) {
    if (test.passed()) continue;
    out += "<details><summary><span class=\"" + status_class(report::shown_outcome(test)) + "\">" +
           xml_escape(report::status_word(test)) + "</span> " + xml_escape(test.spec.name) +
           "</summary><pre>" + xml_escape(report::failure_text(test, 0)) + "</pre></details>\n";
  }
}

void append_timelines(std::string& out, const ExerciseResult& exercise, int& next_id) {
  bool any = false;
  for (const auto& test : exercise.tests) {
    for (const auto& run : test.runs) {
      for (const auto& path : run.traces) {
        if (!any) out += "<h3>Timelines</h3>\n";
        any = true;
        const LoadedTrace loaded = load_trace(path);
        std::string caption = test.spec.name;
        if (run.config != BuildConfig::normal)
          caption += " (" + std::string(to_string(run.config)) + ")";
        if (loaded.trace && !loaded.trace->title.empty()) caption += " — " + loaded.trace->title;
        out += "<figure>\n<figcaption>" + xml_escape(caption) + "</figcaption>\n";
        if (loaded.trace) {
          out += Timeline(*loaded.trace, next_id++).svg();
          if (loaded.trace->tasks.size() > kMaxRows) {
            out += "<p class=\"dim\">Showing the first " + std::to_string(kMaxRows) + " of " +
                   std::to_string(loaded.trace->tasks.size()) + " tasks.</p>\n";
          }
        } else {
          out += "<p class=\"dim\">No timeline: " + xml_escape(loaded.error) + "</p>\n";
        }
        out += "</figure>\n";
      }
    }
  }
  if (any) {
    out +=
        "<p class=\"legend\"><span class=\"swatch exec\"></span> executing "
        "<span class=\"swatch wait\"></span> waiting; a thin line spans each task's "
        "lifetime.</p>\n";
  }
}

void append_exercise(std::string& out, const ExerciseResult& exercise, int& next_id) {
  out += "<section id=\"" + anchor(exercise.manifest.id) + "\">\n<h2>" +
         xml_escape(exercise.manifest.id) + " — " + xml_escape(exercise.manifest.title) + " (" +
         score_span(exercise.score(), exercise.max_score()) + ")</h2>\n";
  if (!exercise.implementation.empty() && exercise.implementation != "exercises") {
    out += "<p class=\"dim\">Implementation: " + xml_escape(exercise.implementation) + "</p>\n";
  }
  append_table(out, exercise);
  append_failures(out, exercise);
  append_timelines(out, exercise, next_id);
  out += "</section>\n";
}

void append_summary(std::string& out, const GradeReport& report) {
  const report::Counts counts = report::count_tests(report);
  out += "<h1>Grade report</h1>\n<p class=\"total\">" +
         score_span(report.score(), report.max_score()) + " (" +
         report::format_percent(report.score(), report.max_score()) + ") — " +
         std::to_string(counts.passed) + " of " + std::to_string(counts.tests) + " tests pass";
  if (counts.not_run > 0) out += ", " + std::to_string(counts.not_run) + " not run";
  out += ", in " + report::format_seconds(report.seconds) + "</p>\n<nav><ul>\n";
  for (const auto& exercise : report.exercises) {
    out += "<li><a href=\"#" + anchor(exercise.manifest.id) + "\">" +
           xml_escape(exercise.manifest.id) + "</a> " +
           score_span(exercise.score(), exercise.max_score()) + "</li>\n";
  }
  out += "</ul></nav>\n";
}

}  // namespace

std::string render_html(const GradeReport& report) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Grade report</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n";
  append_summary(out, report);
  int next_id = 0;
  for (const auto& exercise : report.exercises) append_exercise(out, exercise, next_id);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace grader
