// Recording and queries of the task model (rendering lives in trace_render.cpp).
#include "course/trace.hpp"

#include <time.h>  // clock_gettime, CLOCK_THREAD_CPUTIME_ID

#include <algorithm>
#include <utility>

#include "trace_internal.hpp"

namespace course {
namespace {

using std::chrono::nanoseconds;

std::optional<nanoseconds> thread_cpu_time() {
  timespec now{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) return std::nullopt;
  return std::chrono::seconds(now.tv_sec) + nanoseconds(now.tv_nsec);
}

struct Interval {
  nanoseconds start;
  nanoseconds end;
};

// The most intervals that contain one instant. Intervals are half-open, so touching ones do not
// overlap and empty ones count nowhere.
std::size_t max_simultaneous(const std::vector<Interval>& intervals) {
  std::vector<std::pair<nanoseconds, int>> events;  // (time, +1 start / -1 end)
  events.reserve(intervals.size() * 2);
  for (const Interval& interval : intervals) {
    if (interval.end <= interval.start) continue;
    events.emplace_back(interval.start, +1);
    events.emplace_back(interval.end, -1);
  }
  // At equal times ends (-1) sort before starts (+1): touching lifetimes never count together.
  std::sort(events.begin(), events.end());
  std::size_t current = 0;
  std::size_t most = 0;
  for (const auto& [time, delta] : events) {
    current = delta > 0 ? current + 1 : current - 1;
    most = std::max(most, current);
  }
  return most;
}

const TaskRecord* find_first(const std::vector<TaskRecord>& tasks, std::string_view name) {
  const auto it =
      std::find_if(tasks.begin(), tasks.end(), [&](const TaskRecord& t) { return t.name == name; });
  return it == tasks.end() ? nullptr : &*it;
}

}  // namespace

namespace detail {

nanoseconds first_start(const std::vector<TaskRecord>& tasks) {
  if (tasks.empty()) return nanoseconds{0};
  nanoseconds first = tasks.front().start;
  for (const TaskRecord& task : tasks) first = std::min(first, task.start);
  return first;
}

nanoseconds span_of(const std::vector<TaskRecord>& tasks) {
  if (tasks.empty()) return nanoseconds{0};
  nanoseconds last = tasks.front().end;
  for (const TaskRecord& task : tasks) last = std::max(last, task.end);
  return last - first_start(tasks);
}

}  // namespace detail

std::string_view to_string(SegmentKind kind) { return kind == SegmentKind::exec ? "exec" : "wait"; }

nanoseconds TaskRecord::exec_time() const {
  // The thread's CPU clock and the steady clock are read at slightly different instants, so a
  // task that only computed may show a few microseconds more CPU time than lifetime: a task
  // cannot execute for longer than it lives.
  if (cpu_time) return std::min(*cpu_time, lifetime());
  if (segments.empty()) return lifetime();
  nanoseconds total{0};
  for (const Segment& segment : segments) {
    if (segment.kind == SegmentKind::exec) total += segment.end - segment.start;
  }
  return total;
}

// ---- TaskScope ----

TaskScope::TaskScope(Trace& trace, std::string name, int thread)
    : trace_(&trace),
      name_(std::move(name)),
      thread_(thread),
      thread_id_(std::this_thread::get_id()),
      start_(std::chrono::steady_clock::now()),
      cpu_start_(thread_cpu_time()),
      segment_start_(start_) {}

TaskScope::TaskScope(TaskScope&& other) noexcept
    : trace_(std::exchange(other.trace_, nullptr)),
      name_(std::move(other.name_)),
      thread_(other.thread_),
      thread_id_(other.thread_id_),
      start_(other.start_),
      cpu_start_(other.cpu_start_),
      kind_(other.kind_),
      segment_start_(other.segment_start_),
      segments_(std::move(other.segments_)) {}

TaskScope::~TaskScope() { finish(); }

void TaskScope::close_segment(time_point now) {
  if (now <= segment_start_) return;
  const time_point origin = trace_->origin();
  segments_.push_back(Segment{kind_, segment_start_ - origin, now - origin});
}

void TaskScope::switch_to(SegmentKind kind) {
  if (trace_ == nullptr || kind == kind_) return;
  const time_point now = std::chrono::steady_clock::now();
  close_segment(now);
  kind_ = kind;
  segment_start_ = now;
}

void TaskScope::finish() {
  if (trace_ == nullptr) return;
  // The CPU clock first (it was read after the steady clock at the start), so that the CPU
  // interval lies inside the task's lifetime.
  const bool same_thread = thread_id_ == std::this_thread::get_id();
  const std::optional<nanoseconds> cpu_end = same_thread ? thread_cpu_time() : std::nullopt;
  const time_point now = std::chrono::steady_clock::now();
  close_segment(now);
  TaskRecord record;
  record.name = std::move(name_);
  record.thread = thread_;
  record.start = start_ - trace_->origin();
  record.end = now - trace_->origin();
  record.segments = std::move(segments_);
  // Another thread's CPU clock says nothing about this task.
  if (cpu_start_ && cpu_end) record.cpu_time = *cpu_end - *cpu_start_;
  std::exchange(trace_, nullptr)->add(std::move(record));
}

// ---- Trace: recording ----

Trace::Trace() : origin_(clock::now()) {}

int Trace::thread_index(std::thread::id id) {
  const auto it = std::find(threads_.begin(), threads_.end(), id);
  if (it != threads_.end()) return static_cast<int>(it - threads_.begin());
  threads_.push_back(id);
  return static_cast<int>(threads_.size() - 1);
}

TaskScope Trace::task(std::string name) {
  int thread = 0;
  {
    std::lock_guard lock(mutex_);
    thread = thread_index(std::this_thread::get_id());
  }
  return TaskScope(*this, std::move(name), thread);
}

void Trace::add(TaskRecord record) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(record));
}

void Trace::record(std::string name, time_point start, time_point end) {
  TaskRecord record;
  record.name = std::move(name);
  record.start = start - origin_;
  record.end = end - origin_;
  std::lock_guard lock(mutex_);
  record.thread = thread_index(std::this_thread::get_id());
  tasks_.push_back(std::move(record));
}

void Trace::record_segment(std::string_view name, SegmentKind kind, time_point start,
                           time_point end) {
  const Segment segment{kind, start - origin_, end - origin_};
  std::lock_guard lock(mutex_);
  const auto latest = std::find_if(tasks_.rbegin(), tasks_.rend(),
                                   [&](const TaskRecord& t) { return t.name == name; });
  if (latest == tasks_.rend()) {
    TaskRecord record;
    record.name = std::string(name);
    record.thread = thread_index(std::this_thread::get_id());
    record.start = segment.start;
    record.end = segment.end;
    record.segments.push_back(segment);
    tasks_.push_back(std::move(record));
    return;
  }
  latest->start = std::min(latest->start, segment.start);
  latest->end = std::max(latest->end, segment.end);
  latest->segments.push_back(segment);
}

void Trace::clear() {
  std::lock_guard lock(mutex_);
  tasks_.clear();
}

// ---- Trace: queries ----

std::vector<TaskRecord> Trace::tasks() const {
  std::lock_guard lock(mutex_);
  return tasks_;
}

std::size_t Trace::size() const {
  std::lock_guard lock(mutex_);
  return tasks_.size();
}

std::size_t Trace::max_overlap() const {
  std::vector<Interval> lifetimes;
  for (const TaskRecord& task : tasks()) lifetimes.push_back({task.start, task.end});
  return max_simultaneous(lifetimes);
}

std::size_t Trace::max_parallel() const {
  std::vector<Interval> executing;
  for (const TaskRecord& task : tasks()) {
    if (task.segments.empty()) executing.push_back({task.start, task.end});
    for (const Segment& segment : task.segments) {
      if (segment.kind == SegmentKind::exec) executing.push_back({segment.start, segment.end});
    }
  }
  return max_simultaneous(executing);
}

bool Trace::overlaps(std::string_view a, std::string_view b) const {
  const std::vector<TaskRecord> all = tasks();
  const TaskRecord* first = find_first(all, a);
  const TaskRecord* second = find_first(all, b);
  if (first == nullptr || second == nullptr) return false;
  return first->start < second->end && second->start < first->end;
}

nanoseconds Trace::span() const { return detail::span_of(tasks()); }

nanoseconds Trace::sum_of_durations() const {
  nanoseconds total{0};
  for (const TaskRecord& task : tasks()) total += task.lifetime();
  return total;
}

double Trace::parallelism() const {
  const std::vector<TaskRecord> all = tasks();
  const nanoseconds whole = detail::span_of(all);
  if (whole <= nanoseconds{0}) return 0.0;
  nanoseconds executing{0};
  for (const TaskRecord& task : all) executing += task.exec_time();
  return static_cast<double>(executing.count()) / static_cast<double>(whole.count());
}

}  // namespace course
