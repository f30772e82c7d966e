// Running one GoogleTest test case in isolation: the sandbox's layers (sandbox.hpp), a fresh
// working directory, resource limits, a scaled wall timeout, capped output and a result channel
// (common/src/test_main.cpp); then classification, retries and trace collection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "course/model.hpp"
#include "running/process.hpp"
#include "running/sandbox.hpp"

namespace grader {

// The limits every test runs under. The defaults are the course's; tests of
// the grader lower some of them.
struct SandboxPolicy {
  std::size_t output_cap_bytes = std::size_t{64} * 1024;
  std::uint64_t address_space_bytes = 4ULL
                                      << 30;  // normal builds only: sanitizers reserve terabytes
  std::uint64_t file_size_bytes = 256ULL << 20;
  // RLIMIT_NPROC is per user: the limit is set to the threads the user runs
  // when the test starts plus this headroom (threads count, not only processes).
  std::uint64_t process_headroom = 512;
  // The parent also kills a group that holds more processes than this: it
  // contains fork bombs quickly, including as root where RLIMIT_NPROC is ignored.
  int max_group_processes = 128;
  int max_timing_retries = kMaxTimingRetries;
  // With a cgroup (sandbox.hpp): tasks (threads count) and memory of the whole run. The
  // sanitizers' shadow memory needs the larger cap.
  std::uint64_t max_tasks = 1024;
  std::uint64_t memory_bytes = 2ULL << 30;
  std::uint64_t sanitizer_memory_bytes = 6ULL << 30;
  // As root: the size of the run's own tmpfs (its working directory and its /tmp).
  std::uint64_t tmp_bytes = 512ULL << 20;
  // Trace files kept per run: at most this many, each at most this size; symlinks skipped.
  int max_trace_files = 8;
  std::uint64_t max_trace_bytes = 4ULL << 20;
  // What the test's process may start (the exercise's `processes`); its seccomp filter denies
  // the rest. The ASan build adds LeakSanitizer's tracer.
  SyscallPolicy syscalls;
  // The sandbox user ids its runs lease (sandbox.hpp).
  UidSlots uids = kGradingUids;
};

// COURSE_TIME_SCALE factor of a build: 1 normal, then the kit's factors for ASan and TSan
// (course/time_scale.hpp).
double config_time_factor(BuildConfig config);

struct TestRunRequest {
  std::filesystem::path binary;
  TestSpec spec;
  BuildConfig config = BuildConfig::normal;
  double base_time_scale = 1.0;     // the COURSE_TIME_SCALE the grader itself got
  std::filesystem::path root;       // course root (the sandbox makes it read-only)
  std::filesystem::path trace_dir;  // where trace files are kept; empty: not kept
  SandboxPolicy policy;
  std::vector<std::pair<std::string, std::string>> extra_env;
};

// Runs the test once, or up to 1 + max_timing_retries times when it is tagged
// "timing" and fails an assertion. Every attempt is recorded.
RunResult run_test(const TestRunRequest& request);

// `setarch <machine> -R` when it works here, else nothing: ThreadSanitizer binaries that the
// grader runs outside a test's sandbox (the fuzz and stress helpers) run under it, since TSan
// aborts at start-up on kernels with a large mmap randomisation. A test's run turns the
// randomisation off itself (Isolation::no_aslr), with no second exec for its filter to allow.
const std::vector<std::string>& tsan_launcher_prefix();

// The tests a binary contains (`--gtest_list_tests`, reported over the result channel and run
// in the same sandbox as a test of its build), or an error message.
struct TestListing {
  std::vector<std::string> names;
  std::string error;  // empty on success
};
TestListing list_tests(const std::filesystem::path& binary, const std::filesystem::path& root = {},
                       const SandboxPolicy& policy = {}, BuildConfig config = BuildConfig::normal);

}  // namespace grader
