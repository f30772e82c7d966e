#include "course/testing.hpp"

namespace course {
namespace {

::testing::AssertionResult verdict(bool passed, const std::string& explanation) {
  if (passed) return ::testing::AssertionSuccess() << explanation;
  return ::testing::AssertionFailure() << explanation;
}

}  // namespace

std::string current_test_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "";
  return std::string(info->test_suite_name()) + "." + info->name();
}

bool save_trace_for_report(const Trace& trace) {
  const std::string name = current_test_name();
  return trace.save_for_report(name.empty() ? "trace" : name);
}

::testing::AssertionResult lifetimes_overlap(const Trace& trace, std::size_t expected,
                                             std::string_view what) {
  save_trace_for_report(trace);
  return verdict(trace.max_overlap() >= expected, explain_overlap(trace, expected, what));
}

::testing::AssertionResult at_most_overlap(const Trace& trace, std::size_t limit,
                                           std::string_view what) {
  save_trace_for_report(trace);
  return verdict(trace.max_overlap() <= limit, explain_limit(trace, limit, what));
}

::testing::AssertionResult parallelism_at_least(const Trace& trace, double expected,
                                                std::string_view what) {
  save_trace_for_report(trace);
  const bool reached = trace.parallelism() >= expected;
  return verdict(reached, std::string(reached ? "" : kTimingMark) +
                              explain_parallelism(trace, expected, what));
}

::testing::AssertionResult probe_formed(const OverlapProbe& probe) {
  return verdict(probe.formed(), probe.describe());
}

}  // namespace course
