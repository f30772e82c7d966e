// What the grader reads of /proc: the processes of the machine, each with its state, parent,
// process group, thread count and owner. One parser for /proc/<pid>/stat, used by the process
// runner (orphans to reap, a group's size, the user's threads), the sandbox (a user's leftover
// processes) and the hostile corpus (what an attack left running).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace grader::proc {

struct Process {
  pid_t pid = 0;
  char state = '?';  // R, S, D, Z, T...
  pid_t parent = 0;
  pid_t group = 0;  // its process group
  std::uint64_t threads = 0;
  // The owner of /proc/<pid>: the process's effective user (root for a process that made
  // itself non-dumpable).
  uid_t owner = 0;

  // Has it ended, leaving only its exit status to be collected?
  [[nodiscard]] bool zombie() const { return state == 'Z'; }
};

// The process now, or nullopt when there is none (or it ended while being read).
std::optional<Process> read(pid_t pid);

// Every process this namespace shows now; one that ends while the list is read is left out.
std::vector<Process> processes();

// Is there a process, zombie or not, with this pid?
bool exists(pid_t pid);

// Processes (zombies included) whose process group is `group`.
int count_in_group(pid_t group);

// Threads that processes of `owner` run (what RLIMIT_NPROC counts for that user).
std::uint64_t threads_of(uid_t owner);

// The executable a process runs (/proc/<pid>/exe), when the grader may read it.
std::optional<std::filesystem::path> executable(pid_t pid);

}  // namespace grader::proc
