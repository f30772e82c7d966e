// A run plan: which tests of one implementation run in which builds. Every command says what it
// runs by building plans (grade: every test in the normal build, then the tagged sanitizer runs of
// those that passed; selfcheck: the reference in every build, a mutant's must_fail tests, a
// going-further variant under ThreadSanitizer alone; stress: every test in one build), and the
// grading pipeline builds what the plans name and runs each cell once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "course/manifest.hpp"
#include "course/model.hpp"

namespace grader {

// The sanitizer builds a test's tags ask for ("sanitizer:tsan" -> tsan...), in build order.
std::vector<BuildConfig> sanitizer_builds_of(const TestSpec& test);

// One test, run in one build.
struct Cell {
  std::string test;
  BuildConfig build = BuildConfig::normal;
  bool operator==(const Cell&) const = default;
};

class RunPlan {
 public:
  // Every test of the manifest in the normal build, or only those named in `only` (names the
  // manifest does not have are ignored).
  static RunPlan normal_build(const ExerciseManifest& manifest);
  static RunPlan normal_build(const ExerciseManifest& manifest,
                              const std::vector<std::string>& only);
  // Every test of the manifest in `build` alone, or only those named in `only`.
  static RunPlan only_in(const ExerciseManifest& manifest, BuildConfig build);
  static RunPlan only_in(const ExerciseManifest& manifest, BuildConfig build,
                         const std::vector<std::string>& only);

  // A cell, unless the plan has it already.
  void add(const std::string& test, BuildConfig build);
  // For every test with a cell in the normal build (and, when given, for which `which` is true):
  // a cell in each build its sanitizer tags name. Returns the cells it added.
  std::vector<Cell> add_tagged_sanitizer_runs(
      const ExerciseManifest& manifest,
      const std::function<bool(const TestSpec&)>& which = [](const TestSpec&) { return true; });
  // For every test in the plan: a cell in `build`.
  void add_every_test_in(BuildConfig build);
  // A build the implementation needs even with no cell in it: made before any test runs (grade
  // without a cgroup), or the normal build of a plan whose tests run elsewhere.
  void also_build(BuildConfig build);

  [[nodiscard]] const std::vector<Cell>& cells() const { return cells_; }
  [[nodiscard]] bool empty() const { return cells_.empty(); }
  // The tests with a cell, in the manifest's order.
  [[nodiscard]] std::vector<TestSpec> tests(const ExerciseManifest& manifest) const;
  // The builds a test runs in, in build order.
  [[nodiscard]] std::vector<BuildConfig> builds_of(const std::string& test) const;
  // Every build the plan needs, in build order.
  [[nodiscard]] std::vector<BuildConfig> builds() const;

 private:
  std::vector<Cell> cells_;
  std::vector<BuildConfig> extra_builds_;
};

}  // namespace grader
