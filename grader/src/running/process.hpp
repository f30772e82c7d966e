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

namespace grader {

class RunCgroup;

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

// What the test's process may do beyond ordinary work, for its seccomp filter (see sandbox.hpp).
// Denied always: ptrace, process_vm_readv/writev, mount and the other mount calls, unshare,
// setns, chroot, pivot_root, bpf, kexec, modules, keyrings, pidfd_getfd, perf_event_open,
// userfaultfd, io_uring, and clone3 (answered ENOSYS, so the C library falls back to clone,
// whose flags the filter can read).
struct SyscallPolicy {
  bool fork = false;    // processes of its own (fork, vfork, posix_spawn); threads always
  bool exec = false;    // execve beyond the test binary's own
  bool tracer = false;  // LeakSanitizer's tracer: an untraced clone, and ptrace of its threads
};

// Isolation applied in the child between fork and exec (see sandbox.hpp). Everything here is
// optional; an empty Isolation runs the child as the grader's own user.
struct Isolation {
  RunCgroup* cgroup = nullptr;  // joined first, watched while it runs, emptied at the end
  std::optional<uid_t> uid;     // run as this user and group (the grader must be root)
  // A new mount namespace in which this directory is /tmp, /var/tmp and /dev/shm.
  std::filesystem::path private_tmp;
  // Mounted read-only in that namespace (the course tree).
  std::vector<std::filesystem::path> read_only;
  // An ancestor of read_only[0] that `uid` cannot search: an empty tmpfs is mounted on it and
  // read_only[0] bound back into it, so the run can reach the course tree and nothing else there.
  // Without root, $HOME is covered the same way.
  std::optional<std::filesystem::path> cover;
  // Without root: the mount namespace sits in a user namespace of its own (mapping the grader's
  // user to itself).
  bool user_namespace = false;
  // With a private /tmp (as root or in a user namespace), the run also gets:
  //  - a PID namespace whose init runs the test, with its own /proc: nothing outside is visible
  //    or can be signalled, and everything in it ends with the test;
  //  - an IPC namespace (System V and POSIX IPC objects die with the run) and a UTS namespace;
  //  - every other mount of the machine read-only (listed at start, not by hand), so the only
  //    places it can write are its own /tmp, /var/tmp and /dev/shm.
  bool read_only_root = true;
  // A system-call filter (seccomp) installed as the last step before the exec; nullopt: none.
  std::optional<SyscallPolicy> syscalls;
  // Address-space randomisation off (what `setarch -R` does), for ThreadSanitizer.
  bool no_aslr = false;
  // Existing files inside the read-only course tree that the run may write (a sandboxed compile's
  // object and dependency file): each is bound onto itself read-write.
  std::vector<std::filesystem::path> writable;
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

// Has this process ended, leaving only its exit status to be collected?
bool is_zombie(pid_t pid);

// Number of processes whose process group is pgid (zombies included).
int count_group_processes(pid_t pgid);

// Threads the current real user runs (what RLIMIT_NPROC counts).
std::uint64_t count_user_threads();

// The current environment as "NAME=value" strings, with `overrides` replacing
// or adding variables.
std::vector<std::string> environment_with(
    const std::vector<std::pair<std::string, std::string>>& overrides);

// "SIGSEGV (segmentation fault)"
std::string describe_signal(int signal);

}  // namespace grader
