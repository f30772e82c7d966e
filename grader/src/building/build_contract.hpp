// The grader's side of its contract with CMake. When CMake configures a build it writes
// <build>/course-targets.json (common/cmake/CourseExercise.cmake, course_write_contract): for every
// implementation of every exercise, the target that builds its tests, the binary that makes, the
// library of its compiled files, whether the exercise is header-only, where a submission is
// staged, and the targets whose failed steps are its own; in the fuzz build, the reference's fuzz
// targets. The grader builds and runs what that file names, so a target or a path CMake renames
// or adds changes one file, not two.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grader {

struct ImplTargets {
  std::string tests_target;
  std::filesystem::path tests_binary;
  std::filesystem::path archive;  // the static library of its objects; empty when header-only
  // The linker's map of the tests binary (-Map): every file the link loaded, for the link check's
  // comparison of the student's symbols with everyone else's.
  std::filesystem::path link_map;
  std::vector<std::string> owners;  // targets whose failed build steps belong to it
  // The exercise's student file is a header compiled into the tests' objects (no archive).
  bool header_only = false;
  // Where the grader copies a submission's files before building (the submission only).
  std::filesystem::path staging_dir;
};

// A libFuzzer target of an exercise, built against the reference in the fuzz build.
struct FuzzTarget {
  std::string exercise_id;
  std::string name;              // the source's stem: fuzz/request_fuzzer.cpp -> request_fuzzer
  std::string target;            // the CMake target
  std::filesystem::path binary;  // what it builds
};

class BuildContract {
 public:
  // Reads <build_dir>/course-targets.json. Throws GraderError when it is missing or malformed.
  static BuildContract load(const std::filesystem::path& build_dir);
  static BuildContract parse(std::string_view json, const std::filesystem::path& build_dir);

  // Throws GraderError when CMake defined no such implementation.
  [[nodiscard]] const ImplTargets& of(const std::string& exercise, const std::string& impl) const;
  [[nodiscard]] bool has(const std::string& exercise, const std::string& impl) const {
    return impls_.contains({exercise, impl});
  }
  // What marks a line of the Ninja log as a step of one of the implementation's targets:
  // "<owner>.dir/" for compiling, the binary's path in the build directory for linking.
  [[nodiscard]] std::vector<std::string> step_markers(const ImplTargets& targets) const;
  // The fuzz targets (the fuzz build's contract; empty in the others), by exercise and name.
  [[nodiscard]] const std::vector<FuzzTarget>& fuzz_targets() const { return fuzz_targets_; }

 private:
  std::filesystem::path build_dir_;
  std::map<std::pair<std::string, std::string>, ImplTargets> impls_;
  std::vector<FuzzTarget> fuzz_targets_;
};

}  // namespace grader
