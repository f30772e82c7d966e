#include "course/run_plan.hpp"

#include <algorithm>

namespace grader {

namespace {

std::vector<BuildConfig> in_build_order(const std::vector<BuildConfig>& builds) {
  std::vector<BuildConfig> ordered;
  for (const auto& info : kBuilds) {
    if (std::find(builds.begin(), builds.end(), info.config) != builds.end()) {
      ordered.push_back(info.config);
    }
  }
  return ordered;
}

}  // namespace

std::vector<BuildConfig> sanitizer_builds_of(const TestSpec& test) {
  std::vector<BuildConfig> builds;
  for (const auto& info : kBuilds) {
    if (!info.sanitizer_tag.empty() && test.has_tag(info.sanitizer_tag))
      builds.push_back(info.config);
  }
  return builds;
}

RunPlan RunPlan::normal_build(const ExerciseManifest& manifest) {
  std::vector<std::string> every_test;
  for (const auto& test : manifest.tests) every_test.push_back(test.name);
  return normal_build(manifest, every_test);
}

RunPlan RunPlan::normal_build(const ExerciseManifest& manifest,
                              const std::vector<std::string>& only) {
  RunPlan plan = only_in(manifest, BuildConfig::normal, only);
  plan.also_build(BuildConfig::normal);
  return plan;
}

RunPlan RunPlan::only_in(const ExerciseManifest& manifest, BuildConfig build) {
  RunPlan plan;
  for (const auto& test : manifest.tests) plan.add(test.name, build);
  return plan;
}

RunPlan RunPlan::only_in(const ExerciseManifest& manifest, BuildConfig build,
                         const std::vector<std::string>& only) {
  RunPlan plan;
  for (const auto& test : manifest.tests) {
    if (std::find(only.begin(), only.end(), test.name) != only.end()) plan.add(test.name, build);
  }
  return plan;
}

void RunPlan::add(const std::string& test, BuildConfig build) {
  const Cell cell{test, build};
  if (std::find(cells_.begin(), cells_.end(), cell) == cells_.end()) cells_.push_back(cell);
}

std::vector<Cell> RunPlan::add_tagged_sanitizer_runs(
    const ExerciseManifest& manifest, const std::function<bool(const TestSpec&)>& which) {
  std::vector<Cell> added;
  for (const auto& test : manifest.tests) {
    if (!std::count(cells_.begin(), cells_.end(), Cell{test.name, BuildConfig::normal})) continue;
    if (!which(test)) continue;
    for (const auto build : sanitizer_builds_of(test)) {
      const Cell cell{test.name, build};
      if (std::find(cells_.begin(), cells_.end(), cell) != cells_.end()) continue;
      cells_.push_back(cell);
      added.push_back(cell);
    }
  }
  return added;
}

void RunPlan::add_every_test_in(BuildConfig build) {
  std::vector<std::string> names;
  for (const auto& cell : cells_) {
    if (std::find(names.begin(), names.end(), cell.test) == names.end()) names.push_back(cell.test);
  }
  for (const auto& name : names) add(name, build);
}

void RunPlan::also_build(BuildConfig build) {
  if (std::find(extra_builds_.begin(), extra_builds_.end(), build) == extra_builds_.end()) {
    extra_builds_.push_back(build);
  }
}

std::vector<TestSpec> RunPlan::tests(const ExerciseManifest& manifest) const {
  std::vector<TestSpec> tests;
  for (const auto& test : manifest.tests) {
    const bool planned = std::any_of(cells_.begin(), cells_.end(),
                                     [&](const Cell& cell) { return cell.test == test.name; });
    if (planned) tests.push_back(test);
  }
  return tests;
}

std::vector<BuildConfig> RunPlan::builds_of(const std::string& test) const {
  std::vector<BuildConfig> builds;
  for (const auto& cell : cells_) {
    if (cell.test == test) builds.push_back(cell.build);
  }
  return in_build_order(builds);
}

std::vector<BuildConfig> RunPlan::builds() const {
  std::vector<BuildConfig> builds = extra_builds_;
  for (const auto& cell : cells_) builds.push_back(cell.build);
  return in_build_order(builds);
}

}  // namespace grader
