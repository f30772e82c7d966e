// A GradeReport built in code that exercises every way a test can end, shared by the reporter
// tests. The traced test's trace file is written into a temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "course/model.hpp"

namespace grader::testing {

// Names the fixture uses, so tests can refer to them.
inline constexpr std::string_view kPassName = "Counter.CountsOneThread";
inline constexpr std::string_view kFailName = "Counter.MutexCounterIsExact";
inline constexpr std::string_view kTimeoutName = "Counter.JoinsAllThreads";
inline constexpr std::string_view kRaceName = "Counter.ConcurrentIncrements";
inline constexpr std::string_view kRetryName = "Sum.ParallelIsFaster";
inline constexpr std::string_view kTracedName = "Sum.TasksOverlap";
inline constexpr std::string_view kNotRunName = "Pool.RunsEveryTask";
inline constexpr std::string_view kNotRunNoRunsName = "Pool.StopsOnDestruction";
inline constexpr std::size_t kFailureOutputLines = 60;  // more than the text report's cap
inline constexpr std::size_t kTracedExecSegments = 4;

inline TestSpec spec(std::string_view name, double points, Category category,
                     std::vector<std::string> tags = {}, std::string description = {}) {
  TestSpec s;
  s.name = name;
  s.points = points;
  s.category = category;
  s.tags = std::move(tags);
  s.description = std::move(description);
  return s;
}

inline RunResult run(BuildConfig config, std::vector<Attempt> attempts, std::string output = {}) {
  RunResult r;
  r.config = config;
  r.attempts = std::move(attempts);
  r.output = std::move(output);
  return r;
}

inline TestResult result(TestSpec s, std::vector<RunResult> runs) {
  TestResult t;
  t.spec = std::move(s);
  t.runs = std::move(runs);
  t.score = t.passed() ? t.spec.points : 0.0;
  return t;
}

// Failure output with everything an escaper must handle: markup characters, quotes, control
// characters (an ANSI colour, a bell, a NUL), an invalid UTF-8 byte, and many lines.
inline std::string failure_output() {
  std::string out =
      "counter.cpp:42: Failure\n"
      "Expected equality of these values:\n"
      "  counter.value()\n"
      "    Which is: 3998 < 4000 & \"quotes\" 'too'\n"
      "\x1b[31mred text\x1b[0m bell\x07 nul";
  out += '\0';
  out += " bad byte \xff end\n";
  for (std::size_t line = 6; line <= kFailureOutputLines; ++line) {  // 5 lines above
    out += "progress line " + std::to_string(line) + "\n";
  }
  return out;
}

inline constexpr std::string_view kTsanReason =
    "WARNING: ThreadSanitizer: data race (pid=4242)\n"
    "  Write of size 8 at 0x7b0400000010 by thread T2:\n"
    "    #0 RacyCounter::increment() src/counter.cpp:12\n"
    "  Previous write of size 8 at 0x7b0400000010 by thread T1:\n"
    "    #0 RacyCounter::increment() src/counter.cpp:12\n"
    "SUMMARY: ThreadSanitizer: data race src/counter.cpp:12 in RacyCounter::increment()";

inline constexpr std::string_view kBuildError =
    "pool.cpp:17:3: error: 'submit' was not declared in this scope\n"
    "pool.cpp:30:1: error: expected ';' before '}' token\n";

// Two workers; exec segments: 2 + 1 + 1 = 4 (plus one task without segments).
inline constexpr std::string_view kTraceJson = R"({
  "title": "parallel sum over 2 chunks", "unit": "ms",
  "tasks": [
    {"name": "chunk 0", "thread": 1, "start": 1000.0, "end": 1100.0, "cpu_ms": 80.0,
     "segments": [{"kind": "exec", "start": 1000.0, "end": 1040.0},
                  {"kind": "wait", "start": 1040.0, "end": 1060.0},
                  {"kind": "exec", "start": 1060.0, "end": 1100.0}]},
    {"name": "chunk 1 <b>&amp;", "thread": "T2", "start": 1005.0, "end": 1095.0,
     "segments": [{"kind": "exec", "start": 1005.0, "end": 1095.0}]},
    {"name": "reduce", "thread": 1, "start": 1100.0, "end": 1110.0,
     "segments": [{"kind": "exec", "start": 1100.0, "end": 1110.0}]},
    {"name": "logger", "thread": 3, "start": 1000.0, "end": 1110.0}
  ]
})";

inline ExerciseResult warmup_exercise(const std::filesystem::path& trace_file) {
  ExerciseResult e;
  e.manifest.id = "00-warmup";
  e.manifest.title = "Warm-up: a shared counter and a parallel sum";
  e.manifest.order = 0;
  e.manifest.student_files = {"src/counter.cpp", "src/parallel_sum.cpp"};
  e.manifest.hints = {"Level 1", "Level 2"};
  e.implementation = "exercises";

  e.tests.push_back(result(spec(kPassName, 1, Category::correctness),
                           {run(BuildConfig::normal, {{Outcome::passed, 0.012, ""}})}));
  e.tests.push_back(result(
      spec(kFailName, 2, Category::concurrency, {}, "four threads increment 1000 times each"),
      {run(BuildConfig::normal, {{Outcome::failed, 0.25, "counter.cpp:42: Failure"}},
           failure_output())}));
  e.tests.push_back(
      result(spec(kTimeoutName, 1, Category::robustness),
             {run(BuildConfig::normal,
                  {{Outcome::timeout, 10.0,
                    "timed out after 10.0 s (the test's limit); a deadlock or a sequential "
                    "implementation looks like this"}})}));
  e.tests.push_back(
      result(spec(kRaceName, 2, Category::concurrency, {"sanitizer:tsan"}),
             {run(BuildConfig::normal, {{Outcome::passed, 0.05, ""}}),
              run(BuildConfig::tsan, {{Outcome::sanitizer, 0.8, std::string(kTsanReason)}},
                  "Running main() from gtest_main.cc\n" + std::string(kTsanReason))}));
  e.tests.push_back(result(
      spec(kRetryName, 1, Category::timing, {"timing"}),
      {run(BuildConfig::normal, {{Outcome::failed, 1.5, "took 1.50 s, expected at most 1.20 s"},
                                 {Outcome::passed, 0.9, ""}})}));
  RunResult traced = run(BuildConfig::normal, {{Outcome::passed, 0.11, ""}});
  traced.traces = {trace_file};
  e.tests.push_back(result(spec(kTracedName, 1, Category::concurrency), {traced}));
  for (auto& m : e.tests) e.manifest.tests.push_back(m.spec);
  return e;
}

inline ExerciseResult broken_exercise() {
  ExerciseResult e;
  e.manifest.id = "01-pool";
  e.manifest.title = "A thread pool";
  e.manifest.order = 1;
  e.manifest.student_files = {"src/pool.cpp"};
  e.implementation = "exercises";
  e.build_error = std::string(kBuildError);
  e.tests.push_back(result(
      spec(kNotRunName, 1, Category::correctness),
      {run(BuildConfig::normal, {{Outcome::not_run, 0.0, "the exercise did not compile"}})}));
  e.tests.push_back(result(spec(kNotRunNoRunsName, 2, Category::robustness), {}));
  for (auto& m : e.tests) e.manifest.tests.push_back(m.spec);
  return e;
}

// Expected totals of the fixture.
inline constexpr double kFixtureScore = 3.0;  // pass + retried pass + traced pass
inline constexpr double kFixtureMaxScore = 11.0;
inline constexpr std::size_t kFixtureTests = 8;

class ReportFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "grader-report-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    trace_file_ = dir_ / "Sum.TasksOverlap.json";
    std::ofstream(trace_file_) << kTraceJson;
    report_.exercises.push_back(warmup_exercise(trace_file_));
    report_.exercises.push_back(broken_exercise());
    report_.seconds = 12.5;
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  [[nodiscard]] const TestResult& test(std::string_view name) const {
    for (const auto& e : report_.exercises) {
      for (const auto& t : e.tests) {
        if (t.spec.name == name) return t;
      }
    }
    throw std::logic_error("no such test in the fixture");
  }

  std::filesystem::path dir_;
  std::filesystem::path trace_file_;
  GradeReport report_;
};

}  // namespace grader::testing
