#include "course/model.hpp"

#include "course/time_scale.hpp"

namespace grader {

std::string_view to_string(Category c) {
  switch (c) {
    case Category::correctness:
      return "correctness";
    case Category::concurrency:
      return "concurrency";
    case Category::timing:
      return "timing";
    case Category::robustness:
      return "robustness";
    case Category::performance:
      return "performance";
  }
  return "correctness";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::passed:
      return "passed";
    case Outcome::failed:
      return "failed";
    case Outcome::timeout:
      return "timeout";
    case Outcome::crashed:
      return "crashed";
    case Outcome::sanitizer:
      return "sanitizer";
    case Outcome::resource_limit:
      return "resource_limit";
    case Outcome::output_limit:
      return "output_limit";
    case Outcome::not_run:
      return "not_run";
  }
  return "not_run";
}

const std::array<BuildInfo, 4> kBuilds = {{
    // config, preset, tag, time factor, runs tests, sanitized, leak tracer, fixed layout
    {BuildConfig::normal, "default", "", 1.0, true, false, false, false},
    {BuildConfig::tsan, "tsan", "sanitizer:tsan", course::kTsanTimeFactor, true, true, false, true},
    {BuildConfig::asan, "asan", "sanitizer:asan", course::kAsanTimeFactor, true, true, true, false},
    {BuildConfig::fuzz, "fuzz", "", 1.0, false, true, false, false},
}};

const BuildInfo& build_info(BuildConfig config) {
  for (const auto& info : kBuilds) {
    if (info.config == config) return info;
  }
  return kBuilds.front();
}

std::vector<BuildConfig> test_builds() {
  std::vector<BuildConfig> builds;
  for (const auto& info : kBuilds) {
    if (info.runs_tests) builds.push_back(info.config);
  }
  return builds;
}

std::string_view to_string(BuildConfig c) { return build_info(c).preset; }

std::optional<Category> category_from_string(std::string_view s) {
  for (auto c : {Category::correctness, Category::concurrency, Category::timing,
                 Category::robustness, Category::performance}) {
    if (to_string(c) == s) return c;
  }
  return std::nullopt;
}

}  // namespace grader
