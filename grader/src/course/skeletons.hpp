// Which exercises a student has started. `grade` builds and runs only those: an exercise whose
// student files are all the skeleton's scores 0, which selfcheck proves, so building its tests
// would cost minutes and teach nothing. The skeleton's files are known by their SHA-256, kept in
// grader/skeletons.sha256 (the format of `sha256sum`, so `sha256sum -c` checks it too); a
// student repository's copy comes from the starter commit, as the tests do.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "course/model.hpp"

namespace grader {

// "grader/skeletons.sha256": one line per student file of every exercise,
// "<sha256 in hex>  exercises/<id>/<file>".
inline constexpr std::string_view kSkeletonPrintsFile = "grader/skeletons.sha256";

// The SHA-256 of a file's bytes, in lower-case hex; nullopt when it cannot be read.
std::optional<std::string> sha256_of_file(const std::filesystem::path& file);

// Path relative to the course root ("exercises/00-warmup/src/counter.cpp") -> its print.
using SkeletonPrints = std::map<std::string, std::string>;

// Reads grader/skeletons.sha256; an empty map when it is missing.
SkeletonPrints load_skeleton_prints(const std::filesystem::path& root);

// The file's text for the skeletons of these exercises, as they are in exercises/ now.
std::string render_skeleton_prints(const std::filesystem::path& root,
                                   const std::vector<ExerciseManifest>& manifests);

// What is wrong with grader/skeletons.sha256 against exercises/ now (for selfcheck), each a
// sentence that says how to mend it; empty when it matches.
std::vector<std::string> check_skeleton_prints(const std::filesystem::path& root,
                                               const std::vector<ExerciseManifest>& manifests);

// Whether the implementation differs from the skeleton in any student file. `submission`: the
// directory of `grade --impl DIR`, whose missing files are the skeleton's; nullopt: the course's
// own exercises/. A file that is not a regular file, or that the prints do not know, counts as
// started, so that grading says what is wrong with it.
bool is_started(const ExerciseManifest& manifest, const SkeletonPrints& prints,
                const std::optional<std::filesystem::path>& submission, bool single_exercise);

}  // namespace grader
