// `selfcheck`: the course tests its own tests. Reference solutions must score
// full marks in every build, skeletons must compile and score 0 without a
// hang, and every mutant must be caught by the tests it declares.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "building/build.hpp"
#include "commands/commands.hpp"
#include "course/manifest.hpp"
#include "course/requirements.hpp"
#include "course/skeletons.hpp"
#include "course/util.hpp"
#include "running/fuzz.hpp"
#include "running/hostile.hpp"
#include "running/job_pool.hpp"
#include "running/process.hpp"
#include "running/sandbox.hpp"

namespace grader {

namespace {

// Prints each check (on stdout, like the final line) as it is decided and
// counts them.
class Checks {
 public:
  explicit Checks(Progress& progress) : progress_(progress) {}

  void pass(const std::string& what) {
    ++passed_;
    print("  ok    " + what);
  }
  void fail(const std::string& what, const std::string& details = "") {
    ++failed_;
    std::string text = "  FAIL  " + what;
    if (!details.empty()) {
      for (const auto& line : split_lines(cap_lines(details, 40))) text += "\n        " + line;
    }
    print(text);
  }
  void check(bool ok, const std::string& what, const std::string& details = "") {
    ok ? pass(what) : fail(what, details);
  }
  void warn(const std::string& what) { print("  warn  " + what); }
  void section(const std::string& title) { print(title); }

  [[nodiscard]] int passed() const { return passed_; }
  [[nodiscard]] int failed() const { return failed_; }

  // Checks decided on another thread keep their lines until replay_into, so that the report
  // keeps each section whole.
  static Checks buffered(Progress& progress) {
    Checks checks(progress);
    checks.buffered_ = true;
    return checks;
  }
  void replay_into(Checks& other) const {
    for (const auto& line : lines_) other.print(line);
    other.passed_ += passed_;
    other.failed_ += failed_;
  }

 private:
  void print(const std::string& text) {
    if (buffered_) {
      lines_.push_back(text);
      return;
    }
    progress_.clear();
    std::cout << text << std::endl;
  }

  Progress& progress_;
  int passed_ = 0;
  int failed_ = 0;
  bool buffered_ = false;
  std::vector<std::string> lines_;
};

struct ExerciseUnderCheck {
  ExerciseManifest manifest;
  std::vector<MutantSpec> mutants;
};

// Where selfcheck's wall time went, printed with its last line: what to make cheaper first.
class PhaseClock {
 public:
  // Ends the phase that was running and names it.
  void lap(const std::string& phase) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    if (seconds >= 0.5)
      phases_.push_back(phase + " " + std::to_string(std::lround(seconds)) + " s");
  }
  [[nodiscard]] std::string summary() const {
    const double total = std::chrono::duration<double>(last_ - start_).count();
    return "selfcheck took " + std::to_string(std::lround(total)) + " s: " + join(phases_, ", ");
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
  std::vector<std::string> phases_;
};

std::string run_reason(const RunResult& run) {
  const auto& attempt = run.final_attempt();
  return std::string(to_string(attempt.outcome)) +
         (attempt.reason.empty() ? "" : ": " + split_lines(attempt.reason).front());
}

const RunResult* run_in(const TestResult& test, BuildConfig config) {
  for (const auto& run : test.runs) {
    if (run.config == config) return &run;
  }
  return nullptr;
}

// Step 0: the unit tests of the kit and the grader.
void check_unit_tests(const fs::path& root, Progress& progress, Checks& checks) {
  checks.section("Unit tests of the test kit and the grader");
  Builder builder(root, progress);
  for (auto config : {BuildConfig::normal, BuildConfig::tsan}) {
    // Everything a student builds, in the normal build. Under TSan only the kit's tests, which
    // run below: the exercises' TSan builds are the ones their plans name (step 2), and nothing
    // else ever runs under TSan.
    const bool everything = config == BuildConfig::normal;
    const auto built = builder.build(config, {everything ? "all" : "course_kit_tests"},
                                     everything ? "the course" : "the kit's tests");
    const std::string what =
        std::string(everything ? "everything builds" : "the kit's tests build") + " (" +
        preset_name(config) + ")";
    if (!built.ok) {
      checks.fail(what, built.errors.empty() ? "" : built.errors.begin()->second);
      continue;
    }
    checks.pass(what);
    const std::string labels =
        config == BuildConfig::normal ? "^(kit|grader|tools|library)$" : "^kit$";
    progress.step("running the " +
                  std::string(config == BuildConfig::normal ? "kit and grader" : "kit") +
                  " unit tests (" + preset_name(config) + ")...");
    ProcessSpec spec;
    if (config == BuildConfig::tsan) spec.argv = tsan_launcher_prefix();
    spec.argv.insert(spec.argv.end(),
                     {"ctest", "--test-dir", build_dir(root, config).string(), "-L", labels,
                      "--output-on-failure", "--no-tests=error", "--timeout", "600", "-j", "2"});
    spec.interrupt_signal = 2;
    const auto result = run_process(spec);
    progress.clear();
    const auto log = root / "build" / "logs" / ("ctest-" + preset_name(config) + ".log");
    write_file(log, result.output);
    checks.check(result.succeeded(),
                 "unit tests labelled " + labels + " pass (" + preset_name(config) + ")",
                 "see " + display_path(log, root) + "\n" + fuzz_failure_excerpt(result.output));
  }
}

// A student file that the reference leaves as the skeleton has it is no exercise: it should be a
// given file (in exercises/NN-name/src, not in student_files, with no copy in solutions/), or, if
// the statement lets the student change it, a starter file (the manifest's starter_files).
void report_unchanged_student_files(const ExerciseManifest& manifest, const fs::path& root,
                                    Checks& checks) {
  for (const auto& file : manifest.student_files) {
    const auto& starters = manifest.starter_files;
    if (std::find(starters.begin(), starters.end(), file) != starters.end()) continue;
    const auto skeleton = try_read_file(manifest.dir / file);
    const auto reference = try_read_file(root / "solutions" / manifest.id / file);
    if (skeleton && reference && *skeleton == *reference) {
      checks.warn(manifest.id + ": " + file +
                  " is the same in the skeleton and the reference: the student has nothing to "
                  "write there; make it a given file, or list it in starter_files if the "
                  "statement lets the student change it");
    }
  }
}

// The exercise's requirements table: every row names tests the manifest declares.
void check_requirements_table(const ExerciseManifest& manifest, const fs::path& root,
                              Checks& checks) {
  const auto table = check_requirements(manifest, root);
  const auto& problems = table.problems;
  const auto path = requirements_path(root, manifest.id);
  checks.check(problems.empty(),
               manifest.id + ": every promise in " + display_path(path, root) +
                   " names tests that exist (" + std::to_string(table.rows.size()) + " rows)",
               join(problems, "\n"));
  for (const auto& warning : table.warnings) checks.warn(manifest.id + ": " + warning);
  const auto outside = tests_outside_requirements(manifest, table);
  if (problems.empty() && !outside.empty()) {
    checks.warn(manifest.id +
                ": tests with points that no requirement names: " + join(outside, ", "));
  }
}

// grade builds only the exercises whose files differ from the skeleton's, as these prints know
// them: a stale line would show a started exercise as not started, or the other way round.
void check_skeleton_prints_file(const fs::path& root, Checks& checks) {
  std::vector<ExerciseManifest> all;
  try {
    all = load_all_manifests(root);
  } catch (const ManifestError&) {
    return;  // reported above, exercise by exercise
  }
  const auto problems = check_skeleton_prints(root, all);
  checks.check(problems.empty(),
               std::string(kSkeletonPrintsFile) + " records every skeleton as it is",
               join(problems, "\n"));
}

std::vector<ExerciseUnderCheck> check_manifests(const fs::path& root,
                                                const std::vector<std::string>& queries,
                                                Checks& checks) {
  checks.section("Manifests");
  std::vector<fs::path> dirs;
  for (const auto& dir : exercise_dirs(root)) {
    const auto id = dir.filename().string();
    const bool wanted =
        queries.empty() || std::any_of(queries.begin(), queries.end(),
                                       [&](auto& q) { return exercise_matches(id, q); });
    if (wanted) dirs.push_back(dir);
  }
  for (const auto& q : queries) {
    const bool known = std::any_of(dirs.begin(), dirs.end(), [&](const fs::path& d) {
      return exercise_matches(d.filename().string(), q);
    });
    if (!known) throw GraderError("unknown exercise '" + q + "'");
  }
  std::vector<ExerciseUnderCheck> valid;
  for (const auto& dir : dirs) {
    ExerciseUnderCheck exercise;
    try {
      exercise.manifest = load_manifest(dir, root);
    } catch (const ManifestError& e) {
      checks.fail(dir.filename().string() + ": manifest is valid", e.what());
      continue;
    }
    auto loaded = load_mutants(root, exercise.manifest);
    exercise.mutants = std::move(loaded.mutants);
    auto problems = std::move(loaded.problems);
    const auto variants = check_going_further(root, exercise.manifest.id);
    problems.insert(problems.end(), variants.begin(), variants.end());
    checks.check(problems.empty(),
                 exercise.manifest.id + ": manifest, mutants and going-further variants are valid",
                 join(problems, "\n"));
    check_requirements_table(exercise.manifest, root, checks);
    report_unchanged_student_files(exercise.manifest, root, checks);
    if (problems.empty()) valid.push_back(std::move(exercise));
  }
  check_skeleton_prints_file(root, checks);
  return valid;
}

std::vector<ImplRequest> selfcheck_requests(const fs::path& root,
                                            const std::vector<ExerciseUnderCheck>& exercises,
                                            Checks& checks) {
  std::vector<ImplRequest> requests;
  for (const auto& exercise : exercises) {
    const auto& id = exercise.manifest.id;
    if (!fs::is_directory(root / "solutions" / id / "src")) {
      checks.fail(id + ": has a reference solution", "solutions/" + id + "/src is missing");
    } else {
      ImplRequest solutions;
      solutions.manifest = exercise.manifest;
      solutions.impl.kind = Impl::Kind::reference;
      // Full marks in every build: every test, not only the tagged ones.
      solutions.plan = RunPlan::normal_build(exercise.manifest);
      for (const auto build : test_builds()) solutions.plan.add_every_test_in(build);
      requests.push_back(solutions);
    }
    ImplRequest skeleton;
    skeleton.manifest = exercise.manifest;
    skeleton.impl.kind = Impl::Kind::student;
    skeleton.plan = RunPlan::normal_build(exercise.manifest);
    requests.push_back(skeleton);
    for (const auto& mutant : exercise.mutants) {
      ImplRequest request;
      request.manifest = exercise.manifest;
      request.impl.kind = Impl::Kind::mutant;
      request.impl.name = mutant.name;
      request.plan = RunPlan::normal_build(exercise.manifest, mutant.must_fail);
      request.must_fail_only = true;
      // Its sanitizer runs, when it has them, come after the normal build's (see
      // with_sanitizers_for_survivors).
      requests.push_back(request);
    }
    for (const auto& name : going_further_names(root, id)) {
      // Full marks, as the reference, with every test under ThreadSanitizer alone: a variant
      // trades locks for atomics or finer locks, where a race is the likely mistake, and TSan's
      // run checks every result as well. One build instead of three keeps selfcheck short.
      ImplRequest request;
      request.manifest = exercise.manifest;
      request.impl.kind = Impl::Kind::going_further;
      request.impl.name = name;
      request.plan = RunPlan::only_in(exercise.manifest, BuildConfig::tsan);
      requests.push_back(request);
    }
  }
  return requests;
}

// A mutant is caught when each must_fail test fails in the normal build, or in a sanitizer build
// the test is tagged for. So a mutant runs its tests in the normal build first, and only those that
// pass there run again in their sanitizer builds (grade's second step, add_sanitizer_runs): most
// mutants are caught at once and never cost a sanitizer build, while a race that only
// ThreadSanitizer sees still gets its run. `sanitizer_runs = false` in mutant.toml says the
// assertions alone must catch it.
bool has_sanitizer_runs(const std::vector<ExerciseUnderCheck>& exercises,
                        const ImplRequest& request) {
  if (request.impl.kind != Impl::Kind::mutant) return false;
  for (const auto& exercise : exercises) {
    if (exercise.manifest.id != request.manifest.id) continue;
    for (const auto& mutant : exercise.mutants) {
      if (mutant.name == request.impl.name) return mutant.sanitizer_runs;
    }
  }
  return false;
}

// build/reports/selfcheck/runs.tsv: every test run with its wall time, slowest first, so that an
// instructor sees which tests make selfcheck long (a mutant's hang waits for its whole timeout).
void write_run_times(const fs::path& file, const std::vector<ExerciseResult>& results) {
  struct Row {
    double seconds;
    std::string line;
  };
  std::vector<Row> rows;
  for (const auto& result : results) {
    for (const auto& test : result.tests) {
      for (const auto& run : test.runs) {
        for (const auto& attempt : run.attempts) {
          std::ostringstream seconds;
          seconds << std::fixed << std::setprecision(1) << attempt.seconds;
          rows.push_back({attempt.seconds, seconds.str() + "\t" + result.manifest.id + "\t" +
                                               result.implementation + "\t" + test.spec.name +
                                               "\t" + std::string(to_string(run.config)) + "\t" +
                                               std::string(to_string(attempt.outcome))});
        }
      }
    }
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
  std::string text = "seconds\texercise\timplementation\ttest\tbuild\toutcome\n";
  for (const auto& row : rows) text += row.line + "\n";
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  write_file(file, text);
}

void check_binary_lists(const std::vector<PreparedImpl>& prepared, Checks& checks) {
  for (const auto& p : prepared) {
    const auto kind = p.request.impl.kind;
    if (kind != Impl::Kind::reference && kind != Impl::Kind::student) continue;
    if (kind == Impl::Kind::student &&
        std::any_of(prepared.begin(), prepared.end(), [&](const PreparedImpl& o) {
          return o.request.impl.kind == Impl::Kind::reference &&
                 o.request.manifest.id == p.request.manifest.id &&
                 !o.build_errors.contains(BuildConfig::normal);
        })) {
      continue;  // the solution's binary already answered for this exercise
    }
    if (p.build_errors.contains(BuildConfig::normal)) continue;
    std::vector<std::string> problems;
    if (!p.listing_error.empty()) problems.push_back("cannot list the tests: " + p.listing_error);
    for (const auto& name : p.check.missing_in_binary) {
      problems.push_back("declared in the manifest but not in the test binary: " + name);
    }
    for (const auto& name : p.check.missing_in_manifest) {
      problems.push_back("in the test binary but not in the manifest: " + name);
    }
    checks.check(problems.empty(), p.request.manifest.id + ": the manifest lists every test",
                 join(problems, "\n"));
  }
}

// The reference, or one of its going-further variants: full marks in every build it ran in.
void check_full_marks(const ExerciseResult& result, const Impl& impl, Checks& checks) {
  const auto& id = result.manifest.id;
  const std::string what = impl.kind == Impl::Kind::going_further
                               ? "going-further variant " + impl.name
                               : std::string("reference solution");
  if (result.build_error) {
    checks.fail(id + ": " + what + " builds", *result.build_error);
    return;
  }
  for (const auto config : test_builds()) {
    std::vector<std::string> failures;
    double score = 0;
    bool ran_here = false;  // a going-further variant runs in the TSan build alone
    for (const auto& test : result.tests) {
      const auto* run = run_in(test, config);
      if (run == nullptr) continue;
      ran_here = true;
      if (test.spec.has_tag(kTagOracle) && run->final_attempt().outcome == Outcome::not_run) {
        checks.warn(id + ": " + test.spec.name + " did not run (" + preset_name(config) +
                    "): " + run_reason(*run));
        continue;
      }
      if (run->passed()) {
        score += test.spec.points;
        if (run->attempts.size() > 1) {
          checks.warn(id + ": " + test.spec.name + " needed " +
                      std::to_string(run->attempts.size() - 1) + " retr" +
                      (run->attempts.size() > 2 ? "ies" : "y") + " to pass (" +
                      preset_name(config) + "); course code should pass first time");
        }
      } else {
        failures.push_back(test.spec.name + ": " + run_reason(*run));
      }
    }
    if (!ran_here) continue;
    checks.check(failures.empty(),
                 id + ": " + what + " scores " + format_number(score) + " / " +
                     format_number(result.max_score()) + " (" + preset_name(config) + ")",
                 join(failures, "\n"));
  }
}

void check_skeleton(const ExerciseResult& result, Checks& checks) {
  const auto& id = result.manifest.id;
  if (result.build_error) {
    checks.fail(id + ": skeleton compiles", *result.build_error);
    return;
  }
  checks.pass(id + ": skeleton compiles");
  std::vector<std::string> problems;
  for (const auto& test : result.tests) {
    for (const auto& run : test.runs) {
      if (run.passed() && !test.spec.has_tag(kTagOracle)) {
        problems.push_back(test.spec.name + " passes on the skeleton");
      }
      if (run.final_attempt().outcome == Outcome::timeout) {
        problems.push_back(test.spec.name + " hits its timeout on the skeleton");
      }
    }
  }
  checks.check(problems.empty(),
               id + ": skeleton scores 0 / " + format_number(result.max_score()) +
                   " with no test hitting its timeout",
               join(problems, "\n"));
}

std::vector<std::string> names_of(const std::vector<TestSpec>& tests) {
  std::vector<std::string> names;
  for (const auto& test : tests) names.push_back(test.name);
  return names;
}

void check_mutant(const ExerciseResult& result, const PreparedImpl& prepared, Checks& checks) {
  const auto& request = prepared.request;
  const auto name = result.manifest.id + ": mutant " + request.impl.name;
  if (result.build_error) {
    checks.fail(name + " builds", *result.build_error);
    return;
  }
  // Its binary may hold only the test files that name its must_fail tests' suites (CMake picks
  // them, CourseExercise.cmake): a test left out would not run, and "not run" must not count as
  // caught.
  std::vector<std::string> left_out;
  for (const auto& test : request.plan.tests(request.manifest)) {
    if (std::find(prepared.binary_tests.begin(), prepared.binary_tests.end(), test.name) ==
        prepared.binary_tests.end()) {
      left_out.push_back(test.name);
    }
  }
  if (!left_out.empty()) {
    checks.fail(name + "'s test binary holds its must_fail tests",
                join(left_out, ", ") +
                    " not in it: CMake builds a header-only mutant from the test files that "
                    "name each must_fail test's suite; write the suite's name in the file that "
                    "defines its tests, and configure again");
    return;
  }
  std::vector<std::string> survivors;
  for (const auto& test : result.tests) {
    const bool caught = std::any_of(test.runs.begin(), test.runs.end(), [](const RunResult& run) {
      const auto outcome = run.final_attempt().outcome;
      return outcome != Outcome::passed && outcome != Outcome::not_run;
    });
    if (!caught) {
      std::vector<std::string> configs;
      for (const auto& run : test.runs) {
        configs.push_back(std::string(to_string(run.config)) + ": " + run_reason(run));
      }
      survivors.push_back(test.spec.name + " did not catch it (" + join(configs, "; ") + ")");
    }
  }
  checks.check(survivors.empty(),
               name + " is caught by " + join(names_of(request.plan.tests(request.manifest)), ", "),
               join(survivors, "\n"));
}

// Step 4: the hostile corpus (grader/tests/hostile), each attack graded as a submission of 00.
void check_hostile_submissions(const GradeContext& context,
                               const std::vector<ExerciseUnderCheck>& exercises, Progress& progress,
                               Checks& checks, HostilePart part) {
  for (const auto& exercise : exercises) {
    if (exercise.manifest.id != "00-warmup") continue;
    if (part == HostilePart::alone) {
      for (const auto& check : run_hostile_corpus(context, exercise.manifest, part))
        checks.check(check.ok, check.what, check.details);
      continue;
    }
    checks.section("Hostile submissions (grader/tests/hostile), graded as 00-warmup");
    const auto& support = sandbox_support();
    if (!support.root || support.cgroups == CgroupKind::none) {
      checks.warn(
          "the attacks with the link check off are skipped: they test the layers that "
          "need root and a cgroup");
    }
    if (!support.root && !support.user_namespaces) {
      checks.warn(
          "the attacks marked 'needs: sandbox' are skipped: neither root nor user "
          "namespaces are here to contain them");
    }
    progress.step("grading the hostile submissions...");
    for (const auto& check : run_hostile_corpus(context, exercise.manifest, part))
      checks.check(check.ok, check.what, check.details);
  }
}

// Step 5: the exercises' libFuzzer targets (exercises/<id>/fuzz/*.cpp), built against the
// reference with clang in build/fuzz and run for COURSE_FUZZ_SECONDS each. Skipped, with a line
// that says so, when clang++ is not installed.
void check_fuzzers(const fs::path& root, const std::vector<ExerciseUnderCheck>& exercises,
                   Progress& progress, Checks& checks) {
  std::vector<std::string> ids;
  for (const auto& exercise : exercises) ids.push_back(exercise.manifest.id);
  if (!has_fuzz_sources(root, ids)) return;
  checks.section("Fuzzers");
  if (!fuzz_compiler()) {
    checks.warn("fuzzers skipped: clang++ is not installed (grader/install-deps --extras adds it)");
    return;
  }
  const auto logs = root / "build" / "logs";
  Builder builder(root, progress);
  std::vector<FuzzTarget> targets;
  std::vector<std::string> names;
  BuildResult built;
  try {
    targets = fuzz_targets(builder.contract(BuildConfig::fuzz), ids);
    for (const auto& target : targets) names.push_back(target.target);
    built = builder.build(BuildConfig::fuzz, names,
                          std::to_string(targets.size()) + " fuzz target(s) with clang");
  } catch (const GraderError& e) {
    progress.clear();
    if (interrupted()) throw;
    checks.fail("the fuzz build configures and builds (clang)", e.what());
    return;
  }
  progress.clear();
  const auto& build_log = built.log;
  const int seconds = fuzz_seconds(std::getenv("COURSE_FUZZ_SECONDS"));
  for (const auto& target : targets) {
    const std::string what = target.exercise_id + ": fuzzer " + target.name + " runs " +
                             std::to_string(seconds) + " s on the reference without a crash";
    if (!fs::exists(target.binary)) {
      const auto errors = built.errors.find(target.target);
      checks.fail(what, "it did not build; see " + display_path(build_log, root) + "\n" +
                            (errors == built.errors.end() ? std::string() : errors->second));
      continue;
    }
    progress.step("fuzzing " + target.exercise_id + " with " + target.name + " for " +
                  std::to_string(seconds) + " s...");
    const TempDir corpus("course-fuzz-");
    ProcessSpec spec;
    spec.argv = fuzz_command(target, seconds, corpus.path());
    spec.cwd = corpus.path();  // crash-* files land here; the report names the input
    spec.limits.wall_timeout_s = seconds + 120.0;
    const auto result = run_process(spec);
    progress.clear();
    const auto log = logs / ("fuzz-" + target.exercise_id + "-" + target.name + ".log");
    write_file(log, result.output);
    checks.check(result.succeeded(), what,
                 "see " + display_path(log, root) + "\n" + fuzz_failure_excerpt(result.output));
  }
}

}  // namespace

int cmd_selfcheck(const fs::path& root, const SelfcheckArgs& args) {
  install_interrupt_handlers();
  auto progress = Progress::for_terminal();
  Checks checks(progress);
  checks.section("Tests run in: " + sandbox_support().describe());
  for (const auto& note : sandbox_support().notes) checks.section("  " + note);

  PhaseClock clock;
  if (!args.skip_unit && !args.static_only) check_unit_tests(root, progress, checks);
  clock.lap("unit tests");
  if (interrupted()) return 130;
  const auto exercises = check_manifests(root, args.exercises, checks);
  if (args.static_only) {  // manifests, mutants' patches and requirements tables: no build
    progress.clear();
    std::cout << "selfcheck: " << checks.passed() << " passed, " << checks.failed() << " failed\n";
    return checks.failed() == 0 ? 0 : 1;
  }

  GradeContext context;
  context.root = root;
  // Twice grade's: selfcheck's runs are mostly mutants that wait for a deadline and references'
  // tests, which must pass on a loaded machine anyway; the timing and performance tests still run
  // alone. On 2 cores this cut the runs' wall time without a reference failing.
  context.jobs = args.jobs > 0 ? args.jobs : 2 * default_jobs();
  context.base_time_scale = base_time_scale();
  context.trace_root = root / "build" / "reports" / "selfcheck" / "traces";
  context.progress = &progress;
  std::error_code ec;
  fs::remove_all(context.trace_root, ec);

  auto requests = selfcheck_requests(root, exercises, checks);
  if (!requests.empty()) {
    clock.lap("manifests");
    auto [prepared, results, stages] = prepare_and_run_overlapped(context, requests);
    std::vector<std::string> parts;
    for (const auto& [stage, seconds] : stages) {
      parts.push_back(stage + " " + std::to_string(std::lround(seconds)));
    }
    clock.lap("builds and test runs (" + join(parts, ", ") + ")");
    if (interrupted()) return 130;
    check_binary_lists(prepared, checks);
    add_sanitizer_runs(context, prepared, results, [&](const PreparedImpl& p) {
      return has_sanitizer_runs(exercises, p.request);
    });
    clock.lap("mutants' sanitizer runs");
    if (interrupted()) return 130;
    write_run_times(root / "build" / "reports" / "selfcheck" / "runs.tsv", results);
    checks.section("Solutions, their going-further variants, skeletons and mutants");
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& impl = prepared[i].request.impl;
      switch (impl.kind) {
        case Impl::Kind::reference:
        case Impl::Kind::going_further:
          check_full_marks(results[i], impl, checks);
          break;
        case Impl::Kind::student:
          check_skeleton(results[i], checks);
          break;
        case Impl::Kind::mutant:
        case Impl::Kind::submission:
          check_mutant(results[i], prepared[i], checks);
          break;
      }
    }
  }
  if (interrupted()) return 130;
  // The fuzzers (a clang build, then one run on one core at a time) go beside the hostile
  // submissions, which are mostly waits. Beside the test runs and the sanitizer builds instead,
  // they cost more than they saved: those builds keep both cores busy, and the fuzz build alone
  // is about 320 CPU-s (a cold run on 2 cores with them there: sanitizer builds 605 -> 836 s). They
  // share nothing the hostile checks look at (the fuzz build is build/fuzz, the corpora are
  // temporary folders; an attack's checks look at the course tree outside build/, at files named
  // hostile-*, at IPC objects and at processes of its own sandbox users).
  Checks hostile_checks = Checks::buffered(progress);
  Checks fuzz_checks = Checks::buffered(progress);
  {
    std::exception_ptr fuzz_error;
    {
      const std::jthread fuzzing([&] {
        try {
          check_fuzzers(root, exercises, progress, fuzz_checks);
        } catch (...) {
          fuzz_error = std::current_exception();
        }
      });
      check_hostile_submissions(context, exercises, progress, hostile_checks,
                                HostilePart::beside_other_work);
    }
    if (fuzz_error) std::rethrow_exception(fuzz_error);
  }
  clock.lap("hostile submissions beside fuzzing");
  // The attacks graded under a umask of their own change what every thread of the grader shares:
  // they run alone.
  check_hostile_submissions(context, exercises, progress, hostile_checks, HostilePart::alone);
  clock.lap("hostile submissions that run alone");
  hostile_checks.replay_into(checks);
  fuzz_checks.replay_into(checks);
  if (interrupted()) return 130;
  progress.clear();
  std::cout << clock.summary() << "\n";
  std::cout << "selfcheck: " << checks.passed() << " passed, " << checks.failed() << " failed\n";
  return checks.failed() == 0 ? 0 : 1;
}

}  // namespace grader
