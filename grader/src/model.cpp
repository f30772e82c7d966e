#include "model.hpp"

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

std::string_view to_string(BuildConfig c) {
  switch (c) {
    case BuildConfig::normal:
      return "default";
    case BuildConfig::asan:
      return "asan";
    case BuildConfig::tsan:
      return "tsan";
  }
  return "default";
}

std::optional<Category> category_from_string(std::string_view s) {
  for (auto c : {Category::correctness, Category::concurrency, Category::timing,
                 Category::robustness, Category::performance}) {
    if (to_string(c) == s) return c;
  }
  return std::nullopt;
}

}  // namespace grader
