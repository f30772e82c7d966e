// Running a child process in its own process group, with resource limits, a
// wall-clock deadline and a cap on its output. This is the only module that
// forks; everything else asks it to run a command.
//
// Why raw POSIX: the grader needs setpgid, setrlimit and kill(-pgid) between
// fork and exec, which no portable process library offers cleanly.
//
// How a run ends, in the order the checks happen:
//  - Ctrl-C (see install_interrupt_handlers): the group gets interrupt_signal,
//    then SIGKILL after a grace period;
//  - the deadline passes: SIGKILL to the whole group;
//  - the output exceeds the cap: SIGKILL to the whole group;
//  - the group holds more than max_group_processes processes: SIGKILL to the
//    whole group (contains fork bombs, also when running as root, where
//    RLIMIT_NPROC does not apply);
//  - the child exits: the rest of its group is killed too, so no grandchild
//    survives the run.
// Every process of the group is reaped before run_process returns: the grader
// makes itself a child subreaper, so orphaned grandchildren are its children.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "running/isolation.hpp"

namespace grader {

struct ProcessLimits {
  std::optional<double> wall_timeout_s;
  std::optional<std::uint64_t> cpu_seconds;          // RLIMIT_CPU (SIGXCPU, then SIGKILL)
  std::optional<std::uint64_t> address_space_bytes;  // RLIMIT_AS
  std::optional<std::uint64_t> file_size_bytes;      // RLIMIT_FSIZE (SIGXFSZ)
  // RLIMIT_NPROC counts every thread of the user, not of the child alone, so
  // the limit is "threads the user runs now + headroom".
  std::optional<std::uint64_t> process_headroom;
  std::optional<int> max_group_processes;  // watched by the parent every 100 ms
  std::optional<std::size_t> output_cap_bytes;
  bool core_dumps = false;  // RLIMIT_CORE = 0 unless true
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  // Complete environment ("NAME=value"); the grader's own when not set.
  std::optional<std::vector<std::string>> env;
  std::filesystem::path cwd;  // the grader's when empty
  ProcessLimits limits;
  int interrupt_signal = 9;  // sent to the group on Ctrl-C (SIGKILL; builds use SIGINT)
  Isolation isolation;
  // A result channel: when set, the child gets two pipes, named in COURSE_GRADER_CHANNEL as
  // "<secret fd>,<report fd>". The first holds this secret and is then closed; whatever the
  // child writes to the second is ProcessResult::report (see common/src/test_main.cpp).
  std::optional<std::string> channel_secret;
  std::size_t report_cap_bytes = std::size_t{1} << 20;
  // Called with each chunk of output as it arrives (for progress lines).
  std::function<void(std::string_view)> on_output;
};

enum class Ending {
  exited,         // exit_code is set
  signaled,       // signal is set
  timed_out,      // the deadline passed
  output_limit,   // printed more than output_cap_bytes
  process_limit,  // more than max_group_processes processes in the group, or the cgroup's task cap
  memory_limit,   // the cgroup's memory cap was hit (the kernel killed a process)
  interrupted,    // Ctrl-C
  spawn_failed,   // fork or exec failed; error says why
};

struct ProcessResult {
  Ending ending = Ending::spawn_failed;
  int exit_code = -1;
  int signal = 0;
  double seconds = 0.0;
  std::string output;  // stdout and stderr interleaved, at most the cap
  std::string report;  // what the child wrote to the result channel, at most report_cap_bytes
  std::string error;   // why the spawn failed
  pid_t pgid = -1;     // the process group the child led (for checks in tests)

  [[nodiscard]] bool succeeded() const { return ending == Ending::exited && exit_code == 0; }
};

ProcessResult run_process(const ProcessSpec& spec);

// The absolute path of an executable named in PATH (or the name itself when it
// contains a slash); nullopt when not found.
std::optional<std::filesystem::path> find_executable(std::string_view name);

// Reaps the zombies among the processes the grader adopted as a child subreaper (orphans of its
// runs), leaving the direct children of runs in progress to their run_process.
void reap_adopted_zombies();

// The current environment as "NAME=value" strings, with `overrides` replacing
// or adding variables.
std::vector<std::string> environment_with(
    const std::vector<std::pair<std::string, std::string>>& overrides);

// "SIGSEGV (segmentation fault)"
std::string describe_signal(int signal);

}  // namespace grader
