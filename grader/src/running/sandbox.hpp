// The isolation layers a test runs in, against a hostile submission (see "Threat model" in
// grader/README.md). This module detects what the machine allows, chooses the layers of each run
// (RunSandbox, whose plan is an Isolation, isolation.hpp) and owns the resources that outlive one
// exec: the cgroup of a run, the user id it runs as, and its private working directory.
// child.cpp applies the plan between fork and exec.
//
// Layers, strongest first:
//  - a cgroup per run (v2, or v1 with the pids, memory and freezer controllers): a cap on
//    tasks and memory, and every process in it killed when the run ends, including those
//    that left the process group with setsid;
//  - a separate unprivileged user per running test (root only): it cannot write the course
//    tree, the build tree, the reports or $HOME, and cannot signal the grader or another test;
//  - a private mount namespace (root only): /tmp, /var/tmp and /dev/shm are the run's own
//    size-bounded tmpfs, and the course tree is mounted read-only;
//  - without root, where the system allows it: a user namespace holding a PID namespace (the
//    test sees and can signal nothing outside it, and all of it ends with the test) and a mount
//    namespace (the run's own /tmp, $HOME hidden, the course tree read-only);
//  - always: its own process group, rlimits, a wall clock and an output cap (process.cpp, and
//    child.cpp for the rlimits).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "course/util.hpp"
#include "running/isolation.hpp"

namespace grader {

enum class CgroupKind { none, v1, v2 };

// What this machine lets the grader use, detected once per process.
struct SandboxSupport {
  bool root = false;
  CgroupKind cgroups = CgroupKind::none;
  std::string cgroup_root;  // v2: the directory the run cgroups go under
  bool separate_users = false;
  bool mount_namespaces = false;
  // Without root: user namespaces (a PID namespace, a private /tmp, a read-only course tree).
  bool user_namespaces = false;
  std::vector<std::string> notes;  // why a layer is off

  // "cgroup v1, separate user, private /tmp; process group, rlimits, wall clock"
  [[nodiscard]] std::string describe() const;
};
const SandboxSupport& sandbox_support();

// A run the sandbox will not start: as root, no user of its own could be had for it.
class SandboxRefused : public GraderError {
 public:
  using GraderError::GraderError;
};

// Without root and without user namespaces a test would run as the grader's own user, able to
// signal the grader and to write wherever it may: grading refuses that mode unless this was
// called (`--allow-unsandboxed`, for a student's own laptop), and the report's sandbox line
// then says so.
void allow_unsandboxed(bool on = true);
// The mode the commands refuse: neither a separate user per test nor a user namespace.
[[nodiscard]] bool unsandboxed(const SandboxSupport& support);
// The error grading stops with in that mode, unless allowed; nullopt when grading may go on.
[[nodiscard]] std::optional<std::string> unsandboxed_refusal();

// Turns the cgroup, separate-user and private-/tmp layers off (on = true) or back on for the runs
// that start afterwards: the grader's own tests of the runner's mechanics use it. Setting
// COURSE_SANDBOX=basic in the environment turns them off for the whole process.
void force_basic_sandbox(bool on = true);

struct CgroupLimits {
  std::uint64_t max_tasks = 1024;  // threads count too
  std::uint64_t max_memory_bytes = 2ULL << 30;
};

// One run's cgroup. The child joins it by writing "0" to each of procs_fds() between fork and
// exec; kill_all() ends everything in it; the destructor kills what is left and removes it.
class RunCgroup {
 public:
  static std::unique_ptr<RunCgroup> create(const CgroupLimits& limits);
  ~RunCgroup();
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  [[nodiscard]] const std::vector<int>& procs_fds() const { return procs_fds_; }
  [[nodiscard]] int process_count() const;  // processes, not threads
  [[nodiscard]] bool task_limit_hit() const;
  [[nodiscard]] bool memory_limit_hit() const;
  // SIGKILL to every process in the group until it is empty (v1: frozen first, so nothing
  // forks in between; v2: cgroup.kill). Returns the pids it killed, unreaped: those that were
  // reparented to the grader (a child subreaper) are its zombies until reap_orphans().
  std::vector<pid_t> kill_all();
  [[nodiscard]] CgroupKind kind() const { return kind_; }

 private:
  RunCgroup() = default;
  CgroupKind kind_ = CgroupKind::none;
  std::vector<std::filesystem::path> dirs_;  // v1: pids, memory, freezer; v2: one
  std::vector<int> procs_fds_;
};

// Reaps the processes of `pids` that are now zombie children of the grader (orphans it adopted
// as a subreaper), waiting up to a fraction of a second for the kernel to reparent them. Never
// pass the run's direct child: its status belongs to the caller.
void reap_orphans(std::vector<pid_t> pids);

// A user id reserved machine-wide for one running test (a lock file per id), so that two
// tests running at once, even from two graders, never share one. Every process of that user is
// ended when the lease is taken and when it is given back.
// Which of the 256 sandbox user ids (from COURSE_SANDBOX_UID_BASE, 1999990000 by default) a
// lease may take: [first, last). Grading leases from the first 224. selfcheck's hostile corpus,
// which checks that an attack left no process of its users behind while other tests run beside
// it, leases from the last 32 alone, so that those tests cannot be mistaken for what it left.
struct UidSlots {
  unsigned first = 0;
  unsigned last = 224;
};
inline constexpr UidSlots kGradingUids{0, 224};
inline constexpr UidSlots kHostileUids{224, 256};
// The first sandbox user id.
uid_t sandbox_uid_base();

class UidLease {
 public:
  static std::optional<UidLease> take(UidSlots slots = kGradingUids);
  ~UidLease();
  UidLease(UidLease&& other) noexcept;
  UidLease& operator=(UidLease&&) = delete;
  UidLease(const UidLease&) = delete;
  UidLease& operator=(const UidLease&) = delete;
  [[nodiscard]] uid_t uid() const { return uid_; }

 private:
  UidLease(uid_t uid, int lock_fd) : uid_(uid), lock_fd_(lock_fd) {}
  uid_t uid_ = 0;
  int lock_fd_ = -1;
};

// A run's working directory. As root it is a tmpfs of bounded size owned by the run's user,
// which also becomes the run's /tmp; it is unmounted, so everything written there is gone,
// when this object is destroyed.
class RunDir {
 public:
  RunDir(std::uint64_t max_bytes, std::optional<uid_t> owner);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] bool bounded() const { return mounted_; }
  // A directory inside it that the run's user may write.
  std::filesystem::path make_subdir(const std::string& name) const;

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
  std::optional<uid_t> owner_;
};

// What one run asks of its sandbox.
struct SandboxRequest {
  // The course tree: read-only in the run, and reachable even when an ancestor is closed to the
  // run's user. Empty: no tree.
  std::filesystem::path root;
  // The executable the run starts: made readable and runnable by the run's user, or the sandbox
  // is refused. Empty: a program of the machine's (a compiler), nothing to check.
  std::filesystem::path binary;
  std::uint64_t tmp_bytes = 512ULL << 20;  // as root: the size of the run's own tmpfs
  CgroupLimits cgroup;
  std::optional<SyscallPolicy> syscalls;  // nullopt: no filter
  bool no_aslr = false;                   // for ThreadSanitizer
  UidSlots uids = kGradingUids;
  // Files in the read-only tree the run may write (a sandboxed compile's outputs).
  std::vector<std::filesystem::path> writable;
};

// One run's sandbox: the layers this machine allows, chosen here and nowhere else, and the
// resources that must outlive the exec (the user id, the run's directory, its cgroup).
// isolation() is the finished plan run_process applies between fork and exec. As root a run
// never runs as root: with no user of its own the constructor throws SandboxRefused.
class RunSandbox {
 public:
  explicit RunSandbox(const SandboxRequest& request);
  RunSandbox(const RunSandbox&) = delete;
  RunSandbox& operator=(const RunSandbox&) = delete;

  [[nodiscard]] const Isolation& isolation() const { return isolation_; }
  // The run's directory as the run sees it ("/tmp" with a private /tmp): its working directory,
  // $HOME and $TMPDIR.
  [[nodiscard]] const std::filesystem::path& run_dir() const { return run_dir_; }
  // The same directory as the grader sees it, for what the run leaves there (traces).
  [[nodiscard]] const std::filesystem::path& host_dir() const { return dir_->path(); }
  [[nodiscard]] std::filesystem::path make_subdir(const std::string& name) const {
    return dir_->make_subdir(name);
  }
  // HOME and TMPDIR, pointing at run_dir().
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> environment() const;
  [[nodiscard]] std::optional<uid_t> uid() const;

 private:
  // Destroyed in reverse order: the cgroup is emptied before the directory is unmounted and
  // before the user id is given back.
  std::optional<UidLease> user_;
  std::unique_ptr<RunDir> dir_;
  std::unique_ptr<RunCgroup> cgroup_;
  Isolation isolation_;
  std::filesystem::path run_dir_;
};

// A mount of the machine, as the grader's mount namespace has it: its path and the flags a
// read-only bind remount must keep (MS_NOSUID, MS_NODEV, MS_NOEXEC and the atime flags, which a
// user namespace locks).
struct MountPoint {
  std::string path;
  unsigned long flags = 0;
};
// Every mount of the machine (from /proc/self/mountinfo), read once; the runs' own directories
// are left out. A run with a private /tmp makes each of them read-only (Isolation).
const std::vector<MountPoint>& machine_mounts();

// Lets the sandbox's users read what a sandboxed compile needs, however the tree was made (a
// checkout or a grade under umask 077 makes files 0600 and folders 0700): o+rX on the course's
// sources (exercises/, common/) and on a staged submission, o+x on every folder of the build
// directory. Nothing becomes writable.
void let_the_sandbox_read(const std::filesystem::path& root,
                          const std::filesystem::path& build_dir);

// The highest ancestor of `path` that user `uid` cannot search (no x bit for it), if any: the
// sandbox mounts an empty tmpfs there and the course tree back into it, so a checkout under
// /root still runs as an unprivileged user.
std::optional<std::filesystem::path> blocking_ancestor(const std::filesystem::path& path,
                                                       uid_t uid);

}  // namespace grader
