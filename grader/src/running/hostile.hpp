// selfcheck's step "Hostile submissions": every attack in grader/tests/hostile/ is graded as a
// submission of 00-warmup, and must score what its header says, leave no process, file or change
// behind, and leave the grader healthy (see grader/tests/hostile/README.md).
#pragma once

#include <string>
#include <vector>

#include "running/grading.hpp"

namespace grader {

struct HostileCheck {
  bool ok = false;
  std::string what;
  std::string details;
};

// Which attacks to grade: those that may run beside other work of the grader (selfcheck's test
// runs and builds), or those that change what the grader's threads share (its umask), which must
// run alone.
enum class HostilePart { beside_other_work, alone };

// One check per attack and mode of that part; empty when the corpus or 00-warmup is missing.
std::vector<HostileCheck> run_hostile_corpus(const GradeContext& context,
                                             const ExerciseManifest& warmup, HostilePart part);

}  // namespace grader
