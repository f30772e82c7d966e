// Reading what a GoogleTest binary says: its test list, its JSON result file,
// and turning one finished run into an Outcome with a reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"
#include "process.hpp"

namespace grader {

// Parses `--gtest_list_tests` output into full names ("Suite.Case",
// "Prefix/Suite.Case/0"), in the binary's order.
std::vector<std::string> parse_test_list(std::string_view output);

struct GtestCase {
  enum class Status { passed, failed, skipped };
  Status status = Status::failed;
  std::vector<std::string> failures;  // one text per failed assertion
  double seconds = 0.0;
};

// The entry for `full_name` in a `--gtest_output=json` file; nullopt when the
// file does not mention that test (or is not valid JSON).
std::optional<GtestCase> find_in_gtest_json(std::string_view json, std::string_view full_name);

// What classify() needs from one run of one test.
struct RunObservation {
  ProcessResult process;
  std::optional<std::string> json;  // the result file, when the test wrote one
  std::string test_name;
  double timeout_s = 0.0;      // the wall limit that applied (already scaled)
  double cpu_limit_s = 0.0;    // RLIMIT_CPU that applied
  double file_size_limit = 0;  // bytes
  int process_limit = 0;       // max processes in the group
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
