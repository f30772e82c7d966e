// Requirements tables (solutions/NN-name/REQUIREMENTS.md): every behaviour an exercise's
// statement and public header promise, each with the tests that fail when it is broken.
// `selfcheck` refuses a table with a row that names no test, or a test the manifest does not
// declare, so a promise cannot quietly lose its test.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "course/model.hpp"

namespace grader {

// What a test must probe depends on the kind of promise. A bound is broken by `>` written as
// `>=`, so it needs a probe at it, one below and one above; a duration is broken by counting
// from the wrong instant, so it needs a clock that separates the candidate origins and a
// non-default value; a rule that holds on several paths is broken on the path nobody probed; a
// wait that ignores a stop hangs only when the stop comes during that wait. The table says each
// probe's name in the tests cell: "at: `A.B`; below: `A.C`; above: `A.D`".
struct KindRule {
  std::string_view kind;
  std::string_view meaning;
  std::vector<std::string_view> required_labels;  // each must name a test
  std::size_t min_labels = 0;                     // labels of the row's own choosing (paths, waits)
  std::string_view advice;                        // what the probes must do, for messages
};

// Every kind a row may have, with its rule.
const std::vector<KindRule>& kind_rules();

struct Probe {
  std::string label;               // "at", "below", "get_or_load hit", "back-off sleep"; may be ""
  std::vector<std::string> tests;  // `Suite.Case` names
  std::string missing;             // "label: missing (why)": the reason; tests is then empty
};

struct Requirement {
  std::string id;                  // "R1", unique in its table
  std::string kind;                // one of kind_rules()
  std::string promise;             // what the statement or header says
  std::string source;              // where it says it ("README, level 3", "header: Options::stop")
  std::vector<Probe> probes;       // the tests cell, split at ';' into labelled groups
  std::vector<std::string> tests;  // every test of every probe, in order
  int line = 0;                    // 1-based, for messages
};

struct RequirementsTable {
  std::vector<Requirement> rows;
  std::vector<std::string> problems;  // "file:line: problem", empty when the table is valid
  std::vector<std::string> warnings;  // probes written down as missing
};

// Reads the first Markdown table whose header row has the columns id, kind, promise, source,
// tests, and checks each row against its kind's rule. `file` only names the file in messages.
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
