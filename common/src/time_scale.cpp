#include "course/time_scale.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COURSE_KIT_UNDER_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define COURSE_KIT_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define COURSE_KIT_UNDER_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define COURSE_KIT_UNDER_ASAN 1
#endif

namespace course {
namespace detail {

double default_time_scale() {
  // Sanitized code runs several times slower (thread creation under TSan costs milliseconds), so
  // a sanitizer build that nobody configured still gets workable margins.
#if defined(COURSE_KIT_UNDER_TSAN)
  return kTsanTimeFactor;
#elif defined(COURSE_KIT_UNDER_ASAN)
  return kAsanTimeFactor;
#else
  return 1.0;
#endif
}

double parse_time_scale(const char* text) {
  return time_scale_value(text).value_or(default_time_scale());
}

}  // namespace detail

double time_scale() {
  // Read once: a test must not see its durations change halfway through.
  static const double scale = detail::parse_time_scale(std::getenv("COURSE_TIME_SCALE"));
  return scale;
}

}  // namespace course
