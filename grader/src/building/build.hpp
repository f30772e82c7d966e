// Driving CMake: configuring the preset build directories on first use and
// building exactly the test targets a command needs, in one call per build
// configuration so that Ninja compiles in parallel.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "building/build_contract.hpp"
#include "course/model.hpp"
#include "reports/progress.hpp"

namespace grader {

// The CMake preset (and build directory name) of a configuration.
std::string preset_name(BuildConfig config);
std::filesystem::path build_dir(const std::filesystem::path& root, BuildConfig config);

struct BuildResult {
  bool ok = true;
  std::map<std::string, std::string> errors;  // failed target -> compiler errors
  std::filesystem::path log;
};

class Builder {
 public:
  Builder(std::filesystem::path root, Progress& progress);

  // Runs `cmake --preset <name>` in the root when the build directory has no
  // build.ninja yet. Throws GraderError (exit 2) with the log's tail on failure.
  void ensure_configured(BuildConfig config);

  // The build's contract with CMake, after configuring it if needed and letting CMake run again
  // if a file it globs changed (a new mutant or variant), so that every target is listed.
  BuildContract contract(BuildConfig config);

  // Builds `targets` in one `cmake --build` call (continuing past errors); on failure finds which
  // targets did not build and their compiler errors: the failed steps that `markers` name for
  // the target (BuildContract::step_markers), or every failed step when it has none.
  // Throws GraderError when CMake itself fails (a broken CMakeLists.txt).
  BuildResult build(BuildConfig config, const std::vector<std::string>& targets,
                    const std::string& label,
                    const std::map<std::string, std::vector<std::string>>& markers = {});

 private:
  std::filesystem::path root_;
  Progress& progress_;
};

// The compiler errors of one target in a Ninja log: the output of the FAILED steps whose line
// holds one of `markers` (as a whole path part), from the first line mentioning "error", at most
// max_lines lines. No markers: every FAILED step.
std::string extract_build_errors(const std::string& log, const std::vector<std::string>& markers,
                                 std::size_t max_lines = 60);

}  // namespace grader
