// `list`'s record of each exercise's last grade, and the state it derives from it and from the
// student's files now.
#include "commands/standing.hpp"

#include <gtest/gtest.h>

#include "course/manifest.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::make_exercise;
using testing_support::put;

struct Course {
  TempDir root;
  std::vector<ExerciseManifest> manifests;
  SkeletonPrints prints;

  Course() {
    make_exercise(root.path(), "00-first", {"A.B", "A.C"}, 0);
    manifests = load_all_manifests(root.path());
    write_file(root.path() / kSkeletonPrintsFile, render_skeleton_prints(root.path(), manifests));
    prints = load_skeleton_prints(root.path());
  }

  // A grade of the course's own exercise in which `passed` of its tests passed.
  [[nodiscard]] GradeReport graded(int passed) const {
    ExerciseResult result;
    result.manifest = manifests[0];
    result.implementation = "exercises";
    for (const auto& spec : manifests[0].tests) {
      TestResult test;
      test.spec = spec;
      RunResult run;
      const bool pass = static_cast<int>(result.tests.size()) < passed;
      run.attempts.push_back({pass ? Outcome::passed : Outcome::failed, 0.1, ""});
      test.runs.push_back(run);
      test.score = pass ? spec.points : 0;
      result.tests.push_back(test);
    }
    GradeReport report;
    report.exercises.push_back(result);
    return report;
  }
  void edit() const { put(root.path(), "exercises/00-first/src/main.cpp", "// mine\n"); }
  [[nodiscard]] ExerciseState state() const {
    const auto standings = load_standings(root.path());
    const auto found = standings.find("00-first");
    return state_of(
        manifests[0], prints,
        found == standings.end() ? std::nullopt : std::optional<Standing>(found->second));
  }
};

TEST(Standing, AnExerciseGoesFromNotStartedToDone) {
  Course course;
  EXPECT_EQ(course.state(), ExerciseState::not_started);
  course.edit();
  EXPECT_EQ(course.state(), ExerciseState::not_graded);

  record_standings(course.root.path(), course.graded(1), true);
  const auto standing = load_standings(course.root.path()).at("00-first");
  EXPECT_EQ(standing.passed, 1);
  EXPECT_EQ(standing.tests, 2);
  EXPECT_DOUBLE_EQ(standing.score, course.manifests[0].tests[0].points);
  EXPECT_EQ(course.state(), ExerciseState::graded);

  put(course.root.path(), "exercises/00-first/src/main.cpp", "// mine, better\n");
  EXPECT_EQ(course.state(), ExerciseState::edited) << "a file changed since the grade";

  record_standings(course.root.path(), course.graded(2), false);
  EXPECT_EQ(course.state(), ExerciseState::graded)
      << "full marks without the sanitizer runs (watch mode) are not done yet";
  record_standings(course.root.path(), course.graded(2), true);
  EXPECT_EQ(course.state(), ExerciseState::done);
}

TEST(Standing, OnlyTheStudentsOwnStartedExercisesAreRecorded) {
  Course course;
  auto report = course.graded(2);
  report.exercises[0].implementation = "solutions";
  record_standings(course.root.path(), report, true);
  report.exercises[0].implementation = "exercises";
  report.exercises[0].not_started = true;
  record_standings(course.root.path(), report, true);
  EXPECT_TRUE(load_standings(course.root.path()).empty());
}

TEST(Standing, AnUnreadableRecordCountsAsNotGraded) {
  Course course;
  course.edit();
  put(course.root.path(), "build/reports/standing.json", "{\"00-first\": {\"score\": \"x\"}");
  EXPECT_TRUE(load_standings(course.root.path()).empty());
  EXPECT_EQ(course.state(), ExerciseState::not_graded);
}

}  // namespace
}  // namespace grader
