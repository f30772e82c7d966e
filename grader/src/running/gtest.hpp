// Reading what a GoogleTest binary says: its test list, its result channel,
// and turning one finished run into an Outcome with a reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "course/model.hpp"
#include "running/process.hpp"

namespace grader {

// What a test binary said on its result channel (common/src/test_main.cpp), checked line by
// line: every line carries the run's secret, the expected test starts once and ends once, and
// "done" comes last.
struct ChannelReport {
  bool started = false;
  bool ended = false;
  bool done = false;
  std::string status;                 // "passed", "failed" or "skipped" (from "end")
  std::vector<std::string> failures;  // one text per failed assertion: "file:line\nmessage"
  std::vector<std::string> skips;
  std::vector<std::string> tampers;   // what the harness saw go wrong (a replaced reporter)
  std::vector<std::string> listed;    // "test" lines, from --gtest_list_tests
  std::vector<std::string> problems;  // lines that break the protocol: forged or out of order
};

// `expected_test` empty: a listing, where no test may start.
ChannelReport parse_channel(std::string_view report, std::string_view secret,
                            std::string_view expected_test);

// What classify() needs from one run of one test.
struct RunObservation {
  ProcessResult process;
  ChannelReport channel;
  std::string test_name;
  double timeout_s = 0.0;      // the wall limit that applied (already scaled)
  double cpu_limit_s = 0.0;    // RLIMIT_CPU that applied
  double file_size_limit = 0;  // bytes
  int process_limit = 0;       // max processes in the group
  double memory_limit = 0;     // bytes (the cgroup's cap)
  std::size_t output_cap = 0;  // bytes
};

struct Classification {
  Outcome outcome = Outcome::not_run;
  std::string reason;  // one line, except a sanitizer report excerpt
  std::string output;  // failure messages, or the relevant part of the output
};

Classification classify(const RunObservation& run);

// The first meaningful lines of a sanitizer report found in `output`; empty
// when there is none.
std::string sanitizer_excerpt(std::string_view output, std::size_t max_lines = 12);

// Output without GoogleTest's banner lines ("[ RUN      ]", "[==========]"...).
std::string strip_gtest_noise(std::string_view output);

}  // namespace grader
