// Manifest and mutant loading, every validation error, and how students name
// exercises.
#include "course/manifest.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::data_dir;
using testing_support::make_exercise;

std::filesystem::path fixture(const std::string& name) {
  return data_dir() / "manifests" / name / "07-sample";
}

// The problems reported for one fixture (empty when it loads).
std::vector<std::string> problems_of(const std::string& name) {
  try {
    load_manifest(fixture(name), data_dir());
  } catch (const ManifestError& e) {
    return e.problems();
  }
  return {};
}

bool has_problem(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

std::string all(const std::vector<std::string>& problems) { return join(problems, "\n"); }

TEST(Manifest, LoadsEveryFieldAndAppliesDefaults) {
  const auto m = load_manifest(fixture("valid"), data_dir());
  EXPECT_EQ(m.id, "07-sample");
  EXPECT_EQ(m.title, "A sample exercise");
  EXPECT_EQ(m.order, 7);
  EXPECT_EQ(m.student_files, std::vector<std::string>{"src/sample.cpp"});
  EXPECT_EQ(m.hints, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(m.dir, fixture("valid"));
  ASSERT_EQ(m.tests.size(), 2U);

  const auto& defaulted = m.tests[0];
  EXPECT_EQ(defaulted.name, "Sample.UsesDefaults");
  EXPECT_DOUBLE_EQ(defaulted.points, 1.0);
  EXPECT_EQ(defaulted.category, Category::correctness);
  EXPECT_DOUBLE_EQ(defaulted.timeout_s, 15.0);
  EXPECT_EQ(defaulted.tags, std::vector<std::string>{"sanitizer:tsan"});

  const auto& explicit_test = m.tests[1];
  EXPECT_DOUBLE_EQ(explicit_test.points, 2.5);
  EXPECT_EQ(explicit_test.category, Category::timing);
  EXPECT_DOUBLE_EQ(explicit_test.timeout_s, 3.0);
  EXPECT_EQ(explicit_test.tags, (std::vector<std::string>{"timing", "exclusive"}));
  EXPECT_EQ(explicit_test.description, "a one-liner");
}

TEST(Manifest, ReportsUnknownKeysWithFileLineAndKey) {
  const auto problems = problems_of("unknown_key");
  EXPECT_TRUE(
      has_problem(problems, "manifests/unknown_key/07-sample/exercise.toml:4: colour: unknown key"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "exercise.toml:8: tests[0].tiemout: unknown key"))
      << all(problems);
}

TEST(Manifest, ReportsWrongTypes) {
  const auto problems = problems_of("wrong_types");
  EXPECT_TRUE(has_problem(problems, "title: expected a string, got an integer")) << all(problems);
  EXPECT_TRUE(has_problem(problems, "order: expected an integer, got a string")) << all(problems);
  EXPECT_TRUE(has_problem(problems, "student_files: expected an array of strings, got a string"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "hints[1]: expected a string, got an integer"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "tests[0].points: expected a number, got a string"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "tests[0].timeout: must be more than 0 seconds"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "tests[0].tags: expected an array of strings"))
      << all(problems);
}

TEST(Manifest, ReportsAnIdThatDoesNotMatchTheDirectory) {
  const auto problems = problems_of("id_mismatch");
  EXPECT_TRUE(has_problem(problems, "id: '08-other' does not match the directory name '07-sample'"))
      << all(problems);
}

TEST(Manifest, ReportsStudentFilesThatDoNotExistOrEscape) {
  const auto problems = problems_of("missing_student_file");
  EXPECT_TRUE(has_problem(problems, "'src/absent.cpp' does not exist in 07-sample/"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "'../escape.cpp' must be a path inside the exercise directory"))
      << all(problems);
  EXPECT_FALSE(has_problem(problems, "src/sample.cpp")) << all(problems);
}

TEST(Manifest, StarterFilesAreStudentFilesTheCourseGivesComplete) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One"});
  const auto manifest_file = root.path() / "exercises" / "00-warmup" / "exercise.toml";
  const auto original = read_file(manifest_file);
  const auto student_files =
      load_manifest(root.path() / "exercises" / "00-warmup", root.path()).student_files;
  ASSERT_FALSE(student_files.empty());
  write_file(manifest_file, "starter_files = [\"" + student_files.front() + "\"]\n" + original);
  const auto manifest = load_manifest(root.path() / "exercises" / "00-warmup", root.path());
  EXPECT_EQ(manifest.starter_files, std::vector<std::string>{student_files.front()});
  write_file(manifest_file, "starter_files = [\"src/elsewhere.hpp\"]\n" + original);
  try {
    load_manifest(root.path() / "exercises" / "00-warmup", root.path());
    ADD_FAILURE() << "a starter file that is not a student file must be refused";
  } catch (const ManifestError& e) {
    EXPECT_TRUE(has_problem(e.problems(), "'src/elsewhere.hpp' is not one of the student_files"))
        << all(e.problems());
  }
}

TEST(Manifest, ReportsDuplicateTestNames) {
  const auto problems = problems_of("duplicate_test");
  ASSERT_EQ(problems.size(), 1U) << all(problems);
  EXPECT_TRUE(has_problem(problems, "tests[2].name: duplicate test name 'Sample.One'"));
}

TEST(Manifest, ReportsBadNamesCategoriesAndSanitizerTags) {
  const auto problems = problems_of("bad_values");
  EXPECT_TRUE(has_problem(problems, "'NoDotHere' is not a GoogleTest name")) << all(problems);
  EXPECT_TRUE(has_problem(problems, "unknown category 'speed'")) << all(problems);
  EXPECT_TRUE(has_problem(problems, "unknown sanitizer tag 'sanitizer:msan'")) << all(problems);
  EXPECT_TRUE(has_problem(problems,
                          "tests[1].points: a test tagged oracle checks the course's "
                          "client against a real peer, so it is worth 0 points"))
      << all(problems);
}

TEST(Manifest, ReportsMissingRequiredKeys) {
  const auto problems = problems_of("missing_required");
  EXPECT_TRUE(has_problem(problems, "title: missing")) << all(problems);
  EXPECT_TRUE(has_problem(problems, "tests: missing")) << all(problems);
}

TEST(Manifest, ReportsTomlSyntaxErrorsWithTheLine) {
  const auto problems = problems_of("not_toml");
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_TRUE(has_problem(problems, "exercise.toml:2: not valid TOML")) << all(problems);
}

TEST(Manifest, ReportsAMissingManifestFile) {
  TempDir root;
  std::filesystem::create_directories(root.path() / "exercises" / "03-empty");
  try {
    load_manifest(root.path() / "exercises" / "03-empty", root.path());
    FAIL() << "a missing exercise.toml must be an error";
  } catch (const ManifestError& e) {
    EXPECT_TRUE(has_problem(e.problems(), "exercises/03-empty/exercise.toml: file not found"));
  }
}

TEST(Mutant, LoadsDescriptionAndMustFail) {
  const auto mutant = load_mutant(data_dir() / "manifests" / "mutants" / "valid", data_dir());
  EXPECT_EQ(mutant.name, "valid");
  EXPECT_EQ(mutant.description, "Drops the mutex: increments race");
  EXPECT_EQ(mutant.must_fail, (std::vector<std::string>{"Sample.UsesDefaults", "Sample.Missing"}));
  EXPECT_TRUE(mutant.sanitizer_runs) << "sanitizer builds by default";
  const auto logic = load_mutant(data_dir() / "manifests" / "mutants" / "logic_only", data_dir());
  EXPECT_FALSE(logic.sanitizer_runs);
}

TEST(Mutant, ReportsUnknownKeysAndAnEmptyMustFail) {
  try {
    load_mutant(data_dir() / "manifests" / "mutants" / "unknown_key", data_dir());
    FAIL() << "an unknown key must be an error";
  } catch (const ManifestError& e) {
    EXPECT_TRUE(has_problem(e.problems(), "mutant.toml:3: severity: unknown key")) << e.what();
  }
  try {
    load_mutant(data_dir() / "manifests" / "mutants" / "empty", data_dir());
    FAIL() << "an empty must_fail must be an error";
  } catch (const ManifestError& e) {
    EXPECT_TRUE(has_problem(e.problems(), "must_fail: name at least one test")) << e.what();
  }
}

TEST(Mutant, NamingATestTheManifestLacksIsAnError) {
  const auto manifest = load_manifest(fixture("valid"), data_dir());
  const auto mutant = load_mutant(data_dir() / "manifests" / "mutants" / "valid", data_dir());
  const auto problems = check_mutants(manifest, {mutant}, data_dir());
  ASSERT_EQ(problems.size(), 1U) << all(problems);
  EXPECT_TRUE(has_problem(problems, "must_fail: 'Sample.Missing' is not a test of 07-sample"));
}

TEST(BinaryCheck, FindsTestsMissingOnEitherSide) {
  const auto manifest = load_manifest(fixture("valid"), data_dir());
  const auto check = check_against_binary(
      manifest, {"Sample.UsesDefaults", "Sample.NotGraded", "Other.AlsoNotGraded"});
  EXPECT_EQ(check.missing_in_binary, std::vector<std::string>{"Sample.OverridesEverything"});
  EXPECT_EQ(check.missing_in_manifest,
            (std::vector<std::string>{"Sample.NotGraded", "Other.AlsoNotGraded"}));
}

TEST(ExerciseSelection, AcceptsTheIdTheNumberAndTheName) {
  for (const char* query : {"00-warmup", "00", "0", "warmup"}) {
    EXPECT_TRUE(exercise_matches("00-warmup", query)) << query;
  }
  EXPECT_TRUE(exercise_matches("12-thread-pool", "12"));
  EXPECT_TRUE(exercise_matches("12-thread-pool", "thread-pool"));
  for (const char* query : {"1", "warm", "00-warm", "01", "", "warmup-00", "0x0"}) {
    EXPECT_FALSE(exercise_matches("00-warmup", query)) << query;
  }
}

TEST(ExerciseSelection, LoadsEveryExerciseInOrderAndSelectsByQuery) {
  TempDir root;
  make_exercise(root.path(), "01-second", {"B.One"}, 1);
  make_exercise(root.path(), "00-warmup", {"A.One"}, 0);
  std::filesystem::create_directories(root.path() / "exercises" / "not-an-exercise");
  const auto all_manifests = load_all_manifests(root.path());
  ASSERT_EQ(all_manifests.size(), 2U);
  EXPECT_EQ(all_manifests[0].id, "00-warmup");
  EXPECT_EQ(all_manifests[1].id, "01-second");

  EXPECT_EQ(select_exercises(all_manifests, {}).size(), 2U);
  const auto picked = select_exercises(all_manifests, {"second", "0", "00-warmup"});
  ASSERT_EQ(picked.size(), 2U) << "the same exercise named twice is graded once";
  EXPECT_EQ(picked[0].id, "01-second");
  EXPECT_EQ(picked[1].id, "00-warmup");
}

TEST(ExerciseSelection, UnknownOrAmbiguousNamesAreErrorsWithExitCode2) {
  TempDir root;
  make_exercise(root.path(), "03-queue", {"Q.One"});
  make_exercise(root.path(), "03-stack", {"S.One"});
  const auto all_manifests = load_all_manifests(root.path());
  try {
    select_exercises(all_manifests, {"heap"});
    FAIL() << "an unknown exercise must be an error";
  } catch (const GraderError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("unknown exercise 'heap'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("03-queue"), std::string::npos) << "lists the exercises";
  }
  EXPECT_THROW(select_exercises(all_manifests, {"03"}), GraderError);
  EXPECT_EQ(select_exercises(all_manifests, {"stack"}).front().id, "03-stack");
}

TEST(ExerciseSelection, TestNamesKeepTheExercisesThatHaveThemAndATypoIsAnError) {
  TempDir root;
  make_exercise(root.path(), "00-warmup", {"A.One", "A.Two"}, 0);
  make_exercise(root.path(), "01-second", {"B.One"}, 1);
  const auto all_manifests = load_all_manifests(root.path());
  EXPECT_EQ(select_tests(all_manifests, {}).size(), 2U) << "no --test: every exercise";
  const auto picked = select_tests(all_manifests, {"B.One"});
  ASSERT_EQ(picked.size(), 1U);
  EXPECT_EQ(picked[0].id, "01-second");
  EXPECT_EQ(select_tests(all_manifests, {"A.Two", "B.One"}).size(), 2U);
  try {
    select_tests(all_manifests, {"A.One", "A.Tow"});
    FAIL() << "a test that no exercise has must be an error, not an empty grade";
  } catch (const GraderError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("no test named A.Tow"), std::string::npos) << e.what();
  }
}

TEST(ExerciseSelection, OneInvalidManifestStopsLoadingWithItsProblems) {
  TempDir root;
  make_exercise(root.path(), "00-good", {"A.One"});
  make_exercise(root.path(), "01-bad", {"B.One", "B.One"});
  try {
    load_all_manifests(root.path());
    FAIL() << "an invalid manifest must stop grading";
  } catch (const ManifestError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_TRUE(has_problem(e.problems(), "exercises/01-bad/exercise.toml")) << e.what();
  }
}

}  // namespace
}  // namespace grader
