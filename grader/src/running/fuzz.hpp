// libFuzzer targets of the exercises (exercises/<id>/fuzz/*.cpp), which `selfcheck` builds in
// the fuzz preset (clang) and runs for a bounded time against the reference solutions.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "building/build_contract.hpp"

namespace grader {

// Whether any of the exercises has fuzz sources (exercises/<id>/fuzz/*.cpp): only then is the
// fuzz build configured.
bool has_fuzz_sources(const std::filesystem::path& root,
                      const std::vector<std::string>& exercise_ids);

// The fuzz targets of the given exercises, from the fuzz build's contract, by exercise and name.
std::vector<FuzzTarget> fuzz_targets(const BuildContract& contract,
                                     const std::vector<std::string>& exercise_ids);

// How long each target runs: COURSE_FUZZ_SECONDS when it is a positive integer, else 20.
int fuzz_seconds(const char* setting);

// The command line that fuzzes `target` for `seconds`, growing the corpus in `corpus`.
std::vector<std::string> fuzz_command(const FuzzTarget& target, int seconds,
                                      const std::filesystem::path& corpus);

// The part of a failed run worth reading: from the first sanitizer or libFuzzer error line
// ("ERROR:", "runtime error:", "deadly signal", "timeout after") on, else the last lines; at most
// max_lines lines.
std::string fuzz_failure_excerpt(const std::string& output, std::size_t max_lines = 30);

// The compiler the fuzz preset needs, or nullopt when clang++ is not installed.
std::optional<std::filesystem::path> fuzz_compiler();

}  // namespace grader
