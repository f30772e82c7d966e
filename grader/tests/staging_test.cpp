// Staging a submission: only the manifest's student files are used, unchanged
// files keep their mtime, and edits to anything else change nothing.
#include "building/staging.hpp"

#include <gtest/gtest.h>

#include "course/manifest.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::put;

// A course with one exercise (two student files and a course-owned helper in
// src/) and a build directory whose staging area holds the skeleton, as
// CMake leaves it after configuring.
struct Course {
  TempDir root;
  std::filesystem::path build = root.path() / "build" / "default";
  ExerciseManifest manifest;

  Course() {
    put(root.path(), "exercises/04-pool/exercise.toml",
        "id = \"04-pool\"\ntitle = \"Pool\"\nstudent_files = [\"src/pool.cpp\", "
        "\"src/extra.cpp\"]\n"
        "[[tests]]\nname = \"Pool.Works\"\n");
    put(root.path(), "exercises/04-pool/src/pool.cpp", "skeleton pool\n");
    put(root.path(), "exercises/04-pool/src/extra.cpp", "skeleton extra\n");
    put(root.path(), "exercises/04-pool/src/course_helper.hpp", "course helper v2\n");
    put(root.path(), "exercises/04-pool/tests/pool_test.cpp", "course test\n");
    manifest = load_manifest(root.path() / "exercises" / "04-pool", root.path());
    put(build, "submission/04-pool/src/pool.cpp", "skeleton pool\n");
    put(build, "submission/04-pool/src/extra.cpp", "skeleton extra\n");
    put(build, "submission/04-pool/src/course_helper.hpp", "course helper v1\n");
    put(build, "submission/04-pool/src/stale.cpp", "left by an old course version\n");
  }

  // Where the build contract says a submission of 04-pool is staged.
  [[nodiscard]] std::filesystem::path staging() const { return build / "submission" / "04-pool"; }
  [[nodiscard]] std::filesystem::path staged(const std::string& file) const {
    return staging() / file;
  }
};

TEST(Staging, FindsFilesInTheThreeAcceptedLayouts) {
  Course course;
  TempDir sub;
  put(sub.path(), "pool.cpp", "top level\n");
  EXPECT_EQ(find_submission_file(sub.path(), course.manifest, "src/pool.cpp", true), std::nullopt)
      << "the top level is searched for the file's path, src/pool.cpp";
  put(sub.path(), "src/pool.cpp", "top level\n");
  EXPECT_EQ(find_submission_file(sub.path(), course.manifest, "src/pool.cpp", true),
            sub.path() / "src/pool.cpp");
  EXPECT_EQ(find_submission_file(sub.path(), course.manifest, "src/pool.cpp", false), std::nullopt)
      << "files at the top only count when grading a single exercise";

  put(sub.path(), "04-pool/src/pool.cpp", "per exercise\n");
  EXPECT_EQ(find_submission_file(sub.path(), course.manifest, "src/pool.cpp", false),
            sub.path() / "04-pool/src/pool.cpp");

  put(sub.path(), "exercises/04-pool/src/pool.cpp", "repository layout\n");
  EXPECT_EQ(find_submission_file(sub.path(), course.manifest, "src/pool.cpp", true),
            sub.path() / "exercises/04-pool/src/pool.cpp");
}

TEST(Staging, CopiesOnlyTheStudentFilesAndIgnoresEditsToTests) {
  Course course;
  TempDir sub;
  put(sub.path(), "exercises/04-pool/src/pool.cpp", "student pool\n");
  put(sub.path(), "exercises/04-pool/src/extra.cpp", "student extra\n");
  put(sub.path(), "exercises/04-pool/src/course_helper.hpp", "student's helper\n");
  put(sub.path(), "exercises/04-pool/tests/pool_test.cpp",
      "TEST(Pool, Works) {}  // always passes\n");
  put(sub.path(), "exercises/04-pool/src/sneaky.cpp", "extra source\n");

  const auto result = stage_submission(sub.path(), course.manifest, course.staging(), false, false);
  EXPECT_TRUE(result.warnings.empty());
  ASSERT_EQ(result.files.size(), 2U);
  EXPECT_EQ(read_file(course.staged("src/pool.cpp")), "student pool\n");
  EXPECT_EQ(read_file(course.staged("src/extra.cpp")), "student extra\n");
  EXPECT_EQ(read_file(course.staged("src/course_helper.hpp")), "course helper v2\n")
      << "course files follow the course, not the submission";
  EXPECT_FALSE(std::filesystem::exists(course.staged("src/sneaky.cpp")));
  EXPECT_FALSE(std::filesystem::exists(course.staged("src/stale.cpp")));
  EXPECT_FALSE(std::filesystem::exists(course.staged("tests/pool_test.cpp")));
  EXPECT_EQ(read_file(course.root.path() / "exercises/04-pool/tests/pool_test.cpp"),
            "course test\n");
}

TEST(Staging, LeavesFilesWithEqualBytesUntouched) {
  Course course;
  TempDir sub;
  put(sub.path(), "src/pool.cpp", "skeleton pool\n");  // same bytes as the staged copy
  put(sub.path(), "src/extra.cpp", "changed extra\n");
  const auto old_time = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  std::filesystem::last_write_time(course.staged("src/pool.cpp"), old_time);
  std::filesystem::last_write_time(course.staged("src/extra.cpp"), old_time);

  const auto result = stage_submission(sub.path(), course.manifest, course.staging(), false, true);
  ASSERT_EQ(result.files.size(), 2U);
  EXPECT_FALSE(result.files[0].copied);
  EXPECT_TRUE(result.files[1].copied);
  EXPECT_EQ(std::filesystem::last_write_time(course.staged("src/pool.cpp")), old_time)
      << "an unchanged file keeps its mtime, so nothing recompiles";
  EXPECT_NE(std::filesystem::last_write_time(course.staged("src/extra.cpp")), old_time);
}

TEST(Staging, AMissingFileFallsBackToTheSkeletonWithAWarning) {
  Course course;
  put(course.build, "submission/04-pool/src/extra.cpp", "an earlier submission\n");
  TempDir sub;
  put(sub.path(), "src/pool.cpp", "student pool\n");
  const auto result = stage_submission(sub.path(), course.manifest, course.staging(), false, true);
  ASSERT_EQ(result.warnings.size(), 1U);
  EXPECT_NE(result.warnings[0].find("no src/extra.cpp for 04-pool; using the skeleton's"),
            std::string::npos);
  EXPECT_TRUE(result.files[1].from_skeleton);
  EXPECT_EQ(read_file(course.staged("src/extra.cpp")), "skeleton extra\n");
}

}  // namespace
}  // namespace grader
