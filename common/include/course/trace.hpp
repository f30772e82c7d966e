// The course notes' model of tasks, in code.
//
// Each task τ has a lifetime [start(τ), end(τ)], split into exec segments (running on a CPU)
// and wait segments (blocked on I/O or a timer). Tasks are concurrent when their lifetimes
// overlap, and parallel when they execute at the same instant. A Trace records tasks from many
// threads and answers those questions, draws the notes' bar charts in ASCII for failure
// messages, and writes JSON that the grader's report draws as a picture.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace course {

enum class SegmentKind { exec, wait };

std::string_view to_string(SegmentKind kind);

// Times are durations since the trace's origin (its construction).
struct Segment {
  SegmentKind kind = SegmentKind::exec;
  std::chrono::nanoseconds start{0};
  std::chrono::nanoseconds end{0};
};

struct TaskRecord {
  std::string name;
  int thread = 0;  // small index, in order of the threads' first appearance in the trace
  std::chrono::nanoseconds start{0};
  std::chrono::nanoseconds end{0};
  std::vector<Segment> segments;  // may be empty: then the whole lifetime counts as exec
  std::optional<std::chrono::nanoseconds> cpu_time;  // the thread's CPU time while it ran

  std::chrono::nanoseconds lifetime() const { return end - start; }
  // The measured CPU time when known, else the sum of the exec segments, else the lifetime.
  std::chrono::nanoseconds exec_time() const;
};

class Trace;

// RAII recording of one task: its lifetime starts at construction (Trace::task) and ends at
// destruction or finish(). It starts in an exec segment; wait() and exec() switch the current
// segment, so code marks where it blocks. When the task ends on the thread that started it, the
// thread's CPU time (CLOCK_THREAD_CPUTIME_ID) between start and end is recorded too.
// The task appears in the trace's queries once it has ended. One thread uses a scope at a time.
class TaskScope {
 public:
  TaskScope(TaskScope&& other) noexcept;
  TaskScope& operator=(TaskScope&&) = delete;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope();

  void wait() { switch_to(SegmentKind::wait); }
  void exec() { switch_to(SegmentKind::exec); }
  void finish();

 private:
  friend class Trace;
  using time_point = std::chrono::steady_clock::time_point;

  TaskScope(Trace& trace, std::string name, int thread);
  void switch_to(SegmentKind kind);
  void close_segment(time_point now);

  Trace* trace_;
  std::string name_;
  int thread_;
  std::thread::id thread_id_;
  time_point start_;
  std::optional<std::chrono::nanoseconds> cpu_start_;
  SegmentKind kind_ = SegmentKind::exec;
  time_point segment_start_;
  std::vector<Segment> segments_;
};

// Thread-safe: any number of threads record into one trace while others query it.
class Trace {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  time_point origin() const { return origin_; }

  // Starts recording a task on the calling thread. The scope must not outlive the trace.
  [[nodiscard]] TaskScope task(std::string name);

  // Records a task after the fact (on the calling thread's index, with no segments or CPU time).
  void record(std::string name, time_point start, time_point end);
  // Adds a segment to the most recent task called `name`, creating the task if there is none and
  // widening its lifetime to cover the segment.
  void record_segment(std::string_view name, SegmentKind kind, time_point start, time_point end);

  void clear();

  // ---- Queries, in the notes' terms. A task with an empty lifetime is alive at no instant. ----

  // The most lifetimes alive at the same instant. Lifetimes that only touch (one ends exactly
  // when the other starts) do not overlap.
  std::size_t max_overlap() const;
  // Whether the lifetimes of the first tasks called a and b overlap (false if either is absent).
  bool overlaps(std::string_view a, std::string_view b) const;
  // From the first start to the last end; zero for an empty trace.
  std::chrono::nanoseconds span() const;
  std::chrono::nanoseconds sum_of_durations() const;
  // The average number of tasks executing at once over the span: the sum over tasks of
  // TaskRecord::exec_time() (measured CPU time when known, else exec segments, else the whole
  // lifetime) divided by span(). Two CPU-bound tasks in parallel on 2 cores give about 2.0, the
  // same run sequentially about 1.0, tasks that mostly sleep about 0. Zero for an empty trace.
  double parallelism() const;
  // The most tasks inside exec segments at the same instant (a task with no segments counts as
  // executing for its whole lifetime). Unlike parallelism() this trusts the segments as marked.
  std::size_t max_parallel() const;

  std::size_t size() const;
  std::vector<TaskRecord> tasks() const;  // in order of recording

  // An ASCII chart like the notes' bar charts, one row per task ordered by start, `#` for exec
  // and `=` for wait, with a scale line and a legend. Shows at most 40 rows, then "... N more".
  std::string timeline(int width = 60) const;

  // {"title": str, "unit": "ms", "tasks": [{"name": str, "thread": int, "start": float,
  //   "end": float, "cpu_ms": float|null, "segments": [{"kind": "exec"|"wait", "start": float,
  //   "end": float}]}]} with times in milliseconds since the trace's origin.
  std::string to_json(std::string_view title) const;

  // When the environment variable COURSE_TRACE_DIR is set, writes to_json(title) atomically
  // (temporary file, then rename) to $COURSE_TRACE_DIR/<title with characters other than
  // letters, digits, '.', '-' and '_' replaced by '_'>.json, so the grader's report can draw the
  // timeline. Returns whether a file was written; never throws.
  bool save_for_report(std::string_view title) const;

 private:
  friend class TaskScope;
  int thread_index(std::thread::id id);
  void add(TaskRecord record);

  const time_point origin_;
  mutable std::mutex mutex_;
  std::vector<TaskRecord> tasks_;
  std::vector<std::thread::id> threads_;
};

// The file name save_for_report uses for a title (without directory).
std::string report_file_name(std::string_view title);

// "0.4 ms", "212 ms", "2.03 s".
std::string format_duration(std::chrono::nanoseconds d);

// ---- Teaching failure messages (each ends with the timeline). `what` names the tasks in the
// plural, e.g. "downloads". ----

// For "these tasks should have run concurrently", e.g. "10 downloads of ~200 ms took 2.03 s:
// their lifetimes never overlapped (max overlap 1, expected >= 10). Run them concurrently."
std::string explain_overlap(const Trace& trace, std::size_t expected,
                            std::string_view what = "tasks");
// For "at most `limit` at once", e.g. "... up to 7 lifetimes overlapped, but at most 4 may be
// in progress at once ...".
std::string explain_limit(const Trace& trace, std::size_t limit, std::string_view what = "tasks");
// For "these CPU-bound tasks should have executed in parallel".
std::string explain_parallelism(const Trace& trace, double expected,
                                std::string_view what = "tasks");

}  // namespace course
