// Exercise manifests (exercises/NN-name/exercise.toml) and mutant
// descriptions (solutions/NN-name/mutants/<m>/mutant.toml): loading,
// validation, and finding exercises by what a student types.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "course/model.hpp"
#include "course/util.hpp"

namespace grader {

// Every problem found in one file, each "file:line: key: problem". Grading
// stops with exit code 2.
class ManifestError : public GraderError {
 public:
  explicit ManifestError(std::vector<std::string> problems)
      : GraderError(join(problems, "\n")), problems_(std::move(problems)) {}
  [[nodiscard]] const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Tags with a meaning for the grader (others are allowed and only reported).
inline constexpr std::string_view kTagTiming = "timing";
inline constexpr std::string_view kTagExclusive = "exclusive";
// A test of the course's own test client against a real peer (ngircd, say), not of the student's
// code alone: worth 0 points, it may pass on the skeleton, and a reference run where it skipped
// (the peer is not installed) is a warning in selfcheck, not a failure.
inline constexpr std::string_view kTagOracle = "oracle";

// Loads and validates exercises/<id>/exercise.toml. `root` only shortens the
// file names in messages.
ExerciseManifest load_manifest(const std::filesystem::path& exercise_dir,
                               const std::filesystem::path& root);

// Loads and validates one mutant's mutant.toml (its name is the directory's).
MutantSpec load_mutant(const std::filesystem::path& mutant_dir, const std::filesystem::path& root);

// exercises/NN-* directories that hold an exercise.toml, in order.
std::vector<std::filesystem::path> exercise_dirs(const std::filesystem::path& root);

// Every manifest under root, sorted by `order` then id. Throws ManifestError
// with the problems of every invalid manifest.
std::vector<ExerciseManifest> load_all_manifests(const std::filesystem::path& root);

// solutions/<id>/mutants/<m>/ directories (with a src/ directory), in order.
// A mutant is a directory under solutions/<id>/mutants/ with a mutant.patch
// (applied to the reference when CMake configures) or a src/ of whole files.
bool is_mutant_dir(const std::filesystem::path& dir);

std::vector<std::filesystem::path> mutant_dirs(const std::filesystem::path& root,
                                               std::string_view exercise_id);

// solutions/<id>/going-further/<g>/: tuning beyond the statement, kept apart from the reference
// and expected to score full marks as it does. Like a mutant, a variant.patch or a src/ of whole
// files; and a README.md, the paragraph that says what it changes and why. Names, in order.
std::vector<std::string> going_further_names(const std::filesystem::path& root,
                                             std::string_view exercise_id);
// What is missing from each of them (no patch or src/, no README.md).
std::vector<std::string> check_going_further(const std::filesystem::path& root,
                                             std::string_view exercise_id);

// Every mutant of an exercise, loaded and checked against its manifest (`selfcheck`, and `grade
// --impl mutant-<m>`): the mutants that loaded, and the problems of the others.
struct LoadedMutants {
  std::vector<MutantSpec> mutants;
  std::vector<std::string> problems;
};
LoadedMutants load_mutants(const std::filesystem::path& root, const ExerciseManifest& manifest);

// Problems with mutants naming tests the manifest does not declare.
std::vector<std::string> check_mutants(const ExerciseManifest& manifest,
                                       const std::vector<MutantSpec>& mutants,
                                       const std::filesystem::path& root);

// How a manifest and the tests in its binary disagree.
struct BinaryCheck {
  std::vector<std::string> missing_in_binary;    // error: declared but not compiled in
  std::vector<std::string> missing_in_manifest;  // grade: warning, selfcheck: error
};
BinaryCheck check_against_binary(const ExerciseManifest& manifest,
                                 const std::vector<std::string>& binary_tests);

// Finds the exercises named by `queries`: the full id ("00-warmup"), its
// number ("00", "0") or its name ("warmup"). No query: every exercise.
// Throws GraderError (exit 2) for an unknown or ambiguous name.
std::vector<ExerciseManifest> select_exercises(const std::vector<ExerciseManifest>& all,
                                               const std::vector<std::string>& queries);

// `grade --test NAME...`: the exercises among `selected` that have one of these tests (full
// names). No name: all of them. Throws GraderError (exit 2) for a name that none of them has.
std::vector<ExerciseManifest> select_tests(const std::vector<ExerciseManifest>& selected,
                                           const std::vector<std::string>& tests);

// True when `query` names the exercise with this id.
bool exercise_matches(std::string_view id, std::string_view query);

}  // namespace grader
