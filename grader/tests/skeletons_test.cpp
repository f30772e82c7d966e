// Which exercises a student started: grader/skeletons.sha256 against the student's files, in the
// course tree and in a submission directory.
#include "course/skeletons.hpp"

#include <gtest/gtest.h>

#include "course/manifest.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::make_exercise;
using testing_support::put;

struct TwoExercises {
  TempDir root;
  std::vector<ExerciseManifest> manifests;

  TwoExercises() {
    make_exercise(root.path(), "00-first", {"A.B"}, 0);
    make_exercise(root.path(), "01-second", {"C.D"}, 1);
    manifests = load_all_manifests(root.path());
    write_file(root.path() / kSkeletonPrintsFile, render_skeleton_prints(root.path(), manifests));
  }
};

TEST(Skeletons, Sha256IsTheStandardOne) {
  TempDir dir;
  put(dir.path(), "abc", "abc");
  EXPECT_EQ(sha256_of_file(dir.path() / "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_of_file(dir.path() / "missing"), std::nullopt);
}

TEST(Skeletons, TheFileIsInSha256sumsFormat) {
  TwoExercises course;
  const auto text = read_file(course.root.path() / kSkeletonPrintsFile);
  EXPECT_NE(text.find("  exercises/00-first/src/main.cpp\n"), std::string::npos) << text;
  EXPECT_EQ(load_skeleton_prints(course.root.path()).size(), 2U);
  EXPECT_TRUE(check_skeleton_prints(course.root.path(), course.manifests).empty());
}

TEST(Skeletons, AnEditedFileStartsItsExerciseAndNothingElse) {
  TwoExercises course;
  const auto prints = load_skeleton_prints(course.root.path());
  EXPECT_FALSE(is_started(course.manifests[0], prints, std::nullopt, false));
  put(course.root.path(), "exercises/00-first/src/main.cpp", "int main() { return 0; }\n");
  EXPECT_TRUE(is_started(course.manifests[0], prints, std::nullopt, false));
  EXPECT_FALSE(is_started(course.manifests[1], prints, std::nullopt, false));
}

TEST(Skeletons, ASubmissionStartsWhatItChanges) {
  TwoExercises course;
  const auto prints = load_skeleton_prints(course.root.path());
  TempDir sub;
  EXPECT_FALSE(is_started(course.manifests[0], prints, sub.path(), false))
      << "a file the submission lacks is the skeleton's";
  put(sub.path(), "exercises/00-first/src/main.cpp", "// skeleton of 00-first\n");
  EXPECT_FALSE(is_started(course.manifests[0], prints, sub.path(), false))
      << "a copy of the skeleton is not a start";
  put(sub.path(), "01-second/src/main.cpp", "changed\n");
  EXPECT_TRUE(is_started(course.manifests[1], prints, sub.path(), false));
  // A symbolic link is for the staging to refuse with its reason: it counts as started.
  TempDir other;
  put(other.path(), "main.cpp", "// skeleton of 00-first\n");
  std::filesystem::remove(sub.path() / "exercises/00-first/src/main.cpp");
  std::filesystem::create_symlink(other.path() / "main.cpp",
                                  sub.path() / "exercises/00-first/src/main.cpp");
  EXPECT_TRUE(is_started(course.manifests[0], prints, sub.path(), false));
}

TEST(Skeletons, AStaleFileIsReportedWithItsRemedy) {
  TwoExercises course;
  put(course.root.path(), "exercises/01-second/src/main.cpp", "a new skeleton\n");
  const auto problems = check_skeleton_prints(course.root.path(), course.manifests);
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_NE(problems[0].find("exercises/01-second/src/main.cpp is not the skeleton it records"),
            std::string::npos)
      << problems[0];
  EXPECT_NE(problems[0].find("grader/grader skeletons --write"), std::string::npos);
  std::filesystem::remove(course.root.path() / kSkeletonPrintsFile);
  EXPECT_FALSE(check_skeleton_prints(course.root.path(), course.manifests).empty());
  EXPECT_TRUE(is_started(course.manifests[0], load_skeleton_prints(course.root.path()),
                         std::nullopt, false))
      << "without the file, every exercise is graded";
}

}  // namespace
}  // namespace grader
