// Commands that need no build: hint, new, export-student, and the helpers
// grade shares (implementation requests, manifest/binary checks, reports).
#include "commands/commands.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "building/build.hpp"
#include "course/manifest.hpp"
#include "course/requirements.hpp"
#include "course/run_plan.hpp"
#include "course/skeletons.hpp"
#include "course/time_scale.hpp"
#include "reports/reporters.hpp"
#include "running/process.hpp"
#include "running/test_runner.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::make_exercise;
using testing_support::put;

std::string captured(const std::function<void()>& body) {
  ::testing::internal::CaptureStdout();
  body();
  return ::testing::internal::GetCapturedStdout();
}

bool contains_text(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Hint, ShowsTheNextUnseenHintAndRemembersIt) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  const auto first = captured([&] { cmd_hint(root.path(), "warmup", std::nullopt); });
  EXPECT_TRUE(contains_text(first, "Hint 1 of 2 for 00-warmup")) << first;
  EXPECT_TRUE(contains_text(first, "\none\n")) << first;
  EXPECT_TRUE(contains_text(first, "exercises/00-warmup/README.md")) << "names the statement";

  const auto second = captured([&] { cmd_hint(root.path(), "0", std::nullopt); });
  EXPECT_TRUE(contains_text(second, "Hint 2 of 2")) << second;
  const auto third = captured([&] { cmd_hint(root.path(), "0", std::nullopt); });
  EXPECT_TRUE(contains_text(third, "Hint 2 of 2")) << third;
  EXPECT_TRUE(contains_text(third, "That was the last hint.")) << third;

  const auto level = captured([&] { cmd_hint(root.path(), "0", 1); });
  EXPECT_TRUE(contains_text(level, "Hint 1 of 2")) << level;
  const auto seen = nlohmann::json::parse(read_file(root.path() / "build/hints-seen.json"));
  EXPECT_EQ(seen["00-warmup"], 2) << "asking for an earlier level keeps the progress";

  EXPECT_THROW(cmd_hint(root.path(), "0", 3), GraderError);
  EXPECT_THROW(cmd_hint(root.path(), "nope", std::nullopt), GraderError);
}

TEST(New, ScaffoldsAnExerciseFromTheTemplatesWithTheNextNumber) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  make_exercise(root.path(), "04-pool", {"B.One"}, 4);
  std::filesystem::copy(testing_support::course_dir() / "grader" / "templates",
                        root.path() / "grader" / "templates",
                        std::filesystem::copy_options::recursive);
  captured([&] { cmd_new(root.path(), "bounded-queue"); });

  const auto exercise = root.path() / "exercises" / "05-bounded-queue";
  const auto solution = root.path() / "solutions" / "05-bounded-queue";
  for (const auto& file :
       {exercise / "README.md", exercise / "exercise.toml",
        exercise / "include/bounded_queue/bounded_queue.hpp", exercise / "src/bounded_queue.cpp",
        exercise / "tests/bounded_queue_test.cpp", solution / "src/bounded_queue.cpp",
        solution / "REQUIREMENTS.md"}) {
    ASSERT_TRUE(std::filesystem::is_regular_file(file)) << file;
    const auto text = read_file(file);
    EXPECT_FALSE(contains_text(text, "{{")) << file << " still has a placeholder";
  }
  const auto manifest = load_manifest(exercise, root.path());
  EXPECT_EQ(manifest.id, "05-bounded-queue");
  EXPECT_EQ(manifest.order, 5);
  EXPECT_EQ(manifest.student_files, std::vector<std::string>{"src/bounded_queue.cpp"});
  EXPECT_TRUE(contains_text(read_file(exercise / "tests/bounded_queue_test.cpp"),
                            "TEST(BoundedQueue, CountsEveryValue)"));
  const auto mutants = mutant_dirs(root.path(), "05-bounded-queue");
  ASSERT_EQ(mutants.size(), 1U);
  const auto mutant = load_mutant(mutants[0], root.path());
  EXPECT_TRUE(check_mutants(manifest, {mutant}, root.path()).empty());
  const auto requirements = check_requirements(manifest, root.path()).problems;
  EXPECT_TRUE(requirements.empty()) << join(requirements, "\n");
  const auto prints = check_skeleton_prints(root.path(), load_all_manifests(root.path()));
  EXPECT_TRUE(prints.empty()) << "grader/skeletons.sha256 must know the new skeleton: "
                              << join(prints, "\n");
}

TEST(New, RefusesBadOrTakenNames) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  std::filesystem::copy(testing_support::course_dir() / "grader" / "templates",
                        root.path() / "grader" / "templates",
                        std::filesystem::copy_options::recursive);
  EXPECT_THROW(cmd_new(root.path(), "Bad Name"), GraderError);
  EXPECT_THROW(cmd_new(root.path(), "9lives"), GraderError);
  EXPECT_THROW(cmd_new(root.path(), "warmup"), GraderError);
  EXPECT_FALSE(std::filesystem::exists(root.path() / "exercises" / "01-warmup"));
}

// A course tree with instructor material in the places export must skip.
void make_course_tree(const std::filesystem::path& root) {
  make_exercise(root, "00-warmup", {"A.One"});
  put(root, "README.md", "the course\n");
  put(root, "grader/grader", "#!/bin/sh\n");
  std::filesystem::permissions(root / "grader/grader", std::filesystem::perms::owner_all);
  put(root, "solutions/00-warmup/src/main.cpp", "the answer\n");
  put(root, "solutions/00-warmup/mutants/m/mutant.toml", "description = \"x\"\n");
  put(root, "exercises/00-warmup/mutants/stray.txt", "instructor notes\n");
  put(root, "build/default/CMakeCache.txt", "cache\n");
  put(root, ".github/workflows/ci.yml", "the course's own CI\n");
  put(root, ".github/workflows/classroom.yml", "autograding\n");
  put(root, ".ci/run", "#!/bin/sh\n");
  put(root, "grader/gradescope/setup.sh", "#!/bin/sh\n");
}

void expect_student_tree(const std::filesystem::path& dest) {
  EXPECT_TRUE(std::filesystem::exists(dest / "README.md"));
  EXPECT_TRUE(std::filesystem::exists(dest / "exercises/00-warmup/exercise.toml"));
  EXPECT_TRUE(std::filesystem::exists(dest / "exercises/00-warmup/src/main.cpp"));
  EXPECT_FALSE(std::filesystem::exists(dest / "solutions"));
  EXPECT_FALSE(std::filesystem::exists(dest / "exercises/00-warmup/mutants"));
  EXPECT_FALSE(std::filesystem::exists(dest / "build"));
  EXPECT_FALSE(std::filesystem::exists(dest / ".github/workflows/ci.yml"))
      << "the course's CI runs selfcheck, which needs the solutions";
  EXPECT_FALSE(std::filesystem::exists(dest / ".ci"));
  EXPECT_FALSE(std::filesystem::exists(dest / "grader/gradescope"));
  EXPECT_TRUE(std::filesystem::exists(dest / ".github/workflows/classroom.yml"));
  struct stat st {};
  ASSERT_EQ(::stat((dest / "grader/grader").c_str(), &st), 0);
  EXPECT_TRUE((st.st_mode & S_IXUSR) != 0) << "the launcher stays executable";
}

TEST(ExportStudent, CopiesTheCourseWithoutSolutionsOrMutants) {
  TempDir root;
  make_course_tree(root.path());
  TempDir out;
  const auto dest = out.path() / "student";
  captured([&] { cmd_export_student(root.path(), dest); });
  expect_student_tree(dest);
  EXPECT_THROW(cmd_export_student(root.path(), dest), GraderError) << "not into a non-empty dir";
  EXPECT_THROW(cmd_export_student(root.path(), root.path() / "exercises" / "copy"), GraderError)
      << "not inside the course itself";
}

TEST(ExportStudent, UsesTheFilesGitKnowsWhenTheCourseIsARepository) {
  if (!find_executable("git")) GTEST_SKIP() << "git is not installed";
  TempDir root;
  make_course_tree(root.path());
  put(root.path(), ".gitignore", "/build/\n*.log\n");
  put(root.path(), "notes.log", "ignored by git\n");
  ProcessSpec init;
  init.argv = {"git", "-C", root.path().string(), "init", "-q"};
  ASSERT_TRUE(run_process(init).succeeded());
  TempDir out;
  captured([&] { cmd_export_student(root.path(), out.path() / "student"); });
  expect_student_tree(out.path() / "student");
  EXPECT_TRUE(std::filesystem::exists(out.path() / "student" / ".gitignore"));
  EXPECT_TRUE(std::filesystem::exists(out.path() / "student" / ".git"))
      << "the export starts its own history with the starter code";
  EXPECT_FALSE(std::filesystem::exists(out.path() / "student" / "notes.log"));
}

TEST(Requests, NamedImplementationsAndSubmissionDirectories) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  make_exercise(root.path(), "01-pool", {"B.One"}, 1);
  const auto manifests = load_all_manifests(root.path());

  const auto own = make_requests(
      root.path(), manifests, Impl::parse("exercises"),
      PlanOptions{.tests = {}, .build = BuildConfig::normal, .sanitizer_builds_first = true});
  ASSERT_EQ(own.size(), 2U);
  EXPECT_EQ(own[0].impl.kind, Impl::Kind::student);
  EXPECT_EQ(own[0].impl.target(), "exercises");
  EXPECT_EQ(own[0].plan.cells(), (std::vector<Cell>{{"A.One", BuildConfig::normal}}));

  EXPECT_THROW(make_requests(root.path(), manifests, Impl::parse("solutions")), GraderError)
      << "no solutions/ in this course";
  EXPECT_THROW(make_requests(root.path(), manifests, Impl::parse("mutant-x")), GraderError);
  EXPECT_THROW(make_requests(root.path(), manifests, Impl::parse("going-further-x")), GraderError);
  EXPECT_THROW(Impl::parse("/nonexistent/dir"), GraderError) << "--impl is parsed once, here";

  TempDir submission;
  const auto one =
      make_requests(root.path(), {manifests[1]}, Impl::parse(submission.path().string()));
  ASSERT_EQ(one.size(), 1U);
  EXPECT_EQ(one[0].impl.kind, Impl::Kind::submission);
  EXPECT_EQ(one[0].impl.target(), "submission");
  EXPECT_EQ(one[0].impl.submission, std::filesystem::canonical(submission.path()));
  EXPECT_EQ(one[0].impl.label(), std::filesystem::canonical(submission.path()).string());
  EXPECT_TRUE(one[0].single_exercise);
  EXPECT_EQ(one[0].plan.builds(), std::vector<BuildConfig>{BuildConfig::normal});
}

TEST(Requests, EachKindOfImplementationHasItsCMakeNameAndOnlyThose) {
  for (const std::string name :
       {"exercises", "solutions", "mutant-lost-wakeup", "going-further-lock-free"}) {
    const auto impl = Impl::named(name);
    ASSERT_TRUE(impl.has_value()) << name;
    EXPECT_EQ(impl->target(), name);
    EXPECT_EQ(impl->label(), name);
  }
  EXPECT_EQ(Impl::named("mutant-x")->kind, Impl::Kind::mutant);
  EXPECT_EQ(Impl::named("mutant-x")->name, "x");
  EXPECT_EQ(Impl::named("going-further-y")->kind, Impl::Kind::going_further);
  EXPECT_EQ(Impl::named("going-further-y")->name, "y");
  EXPECT_TRUE(Impl::named("solutions")->is_course_code());
  EXPECT_TRUE(Impl::named("going-further-y")->is_course_code());
  EXPECT_FALSE(Impl::named("mutant-x")->is_course_code());
  for (const std::string other : {"", "mutant-", "going-further-", "submission", "Solutions"}) {
    EXPECT_FALSE(Impl::named(other).has_value()) << "'" << other << "' names no implementation";
  }

  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  put(root.path(), "solutions/00-warmup/going-further/faster/variant.patch", "");
  const auto manifests = load_all_manifests(root.path());
  const auto requests = make_requests(root.path(), manifests, Impl::parse("going-further-faster"));
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].impl.target(), "going-further-faster");
}

TEST(Instructors, MutantsAreLoadedAndCheckedInOnePlace) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  put(root.path(), "solutions/00-warmup/mutants/good/mutant.patch", "");
  put(root.path(), "solutions/00-warmup/mutants/good/mutant.toml",
      "description = \"races\"\nmust_fail = [\"A.One\"]\n");
  put(root.path(), "solutions/00-warmup/mutants/typo/mutant.patch", "");
  put(root.path(), "solutions/00-warmup/mutants/typo/mutant.toml",
      "description = \"races\"\nmust_fail = [\"A.Onne\"]\n");
  put(root.path(), "solutions/00-warmup/mutants/bare/mutant.patch", "");
  const auto manifest = load_all_manifests(root.path()).front();
  const auto loaded = load_mutants(root.path(), manifest);
  EXPECT_EQ(loaded.mutants.size(), 2U) << "good and typo load; bare has no mutant.toml";
  ASSERT_EQ(loaded.problems.size(), 2U) << join(loaded.problems, "\n");
  EXPECT_TRUE(contains_text(join(loaded.problems, "\n"), "A.Onne"));
  EXPECT_TRUE(contains_text(join(loaded.problems, "\n"), "bare"));
}

TEST(Instructors, AGoingFurtherVariantNeedsItsChangeAndItsExplanation) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  put(root.path(), "solutions/00-warmup/going-further/complete/variant.patch", "");
  put(root.path(), "solutions/00-warmup/going-further/complete/README.md", "# Why\n");
  put(root.path(), "solutions/00-warmup/going-further/whole-files/src/a.cpp", "\n");
  put(root.path(), "solutions/00-warmup/going-further/whole-files/README.md", "# Why\n");
  put(root.path(), "solutions/00-warmup/going-further/unexplained/variant.patch", "");
  put(root.path(), "solutions/00-warmup/going-further/empty/README.md", "# Why\n");
  EXPECT_EQ(going_further_names(root.path(), "00-warmup"),
            (std::vector<std::string>{"complete", "empty", "unexplained", "whole-files"}));
  const auto problems = check_going_further(root.path(), "00-warmup");
  ASSERT_EQ(problems.size(), 2U) << join(problems, "\n");
  EXPECT_TRUE(contains_text(problems[0], "going-further/empty: has neither"));
  EXPECT_TRUE(contains_text(problems[1], "going-further/unexplained: has no README.md"));
  EXPECT_TRUE(going_further_names(root.path(), "01-none").empty());
}

// An exercise 00-w with the tests A.Plain and A.Raced (tagged `raced_tags`), then `more_tests`.
void make_raced_exercise(const std::filesystem::path& root, const std::string& raced_tags,
                         const std::string& more_tests = "") {
  put(root, "exercises/00-w/exercise.toml",
      "id = \"00-w\"\ntitle = \"W\"\nstudent_files = [\"src/a.cpp\"]\n"
      "[[tests]]\nname = \"A.Plain\"\n[[tests]]\nname = \"A.Raced\"\ntags = " +
          raced_tags + "\n" + more_tests);
  put(root, "exercises/00-w/src/a.cpp", "\n");
}

TEST(Requests, SanitizerBuildsAreMadeFirstOnlyForTaggedTests) {
  TempDir root;
  make_raced_exercise(root.path(), "[\"sanitizer:tsan\"]");
  const auto manifests = load_all_manifests(root.path());
  const auto first =
      make_requests(
          root.path(), manifests, Impl::parse("exercises"),
          PlanOptions{.tests = {}, .build = BuildConfig::normal, .sanitizer_builds_first = true})
          .front()
          .plan;
  EXPECT_EQ(first.builds(), (std::vector<BuildConfig>{BuildConfig::normal, BuildConfig::tsan}));
  EXPECT_EQ(first.cells(),
            (std::vector<Cell>{{"A.Plain", BuildConfig::normal}, {"A.Raced", BuildConfig::normal}}))
      << "the sanitizer builds are made first, but their cells come after the normal run";
  const auto later = make_requests(root.path(), manifests, Impl::parse("exercises")).front().plan;
  EXPECT_EQ(later.builds(), std::vector<BuildConfig>{BuildConfig::normal});
}

TEST(Requests, OnePlanHoldsTheNamedTestsInTheNamedBuild) {
  TempDir root;
  make_raced_exercise(root.path(), "[\"sanitizer:tsan\"]");
  const auto manifests = load_all_manifests(root.path());
  const auto named = make_requests(
      root.path(), manifests, Impl::parse("exercises"),
      PlanOptions{
          .tests = {"A.Raced"}, .build = BuildConfig::normal, .sanitizer_builds_first = false});
  EXPECT_EQ(named.front().plan.cells(), (std::vector<Cell>{{"A.Raced", BuildConfig::normal}}))
      << "--test: the plan has the named tests only, so the score is out of them";
  const auto stress = make_requests(
      root.path(), manifests, Impl::parse("exercises"),
      PlanOptions{.tests = {}, .build = BuildConfig::asan, .sanitizer_builds_first = false});
  EXPECT_EQ(stress.front().plan.cells(),
            (std::vector<Cell>{{"A.Plain", BuildConfig::asan}, {"A.Raced", BuildConfig::asan}}));
  EXPECT_EQ(stress.front().plan.builds(), std::vector<BuildConfig>{BuildConfig::asan});
}

TEST(RunPlan, CellsAreUniqueAndBuildsComeInTheTablesOrder) {
  TempDir root;
  make_raced_exercise(root.path(), "[\"sanitizer:asan\", \"sanitizer:tsan\"]",
                      "[[tests]]\nname = \"A.Third\"\n");
  const auto manifest = load_all_manifests(root.path()).front();

  auto plan = RunPlan::normal_build(manifest, {"A.Raced", "A.Plain", "Not.There"});
  EXPECT_EQ(plan.cells(), (std::vector<Cell>{{"A.Plain", BuildConfig::normal},
                                             {"A.Raced", BuildConfig::normal}}));
  plan.add_tagged_sanitizer_runs(manifest);
  plan.add_tagged_sanitizer_runs(manifest);  // twice: no cell twice
  EXPECT_EQ(plan.cells().size(), 4U);
  EXPECT_EQ(plan.builds_of("A.Raced"),
            (std::vector<BuildConfig>{BuildConfig::normal, BuildConfig::tsan, BuildConfig::asan}));
  EXPECT_EQ(plan.builds_of("A.Plain"), std::vector<BuildConfig>{BuildConfig::normal});
  EXPECT_EQ(plan.tests(manifest).size(), 2U) << "A.Third was not asked for";

  plan.add_every_test_in(BuildConfig::asan);  // selfcheck's reference: every test everywhere
  EXPECT_EQ(plan.builds_of("A.Plain"),
            (std::vector<BuildConfig>{BuildConfig::normal, BuildConfig::asan}));

  const auto tsan_only = RunPlan::only_in(manifest, BuildConfig::tsan);  // a going-further variant
  EXPECT_EQ(tsan_only.builds(), std::vector<BuildConfig>{BuildConfig::tsan});
  EXPECT_EQ(tsan_only.tests(manifest).size(), 3U);
}

TEST(Builds, OneTableGivesPresetsTimeFactorsAndTheOrder) {
  EXPECT_EQ(test_builds(),
            (std::vector<BuildConfig>{BuildConfig::normal, BuildConfig::tsan, BuildConfig::asan}));
  EXPECT_EQ(preset_name(BuildConfig::normal), "default");
  EXPECT_EQ(preset_name(BuildConfig::fuzz), "fuzz");
  EXPECT_EQ(config_time_factor(BuildConfig::tsan), course::kTsanTimeFactor);
  EXPECT_EQ(config_time_factor(BuildConfig::asan), course::kAsanTimeFactor);
  TestSpec raced;
  raced.tags = {"sanitizer:asan", "sanitizer:tsan"};
  EXPECT_EQ(sanitizer_builds_of(raced),
            (std::vector<BuildConfig>{BuildConfig::tsan, BuildConfig::asan}));
}

TEST(CheckPrepared, MissingTestsAreErrorsAndExtraTestsWarningsUnlessStrict) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One", "A.Two"});
  PreparedImpl prepared;
  prepared.request.manifest = load_all_manifests(root.path()).front();
  prepared.check = check_against_binary(prepared.request.manifest, {"A.One", "A.Two", "A.Three"});

  const auto warnings = check_prepared(root.path(), {prepared}, false);
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_TRUE(contains_text(warnings[0], "does not list: A.Three")) << warnings[0];
  EXPECT_THROW(check_prepared(root.path(), {prepared}, true), ManifestError);

  prepared.check = check_against_binary(prepared.request.manifest, {"A.One"});
  try {
    check_prepared(root.path(), {prepared}, false);
    FAIL() << "a declared test missing from the binary must stop grading";
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_TRUE(contains_text(e.what(), "exercises/00-warmup/exercise.toml: tests: 'A.Two'"))
        << e.what();
  }
}

// With nothing started, grade builds nothing (the course here has no CMake at all: a build would
// fail), lists each exercise as not started with its points, and says where to begin.
TEST(Grade, NothingStartedBuildsNothingAndSaysHowToStart) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One", "A.Two"}, 0);
  make_exercise(root.path(), "01-next", {"B.One"}, 1);
  write_file(root.path() / kSkeletonPrintsFile,
             render_skeleton_prints(root.path(), load_all_manifests(root.path())));
  GradeArgs args;
  args.formats = {"text", "json"};
  args.outputs = {"", (root.path() / "r.json").string()};
  int code = -1;
  const auto printed = captured([&] { code = cmd_grade(root.path(), args); });
  EXPECT_EQ(code, 0) << printed;
  EXPECT_TRUE(contains_text(printed, "Not started (2 tests, nothing built)")) << printed;
  EXPECT_TRUE(contains_text(printed, "Start with 00-warmup")) << printed;
  EXPECT_FALSE(std::filesystem::exists(root.path() / "build" / "default" / "build.ninja"));
  const auto json = nlohmann::json::parse(read_file(root.path() / "r.json"));
  EXPECT_EQ(json["max_score"], 3.0);
  EXPECT_EQ(json["exercises"][0]["not_started"], true);
  EXPECT_EQ(json["exercises"][0]["tests"][0]["outcome"], "not_run");

  args.impl = (root.path() / "no-such-submission").string();
  EXPECT_THROW(cmd_grade(root.path(), args), GraderError)
      << "a submission directory that does not exist is an error, not nine exercises not started";
}

TEST(Reports, WritesEachFormatToItsOutputAndAlwaysTheLastReport) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  GradeReport report;
  ExerciseResult exercise;
  exercise.manifest = load_all_manifests(root.path()).front();
  exercise.implementation = "exercises";
  TestResult test;
  test.spec = exercise.manifest.tests[0];
  test.runs.push_back(RunResult{BuildConfig::normal, {Attempt{Outcome::passed, 0.1, ""}}, "", {}});
  test.score = 1;
  exercise.tests.push_back(test);
  report.exercises.push_back(exercise);

  TempDir out;
  GradeArgs args;
  args.formats = {"json", "junit"};
  args.outputs = {(out.path() / "r.json").string(), (out.path() / "r.xml").string()};
  const auto printed = captured([&] { emit_reports(root.path(), report, args); });
  EXPECT_TRUE(nlohmann::json::parse(read_file(out.path() / "r.json")).is_object());
  EXPECT_TRUE(contains_text(read_file(out.path() / "r.xml"), "<testsuites"));
  EXPECT_TRUE(std::filesystem::exists(root.path() / "build/reports/last/report.json"));
  EXPECT_TRUE(std::filesystem::exists(root.path() / "build/reports/last/report.html"));
  EXPECT_TRUE(contains_text(printed, "00-warmup")) << "files only: a text summary is printed";
  EXPECT_TRUE(contains_text(printed, "build/reports/last/report.json")) << printed;
}

TEST(Reports, EveryFormatComesFromOneTableAndAnUnknownOneIsAnError) {
  const auto names = report_format_names();
  EXPECT_EQ(names, (std::vector<std::string>{"text", "json", "junit", "gradescope", "github",
                                             "html", "classroom"}));
  for (const auto& name : names) {
    const auto* format = find_report_format(name);
    ASSERT_NE(format, nullptr) << name;
    EXPECT_EQ(format->name, name);
    EXPECT_FALSE(format->render(GradeReport{}, {}).empty()) << name << " renders nothing";
  }
  EXPECT_EQ(find_report_format("xml"), nullptr);
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  GradeArgs args;
  args.formats = {"xml"};
  bool refused = false;
  captured([&] {  // the exception must not leave stdout captured
    try {
      emit_reports(root.path(), GradeReport{}, args);
    } catch (const GraderError&) {
      refused = true;
    }
  });
  EXPECT_TRUE(refused) << "an unknown format is an error, not the text report";
}

TEST(Root, FindsTheCourseAboveTheDirectoryOrTakesAValidRoot) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  EXPECT_EQ(find_root(root.path()), std::filesystem::canonical(root.path()));
  EXPECT_THROW(find_root(root.path() / "exercises"), GraderError);
}

TEST(Mutants, APatchOrASourceDirectoryMakesAMutant) {
  TempDir root;
  const std::string base = "solutions/00-warmup/mutants/";
  put(root.path(), base + "as-patch/mutant.patch", "--- a/src/main.cpp\n+++ b/src/main.cpp\n");
  put(root.path(), base + "as-patch/mutant.toml", "description = \"x\"\n");
  put(root.path(), base + "as-files/src/main.cpp", "// wrong\n");
  put(root.path(), base + "as-files/mutant.toml", "description = \"y\"\n");
  put(root.path(), base + "notes/README.md", "not a mutant: no patch, no src/\n");
  const auto dirs = mutant_dirs(root.path(), "00-warmup");
  ASSERT_EQ(dirs.size(), 2U);
  EXPECT_EQ(dirs[0].filename(), "as-files");
  EXPECT_EQ(dirs[1].filename(), "as-patch");
}

}  // namespace
}  // namespace grader
