// The child's side of run_process: everything between fork and exec. plan_child prepares, in
// the grader, every string and number the child will need (after fork in a multi-threaded process
// only async-signal-safe calls are allowed); exec_child, in the child, joins the cgroup, enters
// the namespaces and mounts of the run's Isolation, sets the limits, becomes the run's user,
// installs the system-call filter and execs. A step that fails writes {errno, ChildStep} to
// error_fd and exits 127.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "running/process.hpp"
#include "running/sandbox.hpp"

namespace grader {

// Everything the child needs, prepared before fork: after fork in a
// multi-threaded process only async-signal-safe calls are allowed.
struct ChildPlan {
  std::string path;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string cwd;
  std::vector<std::pair<int, rlimit>> limits;
  int stdin_fd = -1;
  int output_fd = -1;
  int error_fd = -1;
  // Isolation (see Isolation in isolation.hpp).
  std::vector<int> cgroup_procs_fds;
  bool switch_user = false;
  uid_t uid = 0;
  bool new_mount_namespace = false;
  // Without root: a user namespace (mapping the user to itself) around the mount namespace, and
  // a PID namespace whose init runs the test (see enter_pid_namespace).
  bool user_namespace = false;
  std::string uid_map;  // "1000 1000 1\n"
  std::string gid_map;
  unsigned long tree_flags = 0;  // MS_NOSUID... of the tree's mount, kept when it is made read-only
  std::string cover;             // a tmpfs is mounted here, when set
  std::string private_tmp;       // the run's directory: /tmp, /var/tmp and /dev/shm
  std::vector<std::string> tmp_mounts;  // /var/tmp and /dev/shm, when they exist
  std::string tree;                     // the course tree, bound back read-only
  std::string tree_stash;               // <private_tmp>/.course-tree
  std::vector<std::string> tree_dirs;   // its ancestors and itself: made when a tmpfs hid them
  // The machine's other mounts, made read-only once the run's own are in place.
  std::vector<MountPoint> read_only_mounts;
  std::vector<std::string> writable;        // files bound read-write over the read-only tree
  std::vector<sock_filter> syscall_filter;  // installed last; empty: none
  bool no_aslr = false;
  // Result channel: moved to these numbers, not close-on-exec.
  int secret_fd = -1;
  int report_fd = -1;
};

// What the child was doing when it failed, for the message.
enum ChildStep : int {
  kJoinCgroup,
  kPrivateMounts,
  kChdir,
  kLimits,
  kSwitchUser,
  kRedirect,
  kChannel,
  kSyscallFilter,
  kProc,
  kExec
};

// "joining its cgroup", ... for the message of a failed start.
const char* describe_step(int step);

// The plan of a child running `spec` with the executable at `path`; the caller adds the pipes.
ChildPlan plan_child(const ProcessSpec& spec, const std::string& path);

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const ChildPlan& plan);

}  // namespace grader
