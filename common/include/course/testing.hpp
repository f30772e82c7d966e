// GoogleTest helpers: assertions that fail with the notes' explanations and save the trace for
// the grader's report.
//
//   EXPECT_TRUE(course::lifetimes_overlap(trace, 10, "downloads"));
//   EXPECT_TRUE(course::at_most_overlap(trace, 4, "downloads"));
//   EXPECT_TRUE(course::probe_formed(probe));
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "course/probes.hpp"
#include "course/trace.hpp"

namespace course {

// "Suite.Test" for the running test ("Suite/Param.Test/0" style names are kept as GoogleTest
// prints them), or "" outside a test.
std::string current_test_name();

// Trace::save_for_report titled with current_test_name() (the report file is then
// "<Suite.Test>.json").
bool save_trace_for_report(const Trace& trace);

// Each of these saves the trace for the report, then succeeds or fails with the matching
// explain_* message from trace.hpp. A failure of parallelism_at_least carries kTimingMark: a
// loaded machine may not run two threads at once when the test measures.
::testing::AssertionResult lifetimes_overlap(const Trace& trace, std::size_t expected,
                                             std::string_view what = "tasks");
::testing::AssertionResult at_most_overlap(const Trace& trace, std::size_t limit,
                                           std::string_view what = "tasks");
::testing::AssertionResult parallelism_at_least(const Trace& trace, double expected,
                                                std::string_view what = "tasks");

// The mark of a failed assertion that depends on the schedule: an upper bound on elapsed time, a
// wait that a loaded machine can stretch, parallelism the machine may not give at that moment. The
// grader retries a test tagged `timing` only when every failure of its run carries this mark; any
// other failure (a wrong result, an exception, a lower bound that only the code can break) fails
// the same way every time and is reported at once. Stream it first into the message:
//
//   EXPECT_LE(took, bound) << course::kTimingMark << "the downloads took " << took << ...;
inline constexpr std::string_view kTimingMark = "[timing] ";

// Succeeds when the probe formed, else fails with probe.describe().
::testing::AssertionResult probe_formed(const OverlapProbe& probe);

}  // namespace course
