// Grading: what to build, building it, checking each manifest against its
// test binary, then running every test (in every build it needs) on the job
// pool and assembling ExerciseResults. `grade`, `watch` and `selfcheck` are
// built on these two steps.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifest.hpp"
#include "model.hpp"
#include "progress.hpp"
#include "test_runner.hpp"

namespace grader {

struct GradeContext {
  std::filesystem::path root;
  int jobs = 2;
  double base_time_scale = 1.0;
  SandboxPolicy policy;
  std::filesystem::path trace_root;  // traces are copied below it; empty: not kept
  Progress* progress = nullptr;
  // The link check of student objects (submission_check.hpp). Only selfcheck's hostile step
  // turns it off, to show that the runtime layers hold on their own.
  bool link_check = true;
};

// What is graded. Its CMake name, target(), is the <impl> of the targets NN-name_tests_<impl>
// (common/cmake/CourseExercise.cmake); label() is what the reports call it.
struct Impl {
  enum class Kind {
    student,        // exercises/NN-name/src: the skeleton until the student fills it in
    reference,      // solutions/NN-name/src
    going_further,  // solutions/NN-name/going-further/<name>: tuning beyond the statement
    mutant,         // solutions/NN-name/mutants/<name>: a known-wrong variant
    submission,     // files staged from a directory
  };
  Kind kind = Kind::student;
  std::string name;                                 // a mutant's or a going-further variant's
  std::optional<std::filesystem::path> submission;  // a submission: staged from here
  std::string shown;                                // label() when it is not target()

  static Impl of_submission(const std::filesystem::path& dir, std::string shown);
  // "exercises", "solutions", "mutant-<m>", "going-further-<g>"; nullopt for anything else.
  static std::optional<Impl> named(std::string_view text);

  [[nodiscard]] std::string target() const;
  [[nodiscard]] std::string label() const { return shown.empty() ? target() : shown; }
  // The reference and its variants: written by the course, expected to score full marks.
  [[nodiscard]] bool is_course_code() const {
    return kind == Kind::reference || kind == Kind::going_further;
  }
};

// One exercise graded with one implementation.
struct ImplRequest {
  ExerciseManifest manifest;
  Impl impl;
  bool single_exercise = false;            // lets a submission hold files at its top
  bool tagged_sanitizer_runs = true;       // tests tagged sanitizer:* also run in those builds
  std::vector<BuildConfig> every_test_in;  // extra builds where every selected test runs
  std::optional<std::vector<std::string>> only_tests;  // default: every manifest test
  bool sanitizer_builds_only = false;                  // skip the normal build (it already ran)
};

struct PreparedImpl {
  ImplRequest request;
  std::map<BuildConfig, std::string> build_errors;  // per build that failed
  std::vector<std::string> binary_tests;            // from --gtest_list_tests
  std::string listing_error;                        // why the listing failed
  BinaryCheck check;
  std::vector<std::string> warnings;  // staging notes
  // Staged file path -> the submission's own path, for messages that name it.
  std::vector<std::pair<std::string, std::string>> path_rewrites;

  [[nodiscard]] std::vector<TestSpec> selected_tests() const;
  [[nodiscard]] std::vector<BuildConfig> configs_for(const TestSpec& test) const;
  [[nodiscard]] std::vector<BuildConfig> configs() const;  // every build this impl needs
};

// Stages submissions, configures and builds every target the requests need
// (one build call per configuration), and lists each binary's tests.
std::vector<PreparedImpl> prepare(const GradeContext& context, std::vector<ImplRequest> requests);

// Runs the tests of every prepared implementation that built.
std::vector<ExerciseResult> run_prepared(const GradeContext& context,
                                         const std::vector<PreparedImpl>& prepared);

// The sanitizer runs of a grade: only tests that passed in the normal build
// and are tagged for a sanitizer run again there (a test that already failed
// cannot earn its points, so building and running it under TSan would only
// cost the student time). Their runs are appended to `results`.
void add_sanitizer_runs(const GradeContext& context, const std::vector<PreparedImpl>& prepared,
                        std::vector<ExerciseResult>& results);

// "sanitizer:tsan" -> BuildConfig::tsan...
std::vector<BuildConfig> sanitizer_configs_of(const TestSpec& test);

}  // namespace grader
