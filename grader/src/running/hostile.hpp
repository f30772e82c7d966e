// selfcheck's step "Hostile submissions": every attack in grader/tests/hostile/ is graded as a
// submission of 00-warmup, and must score what its header says, leave no process, file or change
// behind, and leave the grader healthy (see grader/tests/hostile/README.md).
#pragma once

#include <string>
#include <vector>

#include "grading.hpp"

namespace grader {

struct HostileCheck {
  bool ok = false;
  std::string what;
  std::string details;
};

// One check per attack and mode; empty when the corpus or 00-warmup is missing.
std::vector<HostileCheck> run_hostile_corpus(const GradeContext& context,
                                             const ExerciseManifest& warmup);

}  // namespace grader
