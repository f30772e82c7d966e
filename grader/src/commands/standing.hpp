// Where a student stands in each exercise, for `grader/grader list` (rustlings' `list`): the
// last complete grade of their own files, kept per exercise in build/reports/standing.json, with
// the SHA-256 of each student file it graded, so that `list` can tell whether they changed since.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "course/model.hpp"
#include "course/skeletons.hpp"

namespace grader {

struct Standing {
  double score = 0;
  double max_score = 0;
  int passed = 0;
  int tests = 0;
  std::int64_t graded_at = 0;                // seconds since the epoch
  bool sanitizers = true;                    // false when graded with --no-sanitizers
  std::map<std::string, std::string> files;  // student file -> its SHA-256 when graded
};

// Seconds since the Unix epoch: the clock of a standing's `when`, and of "2 h ago" in `list`.
std::int64_t unix_now();

// Exercise id -> its standing; empty when nothing was recorded (or the file is unreadable).
std::map<std::string, Standing> load_standings(const std::filesystem::path& root);

// Records each exercise of the report that graded the course's own exercises/ and was started,
// replacing that exercise's previous standing. Call it only for a grade of every test.
void record_standings(const std::filesystem::path& root, const GradeReport& report,
                      bool sanitizers);

// The states `list` shows.
enum class ExerciseState {
  not_started,  // every student file is the skeleton's
  not_graded,   // started, never graded (or its standing is unreadable)
  edited,       // a student file changed since its last grade
  graded,       // graded, below full marks, unchanged since
  done,         // full marks, unchanged since
};
ExerciseState state_of(const ExerciseManifest& manifest, const SkeletonPrints& prints,
                       const std::optional<Standing>& standing);
std::string_view describe(ExerciseState state);

}  // namespace grader
