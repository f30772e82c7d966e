// Wall-clock durations in tests, stretched for slow machines and sanitizers.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <type_traits>

namespace course {

// The factor by which tests stretch every wall-clock duration. It is read once, from the
// environment variable COURSE_TIME_SCALE (the grader raises it under sanitizers, where code runs
// several times slower). A missing, unparsable, non-finite or non-positive value gives the
// default: 1.0, except when the kit itself is built with a sanitizer (the factors below), so that
// plain ctest in a sanitizer build has the margins the grader gives.
double time_scale();

// How much slower code runs under each sanitizer: the grader multiplies COURSE_TIME_SCALE by
// these for the asan and tsan builds, and they are the kit's default in those builds.
inline constexpr double kAsanTimeFactor = 2.0;
inline constexpr double kTsanTimeFactor = 4.0;

// The one rule for a value of COURSE_TIME_SCALE, shared by the kit (in a test's process) and the
// grader (which raises it for the sanitizer builds): the whole text is a finite number above 0
// and at most 1000. Anything else (nullptr: unset) is nullopt, and the reader uses its default.
inline std::optional<double> time_scale_value(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  const bool whole_text_parsed = end != nullptr && *end == '\0';
  if (!whole_text_parsed || !std::isfinite(value) || value <= 0.0 || value > 1000.0) {
    return std::nullopt;
  }
  return value;
}

namespace detail {
double default_time_scale();
// How time_scale() reads COURSE_TIME_SCALE (nullptr when unset); exposed for its tests.
double parse_time_scale(const char* text);
}  // namespace detail

// d × time_scale(), in the same duration type as d, so `std::chrono::milliseconds t =
// scaled(200ms);` works. Integer counts are rounded to the nearest tick and saturate at the
// type's maximum instead of overflowing.
template <class Rep, class Period>
std::chrono::duration<Rep, Period> scaled(std::chrono::duration<Rep, Period> d) {
  using Result = std::chrono::duration<Rep, Period>;
  const std::chrono::duration<double, Period> stretched = d * time_scale();
  if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
    return std::chrono::duration_cast<Result>(stretched);
  } else {
    if (stretched.count() >= static_cast<double>(Result::max().count())) return Result::max();
    if (stretched.count() <= static_cast<double>(Result::min().count())) return Result::min();
    return std::chrono::round<Result>(stretched);
  }
}

}  // namespace course
