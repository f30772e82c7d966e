// Grading: building what each implementation's run plan needs, checking each manifest against its
// test binary, then running every cell of the plans (a test in a build) on the job pool and
// assembling ExerciseResults. `grade`, `watch`, `selfcheck`, `stress` and the hostile checks are
// built on these steps; they differ only in the plans they make (run_plan.hpp).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "building/build_contract.hpp"
#include "course/manifest.hpp"
#include "course/model.hpp"
#include "course/run_plan.hpp"
#include "reports/progress.hpp"
#include "running/test_runner.hpp"

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
  // What --impl says, parsed once for every command: a name above, or else a directory (a
  // submission, named by its canonical path). Throws GraderError for anything else.
  static Impl parse(std::string_view text);

  [[nodiscard]] std::string target() const;
  [[nodiscard]] std::string label() const { return shown.empty() ? target() : shown; }
  // The reference and its variants: written by the course, expected to score full marks.
  [[nodiscard]] bool is_course_code() const {
    return kind == Kind::reference || kind == Kind::going_further;
  }
};

// One exercise graded with one implementation, as its plan says.
struct ImplRequest {
  ExerciseManifest manifest;
  Impl impl;
  RunPlan plan;
  bool single_exercise = false;  // lets a submission hold files at its top
  // selfcheck's run of a mutant, which runs its must_fail tests alone: build the binary CMake
  // made of only the test files they are in ("mutant-<m>:must-fail"), where it made one.
  bool must_fail_only = false;
};

struct PreparedImpl {
  ImplRequest request;
  std::map<BuildConfig, std::string> build_errors;  // per build that failed
  std::vector<BuildConfig> built;                   // builds made (or refused) so far
  std::map<BuildConfig, ImplTargets> targets;       // per build: what CMake calls its targets
  std::vector<std::string> binary_tests;            // from --gtest_list_tests
  std::string listing_error;                        // why the listing failed
  BinaryCheck check;
  std::vector<std::string> warnings;  // staging notes
  // Staged file path -> the submission's own path, for messages that name it.
  std::vector<std::pair<std::string, std::string>> path_rewrites;
};

// Stages submissions, configures and builds every target the plans need (one build call per
// configuration), and lists each binary's tests.
std::vector<PreparedImpl> prepare(const GradeContext& context, std::vector<ImplRequest> requests);

// Runs every cell of the plans of the implementations that built: one ExerciseResult per
// prepared implementation, in the same order, with a TestResult per planned test.
std::vector<ExerciseResult> run_prepared(const GradeContext& context,
                                         const std::vector<PreparedImpl>& prepared);

// selfcheck's pipeline, for many implementations at once: makes the normal build, then runs its
// cells that share the machine while another thread makes the sanitizer builds one after the
// other (a test waits far more than it computes, so compilers and test runs share two cores
// well); each sanitizer build's shared cells start as soon as it is made, and the exclusive cells
// run last, alone, with every build done. The same results as prepare() then run_prepared(), in
// about the time of the builds alone.
struct PreparedRun {
  std::vector<PreparedImpl> prepared;
  std::vector<ExerciseResult> results;  // one per prepared implementation, in the same order
  // Wall seconds of each stage: "normal build"; "sanitizer builds" and, beside them, "normal
  // runs" and each sanitizer build's runs ("asan runs", ...) as soon as it is made; then
  // "exclusive runs".
  std::vector<std::pair<std::string, double>> stages;
};
PreparedRun prepare_and_run_overlapped(const GradeContext& context,
                                       std::vector<ImplRequest> requests);

// grade's second step: cells in the sanitizer builds for the tests that passed in the normal
// build and are tagged for them (a test that already failed cannot earn its points, so building
// and running it under TSan would only cost the student time). The cells join each plan, the
// builds they need are made, and their runs are added to the same results.
// `which` picks the implementations that get them (selfcheck: the mutants, whose must_fail tests
// then run under a sanitizer only when the normal build did not catch them).
void add_sanitizer_runs(
    const GradeContext& context, std::vector<PreparedImpl>& prepared,
    std::vector<ExerciseResult>& results,
    const std::function<bool(const PreparedImpl&)>& which = [](const PreparedImpl&) {
      return true;
    });

}  // namespace grader
