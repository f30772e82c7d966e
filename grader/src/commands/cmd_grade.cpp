// `grade` and `watch`.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "commands/commands.hpp"
#include "course/manifest.hpp"
#include "course/skeletons.hpp"
#include "course/util.hpp"
#include "running/job_pool.hpp"
#include "running/sandbox.hpp"

namespace grader {

namespace {

using Clock = std::chrono::steady_clock;

// A mutant's description is instructor material, checked by selfcheck. Grading one checks its
// exercise's mutants first, as selfcheck would: a broken one stops grading like a broken manifest.
// A student's grade never reads them (a student repository has none).
void check_mutant_files(const fs::path& root, const std::vector<ExerciseManifest>& manifests,
                        const Impl& impl) {
  if (impl.kind != Impl::Kind::mutant) return;
  std::vector<std::string> problems;
  for (const auto& manifest : manifests) {
    const auto loaded = load_mutants(root, manifest);
    problems.insert(problems.end(), loaded.problems.begin(), loaded.problems.end());
  }
  if (!problems.empty()) throw ManifestError(problems);
}

// `single_exercise`: one exercise was asked for, so a submission may hold its files at its top
// (not merely one exercise was started among several).
GradeReport grade_once(const fs::path& root, const std::vector<ExerciseManifest>& manifests,
                       const Impl& impl, const std::vector<std::string>& tests, bool sanitizers,
                       int jobs, Progress& progress, bool single_exercise) {
  const auto start = Clock::now();
  GradeContext context;
  context.root = root;
  context.jobs = jobs > 0 ? jobs : default_jobs();
  context.base_time_scale = base_time_scale();
  context.trace_root = root / "build" / "reports" / "last" / "traces";
  context.progress = &progress;
  std::error_code ec;
  fs::remove_all(context.trace_root, ec);

  // Tests in the normal build run first; a test that fails there cannot earn its points, so
  // by default the sanitizer builds are made afterwards, only for what passed. Without a cgroup
  // a test's process could outlive it and tamper with a later build, so there every build is
  // made before any test runs.
  const bool contained = sandbox_support().cgroups != CgroupKind::none;
  PlanOptions plan;
  plan.tests = tests;
  plan.sanitizer_builds_first = sanitizers && !contained;
  auto requests = make_requests(root, manifests, impl, plan);
  for (auto& request : requests) request.single_exercise = single_exercise;
  auto prepared = prepare(context, std::move(requests));
  for (const auto& p : prepared) {
    for (const auto& warning : p.warnings) progress.message("warning: " + warning);
  }
  for (const auto& warning : check_prepared(root, prepared, false)) {
    progress.message("warning: " + warning);
  }
  GradeReport report;
  report.exercises = run_prepared(context, prepared);  // scored out of the planned tests
  if (sanitizers && !interrupted()) add_sanitizer_runs(context, prepared, report.exercises);
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.sandbox = sandbox_support().describe();
  return report;
}

using Snapshot = std::vector<std::optional<fs::file_time_type>>;

Snapshot snapshot_of(const std::vector<fs::path>& files) {
  Snapshot snapshot;
  for (const auto& file : files) {
    std::error_code ec;
    const auto time = fs::last_write_time(file, ec);
    snapshot.push_back(ec ? std::nullopt : std::optional(time));
  }
  return snapshot;
}

// The result of an exercise that was not started: its points, each test not run.
ExerciseResult not_started_result(const ExerciseManifest& manifest, const std::string& label) {
  ExerciseResult result;
  result.manifest = manifest;
  result.implementation = label;
  result.not_started = true;
  for (const auto& spec : manifest.tests) {
    TestResult test;
    test.spec = spec;
    RunResult run;
    run.attempts.push_back(
        Attempt{.outcome = Outcome::not_run, .seconds = 0, .reason = "not started"});
    test.runs.push_back(std::move(run));
    result.tests.push_back(std::move(test));
  }
  return result;
}

// A student's own work (exercises/, or a submission directory) graded without naming exercises:
// only what was started is built. The rest is the skeleton, whose 0 selfcheck proves.
struct Split {
  std::vector<ExerciseManifest> started;
  std::vector<ExerciseManifest> not_started;
};

Split split_started(const fs::path& root, const std::vector<ExerciseManifest>& manifests,
                    const GradeArgs& args, const Impl& impl) {
  const bool student_work = impl.kind == Impl::Kind::student || impl.kind == Impl::Kind::submission;
  const bool named = !args.exercises.empty() || !args.tests.empty();
  if (!student_work || named) return {manifests, {}};
  const std::optional<fs::path> submission = impl.submission;
  const SkeletonPrints prints = load_skeleton_prints(root);
  Split split;
  for (const auto& manifest : manifests) {
    const bool started = is_started(manifest, prints, submission, manifests.size() == 1);
    (started ? split.started : split.not_started).push_back(manifest);
  }
  return split;
}

// The results in the manifests' order.
GradeReport merge(GradeReport graded, const Split& split, const std::string& label) {
  for (const auto& manifest : split.not_started) {
    graded.exercises.push_back(not_started_result(manifest, label));
  }
  std::stable_sort(graded.exercises.begin(), graded.exercises.end(),
                   [](const ExerciseResult& a, const ExerciseResult& b) {
                     return a.manifest.order < b.manifest.order;
                   });
  return graded;
}

}  // namespace

int cmd_grade(const fs::path& root, const GradeArgs& args) {
  install_interrupt_handlers();
  const auto manifests =
      select_tests(select_exercises(load_all_manifests(root), args.exercises), args.tests);
  const Impl impl = Impl::parse(args.impl);  // --impl, parsed once
  check_mutant_files(root, manifests, impl);
  auto progress = Progress::for_terminal();
  const Split split = split_started(root, manifests, args, impl);
  GradeReport graded;
  if (!split.started.empty()) {
    graded = grade_once(root, split.started, impl, args.tests, !args.no_sanitizers, args.jobs,
                        progress, manifests.size() == 1);
  } else {
    graded.sandbox = sandbox_support().describe();
  }
  const auto report = merge(std::move(graded), split, impl.label());
  if (interrupted()) {
    std::cerr << "interrupted\n";
    return 130;
  }
  emit_reports(root, report, args);
  if (args.fail_under) {
    const double max = report.max_score();
    const double percent = max > 0 ? 100.0 * report.score() / max : 100.0;
    if (percent < *args.fail_under) {
      std::cout << "Score " << format_number(percent) << "% is below --fail-under "
                << format_number(*args.fail_under) << "%.\n";
      return 1;
    }
  }
  return 0;
}

int cmd_watch(const fs::path& root, const std::string& exercise, int jobs) {
  install_interrupt_handlers();
  const bool tty = stdout_is_tty();
  std::vector<fs::path> watched;  // kept from the last valid manifest
  for (;;) {
    try {
      const auto manifests = select_exercises(load_all_manifests(root), {exercise});
      watched.clear();
      for (const auto& file : manifests.front().student_files) {
        watched.push_back(manifests.front().dir / file);
      }
      watched.push_back(manifests.front().dir / "exercise.toml");
      if (tty) std::cout << "\033[2J\033[H" << std::flush;
      auto progress = Progress::for_terminal();
      const auto report =
          grade_once(root, manifests, Impl::parse("exercises"), {}, false, jobs, progress, true);
      if (interrupted()) return 0;
      GradeArgs args;
      args.no_sanitizers = true;
      emit_reports(root, report, args);
    } catch (const GraderError& e) {
      if (interrupted()) return 0;
      std::cout << "grader: " << e.what() << "\n";
      if (watched.empty()) return e.exit_code();
    }
    std::vector<std::string> names;
    for (const auto& file : watched) names.push_back(display_path(file, root));
    std::cout << "\nWatching " << join(names, ", ") << " for changes (Ctrl-C to stop)...\n"
              << std::flush;
    const auto before = snapshot_of(watched);
    while (wait_unless_interrupted(0.5) && snapshot_of(watched) == before) {
    }
    if (interrupted()) return 0;
  }
}

}  // namespace grader
