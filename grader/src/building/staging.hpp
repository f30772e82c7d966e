// Staging a submission: the student files a manifest declares are copied from
// the submission directory into <build>/submission/<id>/, where the
// `<id>_tests_submission` target compiles them against the course's own tests,
// headers and CMake. Nothing else from the submission is ever read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "course/model.hpp"

namespace grader {

struct StagedFile {
  std::string file;              // as in the manifest, "src/counter.cpp"
  std::filesystem::path source;  // where it was taken from
  std::filesystem::path staged;  // <build>/submission/<id>/<file>
  bool from_skeleton = false;    // the submission lacked it
  bool copied = false;           // bytes differed, so the staged copy was replaced
};

struct StagingResult {
  std::vector<StagedFile> files;
  std::vector<std::string> warnings;
  // Files the course refuses (a symlink, an include that leaves the exercise: see
  // submission_check.hpp); they are not copied, and the exercise does not build.
  std::vector<std::string> errors;
};

// Where the submission's copy of one student file is: DIR/exercises/<id>/<file>,
// else DIR/<id>/<file>, else (only when grading a single exercise) DIR/<file>.
std::optional<std::filesystem::path> find_submission_file(const std::filesystem::path& submission,
                                                          const ExerciseManifest& manifest,
                                                          const std::string& file,
                                                          bool single_exercise);

// Copies each student file into `staging_dir` (the build contract's, build/<preset>/submission/
// <id>/) when its bytes differ from the staged copy (an unchanged file keeps its mtime, so the
// rebuild stays incremental), after the source checks (`header_only`: the build contract's).
// Other files in the staging directory are kept equal to the course's skeleton, or removed when
// the course has none.
StagingResult stage_submission(const std::filesystem::path& submission,
                               const ExerciseManifest& manifest,
                               const std::filesystem::path& staging_dir, bool header_only,
                               bool single_exercise);

// Makes `target` hold the bytes of `source`; returns true when it had to copy.
bool sync_file(const std::filesystem::path& source, const std::filesystem::path& target);

}  // namespace grader
