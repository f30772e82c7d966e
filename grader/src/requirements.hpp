// Requirements tables (solutions/NN-name/REQUIREMENTS.md): every behaviour an exercise's
// statement and public header promise, each with the tests that fail when it is broken.
// `selfcheck` refuses a table with a row that names no test, or a test the manifest does not
// declare, so a promise cannot quietly lose its test.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"

namespace grader {

struct Requirement {
  std::string id;                  // "R1", unique in its table
  std::string promise;             // what the statement or header says
  std::string source;              // where it says it ("README, level 3", "header: Options::stop")
  std::vector<std::string> tests;  // GoogleTest names, written `Suite.Case` in the table
  int line = 0;                    // 1-based, for messages
};

struct RequirementsTable {
  std::vector<Requirement> rows;
  std::vector<std::string> problems;  // "file:line: problem", empty when the table is valid
};

// Reads the first Markdown table whose header row starts with "| id |" and has the columns
// id, promise, source, tests. `file` only names the file in messages.
RequirementsTable parse_requirements(std::string_view text, const std::string& file);

// solutions/<id>/REQUIREMENTS.md of this exercise.
std::filesystem::path requirements_path(const std::filesystem::path& root, std::string_view id);

// Reads an exercise's table and adds every problem with it: missing file, malformed rows,
// duplicate ids, a row with no test, a test that the manifest does not declare.
RequirementsTable check_requirements(const ExerciseManifest& manifest,
                                     const std::filesystem::path& root);

// Tests with points that no row names: not an error (a test may check a figure the table
// folds into another row), reported as a warning by selfcheck.
std::vector<std::string> tests_outside_requirements(const ExerciseManifest& manifest,
                                                    const RequirementsTable& table);

}  // namespace grader
