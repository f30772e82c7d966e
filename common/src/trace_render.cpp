// How a trace is shown: the ASCII timeline, JSON for the report, and teaching messages.
#include <unistd.h>  // getpid

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "course/trace.hpp"
#include "course/trace_file.hpp"
#include "trace_internal.hpp"

namespace course {
namespace {

using std::chrono::nanoseconds;

constexpr std::size_t kMaxTimelineRows = 40;
constexpr std::size_t kMaxLabelWidth = 28;

double to_ms(nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

std::string printf_string(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::vector<TaskRecord> by_start(std::vector<TaskRecord> tasks) {
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const TaskRecord& a, const TaskRecord& b) { return a.start < b.start; });
  return tasks;
}

std::string label_for(const std::string& name, std::size_t width) {
  std::string label = name.size() > width ? name.substr(0, width - 1) + "~" : name;
  label.resize(width, ' ');
  return label;
}

// Maps times to the columns of one timeline row.
class Columns {
 public:
  Columns(nanoseconds origin, nanoseconds span, int width)
      : origin_(origin), width_(width), column_ns_(static_cast<double>(span.count()) / width) {}

  double column_ms() const { return column_ns_ / 1e6; }

  // Paints c over the columns that [start, end) touches (at least one).
  void paint(std::string& row, nanoseconds start, nanoseconds end, char c) const {
    const int first = clamp(std::floor(offset(start) / column_ns_));
    const int last = std::max(first, clamp(std::ceil(offset(end) / column_ns_) - 1));
    for (int column = first; column <= last; ++column) row[static_cast<std::size_t>(column)] = c;
  }

 private:
  double offset(nanoseconds t) const { return static_cast<double>((t - origin_).count()); }
  int clamp(double column) const {
    if (!(column >= 0)) return 0;  // also catches NaN from a zero span
    return std::min(static_cast<int>(column), width_ - 1);
  }

  nanoseconds origin_;
  int width_;
  double column_ns_;
};

// One task's bar: '#' exec, '=' wait, '-' alive but in no recorded segment.
std::string bar_for(const TaskRecord& task, const Columns& columns, int width, bool& used_dash) {
  std::string row(static_cast<std::size_t>(width), ' ');
  const bool no_segments = task.segments.empty();
  columns.paint(row, task.start, task.end, no_segments ? '#' : '-');
  // Exec is painted last so that short bursts of work between waits stay visible.
  for (const SegmentKind kind : {SegmentKind::wait, SegmentKind::exec}) {
    for (const Segment& segment : task.segments) {
      if (segment.kind == kind) {
        columns.paint(row, segment.start, segment.end, kind == SegmentKind::exec ? '#' : '=');
      }
    }
  }
  used_dash = used_dash || row.find('-') != std::string::npos;
  return row;
}

// "10 downloads of ~200 ms took 2.03 s: "
std::string summary_head(const std::vector<TaskRecord>& tasks, std::string_view what) {
  nanoseconds total{0};
  for (const TaskRecord& task : tasks) total += task.lifetime();
  const auto mean = total / static_cast<long long>(tasks.size());
  std::ostringstream out;
  out << tasks.size() << ' ' << what << " of ~" << format_duration(mean) << " took "
      << format_duration(detail::span_of(tasks)) << ": ";
  return out.str();
}

std::string nothing_recorded(std::string_view what) {
  return "no " + std::string(what) + " were recorded: nothing ran (or nothing was traced).";
}

}  // namespace

std::string format_duration(nanoseconds d) {
  const double ms = to_ms(d);
  if (std::abs(ms) < 1.0) return printf_string("%.1f ms", ms);
  if (std::abs(ms) < 1000.0) return printf_string("%.0f ms", ms);
  return printf_string("%.2f s", ms / 1000.0);
}

std::string Trace::timeline(int width) const {
  width = std::max(width, 10);
  const std::vector<TaskRecord> all = by_start(tasks());
  if (all.empty()) return "timeline: no tasks recorded\n";
  const nanoseconds origin = detail::first_start(all);
  const nanoseconds whole = detail::span_of(all);
  const Columns columns(origin, whole, width);

  std::size_t label_width = 4;
  for (const TaskRecord& task : all) label_width = std::max(label_width, task.name.size());
  label_width = std::min(label_width, kMaxLabelWidth);

  std::ostringstream out;
  out << "timeline: " << all.size() << " tasks over " << format_duration(whole)
      << " (times from the first start; one column = " << printf_string("%.1f", columns.column_ms())
      << " ms)\n";
  const std::string end_label = format_duration(whole);
  std::string scale = "0 ms";
  // "0 ms" under the first column, the span's end under the last.
  scale.resize(static_cast<std::size_t>(width) + 1 - std::min<std::size_t>(end_label.size(), width),
               ' ');
  out << std::string(label_width, ' ') << "  " << scale << end_label << '\n';
  out << std::string(label_width, ' ') << " |" << std::string(static_cast<std::size_t>(width), '-')
      << "|\n";

  bool used_dash = false;
  const std::size_t shown = std::min(all.size(), kMaxTimelineRows);
  for (std::size_t i = 0; i < shown; ++i) {
    const TaskRecord& task = all[i];
    out << label_for(task.name, label_width) << " |" << bar_for(task, columns, width, used_dash)
        << "| " << printf_string("%.0f", to_ms(task.start - origin)) << '-'
        << printf_string("%.0f", to_ms(task.end - origin)) << " ms\n";
  }
  if (all.size() > shown) out << "... " << all.size() - shown << " more tasks\n";
  out << "legend: # exec (running on a CPU)  = wait (blocked)";
  if (used_dash) out << "  - alive, no segment recorded";
  out << '\n';
  return out.str();
}

std::string Trace::to_json(std::string_view title) const {
  trace_file::Document document;
  document.title = std::string(title);
  for (const TaskRecord& record : by_start(tasks())) {
    trace_file::Task task;
    task.name = record.name;
    task.thread = record.thread;
    task.start = to_ms(record.start);
    task.end = to_ms(record.end);
    if (record.cpu_time) task.cpu_ms = to_ms(*record.cpu_time);
    for (const Segment& segment : record.segments) {
      task.segments.push_back({.exec = segment.kind == SegmentKind::exec,
                               .start = to_ms(segment.start),
                               .end = to_ms(segment.end)});
    }
    document.tasks.push_back(std::move(task));
  }
  return trace_file::to_json(document);
}

std::string report_file_name(std::string_view title) {
  std::string name;
  for (const char c : title.substr(0, 150)) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
    name += safe ? c : '_';
  }
  // A name made of dots only would name a directory, not a file.
  if (name.find_first_not_of('.') == std::string::npos) name = "trace" + name;
  return name + ".json";
}

bool Trace::save_for_report(std::string_view title) const {
  const char* directory = std::getenv("COURSE_TRACE_DIR");
  if (directory == nullptr || *directory == '\0') return false;
  try {
    const std::filesystem::path dir(directory);
    std::filesystem::create_directories(dir);
    const std::filesystem::path target = dir / report_file_name(title);
    // A unique temporary name per write, so that concurrent writers never share a half-written
    // file, and the reader only ever sees a complete one (rename is atomic).
    static std::atomic<unsigned> counter{0};
    const std::filesystem::path temporary =
        target.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++counter);
    {
      std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
      file << to_json(title);
      file.close();
      if (!file) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        return false;
      }
    }
    std::filesystem::rename(temporary, target);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::string explain_overlap(const Trace& trace, std::size_t expected, std::string_view what) {
  const std::vector<TaskRecord> all = trace.tasks();
  if (all.empty()) return nothing_recorded(what);
  const std::size_t overlap = trace.max_overlap();
  std::ostringstream out;
  out << summary_head(all, what);
  if (overlap <= 1) {
    out << "their lifetimes never overlapped (max overlap " << overlap
        << ", expected >= " << expected << "). Run them concurrently.";
  } else if (overlap < expected) {
    out << "at most " << overlap << " of their lifetimes overlapped (max overlap " << overlap
        << ", expected >= " << expected << "). Start all of them before waiting for any of them.";
  } else {
    out << "up to " << overlap << " of their lifetimes overlapped (expected >= " << expected
        << ").";
  }
  return out.str() + "\n" + trace.timeline();
}

std::string explain_limit(const Trace& trace, std::size_t limit, std::string_view what) {
  const std::vector<TaskRecord> all = trace.tasks();
  if (all.empty()) return nothing_recorded(what);
  const std::size_t overlap = trace.max_overlap();
  std::ostringstream out;
  out << summary_head(all, what);
  if (overlap > limit) {
    out << "up to " << overlap << " of their lifetimes overlapped, but at most " << limit
        << " may be in progress at once (max overlap " << overlap << ", limit " << limit
        << "). Bound the concurrency, for example with a std::counting_semaphore.";
  } else {
    out << "at most " << overlap << " of their lifetimes overlapped (limit " << limit << ").";
  }
  return out.str() + "\n" + trace.timeline();
}

std::string explain_parallelism(const Trace& trace, double expected, std::string_view what) {
  const std::vector<TaskRecord> all = trace.tasks();
  if (all.empty()) return nothing_recorded(what);
  const double parallelism = trace.parallelism();
  const nanoseconds whole = detail::span_of(all);
  nanoseconds executing{0};
  for (const TaskRecord& task : all) executing += task.exec_time();
  std::ostringstream out;
  out << summary_head(all, what) << "parallelism " << printf_string("%.2f", parallelism)
      << " (total exec time " << format_duration(executing) << " over a span of "
      << format_duration(whole) << "; expected >= " << printf_string("%.2f", expected) << "). ";
  if (parallelism >= expected) {
    out << "They executed in parallel as expected.";
  } else if (parallelism < 1.2) {
    out << "They never really executed at the same instant: CPU-bound work uses several cores "
           "only when several threads execute at once.";
  } else {
    out << "They executed in parallel only part of the time.";
  }
  return out.str() + "\n" + trace.timeline();
}

}  // namespace course
