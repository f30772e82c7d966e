// The grader's commands. Each returns the process exit code; errors that stop
// a command are thrown as GraderError and turned into a message by main().
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "course/model.hpp"
#include "running/grading.hpp"

namespace grader {

struct GradeArgs {
  std::vector<std::string> exercises;
  std::string impl = "exercises";
  std::vector<std::string> tests;    // --test: only these (full names); empty: every test
  std::vector<std::string> formats;  // names from report_formats() (reporters.hpp)
  std::vector<std::string> outputs;  // outputs[i] is for formats[i]; "" or missing: stdout
  std::optional<double> fail_under;  // percent
  int jobs = 0;                      // 0: default_jobs()
  bool no_sanitizers = false;
  bool verbose = false;
};

int cmd_list(const std::filesystem::path& root, const std::optional<std::string>& impl);
int cmd_grade(const std::filesystem::path& root, const GradeArgs& args);
int cmd_hint(const std::filesystem::path& root, const std::string& exercise,
             std::optional<int> level);
int cmd_watch(const std::filesystem::path& root, const std::string& exercise, int jobs);

struct SelfcheckArgs {
  std::vector<std::string> exercises;
  int jobs = 0;
  bool skip_unit = false;
  bool static_only = false;  // --static: the checks that need no build
};
int cmd_selfcheck(const std::filesystem::path& root, const SelfcheckArgs& args);
// Instructors: checks grader/skeletons.sha256 against exercises/, or writes it.
int cmd_skeletons(const std::filesystem::path& root, bool write);

struct StressArgs {
  std::vector<std::string> exercises;
  int runs = 50;
  std::string config = "default";  // default, asan or tsan
  bool load = true;                // keep one core busy meanwhile
  int jobs = 0;
};
int cmd_stress(const std::filesystem::path& root, const StressArgs& args);

int cmd_export_student(const std::filesystem::path& root, const std::filesystem::path& dest);
int cmd_new(const std::filesystem::path& root, const std::string& name);
// The compiler launcher of student code under a root grader (grader/sandbox-compile): runs
// `command` as a sandbox user with the course tree read-only but for its outputs.
int cmd_sandbox_compile(const std::filesystem::path& root, const std::vector<std::string>& command);

// ---- shared by the commands (and tested) ----

// What each exercise's plan runs.
struct PlanOptions {
  std::vector<std::string> tests;           // only these (full names); empty: every test
  BuildConfig build = BuildConfig::normal;  // the one build they run in (stress: any)
  // The sanitizer builds that tagged tests will need are made before any test runs too (grading
  // without a cgroup); their cells are added later, by add_sanitizer_runs.
  bool sanitizer_builds_first = false;
};

// The one ImplRequest per exercise of a command that grades `impl` (Impl::parse of --impl), with
// its plan. Throws GraderError for a missing solution, mutant or going-further variant.
std::vector<ImplRequest> make_requests(const std::filesystem::path& root,
                                       const std::vector<ExerciseManifest>& manifests,
                                       const Impl& impl, const PlanOptions& options = {});

// Manifest problems found by building: tests declared but not compiled in
// (thrown as ManifestError), tests compiled in but not declared (warnings,
// returned; errors when `strict`).
std::vector<std::string> check_prepared(const std::filesystem::path& root,
                                        const std::vector<PreparedImpl>& prepared, bool strict);

// Writes every format to its output (or stdout), plus build/reports/last/
// report.json and report.html. Prints the text report on stdout unless another
// format already goes there.
void emit_reports(const std::filesystem::path& root, const GradeReport& report,
                  const GradeArgs& args);

// The course root: --root when given, else the nearest directory above the
// working directory (or above the executable) that holds exercises/ and grader/.
std::filesystem::path find_root(const std::optional<std::filesystem::path>& given);

}  // namespace grader
