// The trace file format, written by course::Trace::save_for_report (in a test's process) and read
// by the grader's HTML report: one JSON document per trace,
//
//   {"title": "Suite.Name", "unit": "ms", "tasks": [
//     {"name": "download 1", "thread": 2, "start": 0.000, "end": 12.500, "cpu_ms": 0.310,
//      "segments": [{"kind": "exec", "start": 0.000, "end": 0.200},
//                   {"kind": "wait", "start": 0.200, "end": 12.500}]}]}
//
// Times are milliseconds since the trace's origin; "cpu_ms" is null when it was not measured.
// Both sides use this file, so the format is written down, and changed, in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace course::trace_file {

struct Segment {
  bool exec = true;  // false: waiting
  double start = 0;
  double end = 0;
};

struct Task {
  std::string name;
  std::optional<std::int64_t> thread;  // the kit's small thread number
  double start = 0;
  double end = 0;
  std::optional<double> cpu_ms;
  std::vector<Segment> segments;
};

struct Document {
  std::string title;
  std::string unit = "ms";
  std::vector<Task> tasks;
};

std::string to_json(const Document& document);

// A document, or why the text is not one. The file comes from a test's process, which runs a
// submission's code: anything may be in it, so whatever is missing or mistyped is left out
// (a task without "end" ends at its start, a segment is clamped to start before it ends).
struct Parsed {
  std::optional<Document> document;
  std::string error;  // when document is empty
};
Parsed parse(std::string_view text);

}  // namespace course::trace_file
