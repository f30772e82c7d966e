// The grader's data model: what a manifest declares and what a run observed.
// Every reporter (text, JSON, JUnit, Gradescope, GitHub, HTML) reads only these types.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grader {

// How many times a test tagged `timing` is run again after a failure (the runner retries, the
// reports say "retry N of 2").
inline constexpr int kMaxTimingRetries = 2;

enum class Category { correctness, concurrency, timing, robustness, performance };

struct TestSpec {
  std::string name;  // GoogleTest full name, "Suite.Case"
  double points = 1.0;
  Category category = Category::correctness;
  double timeout_s = 10.0;        // wall-clock limit at COURSE_TIME_SCALE = 1
  std::vector<std::string> tags;  // "timing", "sanitizer:tsan", "sanitizer:asan", ...
  std::string description;        // optional, shown in reports

  [[nodiscard]] bool has_tag(std::string_view tag) const {
    for (const auto& t : tags) {
      if (t == tag) return true;
    }
    return false;
  }
};

struct ExerciseManifest {
  std::string id;  // directory name, "00-warmup"
  std::string title;
  int order = 0;
  std::vector<std::string> student_files;  // relative to the exercise directory
  // Student files the course gives complete, as a design the student may change (a shared
  // internal header, a given strategy that uses it): the reference keeps them as they are.
  std::vector<std::string> starter_files;
  // Calls the link check lets student code make although they are refused by default (fork and
  // _exit for an exercise whose level runs processes); see submission_check.hpp.
  std::vector<std::string> allowed_calls;
  // What a test's process may start, course code and student code alike (its seccomp filter):
  // "threads" (the default), "fork" (processes of its own: the tests run a command in a child)
  // or "exec" (also other programs: real peers such as ngircd, wget or PostgreSQL).
  std::string processes = "threads";
  std::vector<std::string> hints;  // progressive, level 1 first
  std::vector<TestSpec> tests;
  std::filesystem::path dir;  // exercises/<id>
};

struct MutantSpec {
  std::string name;  // directory name under solutions/<id>/mutants/
  std::string description;
  std::vector<std::string> must_fail;  // test names that must catch it
  // false: a logic error that the tests' assertions catch, so selfcheck builds and runs it in the
  // normal configuration only, not also in the sanitizer builds its tests are tagged for (each of
  // those is a full build of the exercise's tests for that mutant).
  bool sanitizer_runs = true;
};

// Why a single run of one test ended the way it did.
enum class Outcome {
  passed,
  failed,          // an assertion failed
  timeout,         // wall-clock limit reached; the process group was killed
  crashed,         // killed by a signal (SIGSEGV, SIGABRT, ...)
  sanitizer,       // TSan / ASan / UBSan reported an error
  resource_limit,  // CPU, memory, process count or file size limit hit
  output_limit,    // printed more than the cap
  not_run,         // did not build, or was not found in the binary
};

// Build configurations the grader knows (CMake presets of the same name, see kBuilds).
enum class BuildConfig { normal, asan, tsan, fuzz };

// One row per build: what the grader and the test kit know about it. The table's order is the
// order builds are made and reported in: the normal build first (code that does not compile there
// is not built again, slower, under a sanitizer), then ThreadSanitizer, the slowest to build.
struct BuildInfo {
  BuildConfig config;
  std::string_view preset;         // CMake preset, and the directory under build/
  std::string_view sanitizer_tag;  // a test tagged so also runs in this build; empty: none
  double time_factor;              // how much slower code runs (the kit's k*TimeFactor)
  bool runs_tests;                 // false: the fuzz build (clang, libFuzzer targets only)
  // How a test of this build is launched (test_runner.cpp):
  bool sanitized;     // reserves terabytes of address space: no address-space limit, and the
                      // sanitizers' memory limit instead of the normal one
  bool leak_tracer;   // LeakSanitizer stops the threads with ptrace: the syscall filter lets it
  bool fixed_layout;  // ThreadSanitizer's shadow memory wants address randomisation off
};
extern const std::array<BuildInfo, 4> kBuilds;
const BuildInfo& build_info(BuildConfig config);
// The builds tests run in, in the table's order: default, tsan, asan.
std::vector<BuildConfig> test_builds();

struct Attempt {
  Outcome outcome = Outcome::not_run;
  double seconds = 0.0;
  std::string reason;  // one line: "timed out after 10.0 s", "ThreadSanitizer: data race"
};

struct RunResult {  // one test in one build configuration
  BuildConfig config = BuildConfig::normal;
  std::vector<Attempt> attempts;  // more than one only for retried `timing` tests
  std::string output;             // failure messages and (capped) output of the final attempt
  std::vector<std::filesystem::path> traces;  // trace JSON files the test wrote

  [[nodiscard]] const Attempt& final_attempt() const { return attempts.back(); }
  [[nodiscard]] bool passed() const {
    return !attempts.empty() && attempts.back().outcome == Outcome::passed;
  }
};

struct TestResult {
  TestSpec spec;
  std::vector<RunResult> runs;  // normal first, then sanitizer builds
  double score = 0.0;           // spec.points when every run passed, else 0

  [[nodiscard]] bool passed() const {
    if (runs.empty()) return false;
    for (const auto& r : runs) {
      if (!r.passed()) return false;
    }
    return true;
  }
  [[nodiscard]] double seconds() const {
    double total = 0;
    for (const auto& r : runs) {
      for (const auto& a : r.attempts) total += a.seconds;
    }
    return total;
  }
};

struct ExerciseResult {
  ExerciseManifest manifest;
  std::string implementation;              // Impl::label(): "exercises", "solutions", "mutant-<m>",
                                           // "going-further-<g>", or a submission's path
  std::optional<std::string> build_error;  // compiler output when it did not build
  // Every student file is still the skeleton's (skeletons.hpp): nothing was built or run, and
  // each test is not_run with the reason "not started".
  bool not_started = false;
  std::vector<TestResult> tests;

  [[nodiscard]] double score() const {
    double s = 0;
    for (const auto& t : tests) s += t.score;
    return s;
  }
  // Out of the tests that were planned (every test, or those --test named).
  [[nodiscard]] double max_score() const {
    double s = 0;
    for (const auto& t : tests) s += t.spec.points;
    return s;
  }
};

struct GradeReport {
  std::vector<ExerciseResult> exercises;
  double seconds = 0.0;  // wall time of the whole run
  std::string sandbox;   // the isolation layers the tests ran in (sandbox.hpp), for the record
  [[nodiscard]] double score() const {
    double s = 0;
    for (const auto& e : exercises) s += e.score();
    return s;
  }
  [[nodiscard]] double max_score() const {
    double s = 0;
    for (const auto& e : exercises) s += e.max_score();
    return s;
  }
};

std::string_view to_string(Category c);
std::string_view to_string(Outcome o);
std::string_view to_string(BuildConfig c);
std::optional<Category> category_from_string(std::string_view s);

}  // namespace grader
