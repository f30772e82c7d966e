#include "running/child.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "course/util.hpp"
#include "running/proc.hpp"

namespace grader {

namespace {

constexpr const char* kTreeStashInTmp = "/tmp/.course-tree";
constexpr int kChannelSecretFd = 100;
constexpr int kChannelReportFd = 101;

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::pair<int, rlimit>> rlimits_for(const ProcessLimits& limits, bool own_user) {
  std::vector<std::pair<int, rlimit>> out;
  auto add = [&out](int resource, std::uint64_t value) {
    out.emplace_back(resource, rlimit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)});
  };
  if (limits.cpu_seconds) {
    // Soft limit sends SIGXCPU; the hard limit one second later kills.
    out.emplace_back(RLIMIT_CPU, rlimit{static_cast<rlim_t>(*limits.cpu_seconds),
                                        static_cast<rlim_t>(*limits.cpu_seconds + 1)});
  }
  if (limits.address_space_bytes) add(RLIMIT_AS, *limits.address_space_bytes);
  if (limits.file_size_bytes) add(RLIMIT_FSIZE, *limits.file_size_bytes);
  // RLIMIT_NPROC counts the user's threads: a run with a user of its own starts from none.
  if (limits.process_headroom) {
    add(RLIMIT_NPROC, (own_user ? 0 : proc::threads_of(::getuid())) + *limits.process_headroom);
  }
  if (!limits.core_dumps) add(RLIMIT_CORE, 0);
  return out;
}

[[noreturn]] void child_fail(int error_fd, int err, int step = kExec) {
  const int message[2] = {err, step};
  [[maybe_unused]] auto n = ::write(error_fd, message, sizeof message);
  ::_exit(127);
}

bool write_zero(int fd) { return ::write(fd, "0\n", 2) == 2; }

// In a new mount namespace: the run's own /tmp, and the course tree read-only. Between fork
// and exec: system calls only. Bind sources must be paths in this namespace (a descriptor opened
// before unshare names a mount of the old one), so the tree is first stashed inside the run's
// directory, which stays reachable as /tmp/.course-tree however the tree's path gets hidden.
bool write_proc_file(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The namespaces besides the mounts': a PID namespace (entered by the next fork); IPC and UTS
// namespaces, so no System V or POSIX IPC object outlives the run or reaches another; and a
// network namespace with its own loopback, so a test reaches no other test's servers (a
// rendezvous another test could complete) and no service of the machine.
constexpr int kRunNamespaces = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;

// A new network namespace has a loopback interface that is down: bring it up (127.0.0.1, ::1).
bool bring_up_loopback() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq request{};
  std::memcpy(request.ifr_name, "lo", 3);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
  ok = ok && ::ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  ::close(fd);
  return ok;
}

bool enter_user_namespace(const ChildPlan& plan) {
  return ::unshare(CLONE_NEWUSER | kRunNamespaces) == 0 &&
         write_proc_file("/proc/self/setgroups", "deny") &&
         write_proc_file("/proc/self/uid_map", plan.uid_map) &&
         write_proc_file("/proc/self/gid_map", plan.gid_map);
}

// Every other mount of the machine becomes read-only in this namespace (the run's own binds
// were made first: a bind of a read-only mount would be read-only too). A mount that refuses is
// left as it is: the hostile corpus checks that no place the run can write survives it.
void make_machine_read_only(const ChildPlan& plan) {
  for (const auto& mount : plan.read_only_mounts) {
    ::mount(nullptr, mount.path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | mount.flags,
            nullptr);
  }
}

bool enter_private_mounts(const ChildPlan& plan) {
  if (plan.user_namespace && !enter_user_namespace(plan)) return false;
  if (::unshare(plan.user_namespace ? CLONE_NEWNS : CLONE_NEWNS | kRunNamespaces) != 0)
    return false;
  if (!bring_up_loopback()) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  const bool has_tree = !plan.tree.empty();
  if (has_tree) {
    if (::mkdir(plan.tree_stash.c_str(), 0700) != 0) return false;
    if (::mount(plan.tree.c_str(), plan.tree_stash.c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
        0)
      return false;
  }
  for (const auto& dir : plan.tmp_mounts) {  // /var/tmp and /dev/shm: the directory alone
    if (::mount(plan.private_tmp.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return false;
  }
  if (!plan.cover.empty() && ::mount("tmpfs", plan.cover.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                                     "mode=0755,size=1m") != 0) {
    return false;
  }
  // /tmp last (its own path may be under /tmp), with the stash in it.
  if (::mount(plan.private_tmp.c_str(), "/tmp", nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return false;
  if (!has_tree) {
    make_machine_read_only(plan);
    return true;
  }
  // A tmpfs (the cover, or the private /tmp when the course lives in /tmp) may hide the path.
  for (const auto& dir : plan.tree_dirs) ::mkdir(dir.c_str(), 0755);
  if (::mount(kTreeStashInTmp, plan.tree.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return false;
  ::umount2(kTreeStashInTmp, MNT_DETACH);
  ::rmdir(kTreeStashInTmp);
  // The flags the tree's mount already has must be kept: in a user namespace they are locked.
  if (::mount(nullptr, plan.tree.c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | plan.tree_flags,
              nullptr) != 0) {
    return false;
  }
  for (const auto& file : plan.writable) {
    if (::mount(file.c_str(), file.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, file.c_str(), nullptr,
                MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | plan.tree_flags, nullptr) != 0) {
      return false;
    }
  }
  make_machine_read_only(plan);
  return true;
}

// After unshare(CLONE_NEWPID) the next child is pid 1 of the new namespace: nothing in it can see
// or signal a process outside, and when pid 1 ends the kernel ends everything in it, however it
// left its process group. Pid 1 (an init that runs no code of the test) forks the test and
// returns there; this process, the grader's child, and the init wait, and this one then ends the
// way the test ended, so the grader sees the test's own exit code or signal.
void enter_pid_namespace(const ChildPlan& plan) {
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) child_fail(plan.error_fd, errno, 1);
  const pid_t init = ::fork();
  if (init < 0) child_fail(plan.error_fd, errno, 1);
  if (init == 0) {
    ::close(status_pipe[0]);
    // Pid 1 of the namespace: its /proc shows the namespace alone. Its memory is a copy of the
    // grader's (other runs' secrets included), so it is made non-dumpable: its /proc/1/mem and
    // environ are then closed to the test, which has no capability left after its exec.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      child_fail(plan.error_fd, errno, kProc);
    const pid_t test = ::fork();
    if (test < 0) child_fail(plan.error_fd, errno, 1);
    if (test == 0) {
      ::close(status_pipe[1]);
      return;  // the test: on to exec
    }
    // Only the test's copy of the error pipe may stay open: the grader reads it until exec.
    ::close(plan.error_fd);
    ::close(plan.output_fd);
    int test_status = 0;
    for (;;) {  // as init, reap every orphan until the test itself has ended
      int status = 0;
      const pid_t ended = ::waitpid(-1, &status, 0);
      if (ended == test) {
        test_status = status;
        break;
      }
      if (ended < 0 && errno != EINTR) break;
    }
    [[maybe_unused]] auto n = ::write(status_pipe[1], &test_status, sizeof test_status);
    ::_exit(0);
  }
  ::close(status_pipe[1]);
  ::close(plan.error_fd);
  ::close(plan.output_fd);
  int test_status = 0;
  const bool reported =
      ::read(status_pipe[0], &test_status, sizeof test_status) == sizeof test_status;
  while (::waitpid(init, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (!reported) ::_exit(127);
  if (WIFSIGNALED(test_status)) {
    const int signal_number = WTERMSIG(test_status);
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
  }
  ::_exit(WIFEXITED(test_status) ? WEXITSTATUS(test_status) : 127);
}

bool become_user(uid_t uid) {
  const auto gid = static_cast<gid_t>(uid);
  return ::setgroups(0, nullptr) == 0 && ::setresgid(gid, gid, gid) == 0 &&
         ::setresuid(uid, uid, uid) == 0 && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
}

// dup2 to a fixed number; the copy is not close-on-exec (dup2 onto itself would keep the flag).
bool move_fd(int from, int to) {
  if (from == to) return ::fcntl(to, F_SETFD, 0) == 0;
  return ::dup2(from, to) == to;
}

// Every ancestor of `path`, from the top: /a, /a/b, /a/b/c.
std::vector<std::string> ancestors_of(const fs::path& path) {
  std::vector<std::string> out;
  fs::path current = "/";
  for (const auto& part : path.parent_path()) {
    if (part == "/" || part.empty()) continue;
    current /= part;
    out.push_back(current.string());
  }
  return out;
}

// Is `path` `dir` or inside it?
bool is_within(const std::string& path, const std::string& dir) {
  if (dir.empty()) return false;
  if (dir == "/") return true;
  return path.rfind(dir, 0) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

// The machine's mounts, less those the run replaces with its own (its /tmp, /var/tmp, /dev/shm,
// the cover, the course tree, and /proc, which its PID namespace mounts anew).
std::vector<MountPoint> mounts_to_make_read_only(const ChildPlan& plan) {
  std::vector<std::string> own = plan.tmp_mounts;
  own.insert(own.end(), {"/tmp", "/proc", plan.cover, plan.tree});
  std::vector<MountPoint> out;
  for (const auto& mount : machine_mounts()) {
    const bool replaced = std::any_of(own.begin(), own.end(), [&](const std::string& dir) {
      return dir != "/" && is_within(mount.path, dir);
    });
    if (!replaced) out.push_back(mount);
  }
  return out;
}

}  // namespace

const char* describe_step(int step) {
  switch (step) {
    case kJoinCgroup:
      return "joining its cgroup";
    case kPrivateMounts:
      return "making its private /tmp and read-only course tree";
    case kChdir:
      return "entering its working directory";
    case kLimits:
      return "setting its resource limits";
    case kSwitchUser:
      return "switching to the sandbox's user";
    case kRedirect:
      return "redirecting its output";
    case kChannel:
      return "passing its result channel";
    case kSyscallFilter:
      return "installing its system-call filter";
    case kProc:
      return "mounting the /proc of its PID namespace";
    default:
      return "starting it";
  }
}

ChildPlan plan_child(const ProcessSpec& spec, const std::string& path) {
  ChildPlan plan;
  plan.path = path;
  plan.argv_storage = spec.argv;
  if (spec.env) {
    plan.env_storage = *spec.env;
  } else {
    for (char** e = environ; *e != nullptr; ++e) plan.env_storage.emplace_back(*e);
  }
  if (spec.channel_secret) {
    plan.env_storage.push_back("COURSE_GRADER_CHANNEL=" + std::to_string(kChannelSecretFd) + "," +
                               std::to_string(kChannelReportFd));
  }
  plan.argv = pointers_to(plan.argv_storage);
  plan.envp = pointers_to(plan.env_storage);
  plan.cwd = spec.cwd.string();
  plan.limits = rlimits_for(spec.limits, spec.isolation.uid.has_value());
  const auto& iso = spec.isolation;
  if (iso.cgroup != nullptr) plan.cgroup_procs_fds = iso.cgroup->procs_fds();
  if (iso.uid) {
    plan.switch_user = true;
    plan.uid = *iso.uid;
  }
  if (!iso.private_tmp.empty()) {
    plan.new_mount_namespace = true;
    plan.user_namespace = iso.user_namespace;
    plan.uid_map = std::to_string(::getuid()) + " " + std::to_string(::getuid()) + " 1\n";
    plan.gid_map = std::to_string(::getgid()) + " " + std::to_string(::getgid()) + " 1\n";
    plan.private_tmp = iso.private_tmp.string();
    plan.tree_stash = plan.private_tmp + "/.course-tree";
    for (const char* dir : {"/var/tmp", "/dev/shm"}) {
      if (fs::is_directory(dir)) plan.tmp_mounts.emplace_back(dir);
    }
    if (iso.cover) plan.cover = iso.cover->string();
    if (!iso.read_only.empty()) {
      plan.tree = fs::absolute(iso.read_only.front()).lexically_normal().string();
      while (plan.tree.size() > 1 && plan.tree.back() == '/') plan.tree.pop_back();
      plan.tree_dirs = ancestors_of(plan.tree);
      plan.tree_dirs.push_back(plan.tree);  // the mount point itself
      struct statvfs vfs {};
      if (::statvfs(plan.tree.c_str(), &vfs) == 0) {
        if ((vfs.f_flag & ST_NOEXEC) != 0) plan.tree_flags |= MS_NOEXEC;
        if ((vfs.f_flag & ST_NOATIME) != 0) plan.tree_flags |= MS_NOATIME;
        if ((vfs.f_flag & ST_NODIRATIME) != 0) plan.tree_flags |= MS_NODIRATIME;
        if ((vfs.f_flag & ST_RELATIME) != 0) plan.tree_flags |= MS_RELATIME;
      }
    }
    if (iso.read_only_root) plan.read_only_mounts = mounts_to_make_read_only(plan);
    for (const auto& file : iso.writable) plan.writable.push_back(fs::absolute(file).string());
  }
  plan.no_aslr = iso.no_aslr;
  return plan;
}

[[noreturn]] void exec_child(const ChildPlan& plan) {
  // The cgroup first, so that everything the run does is counted and ended with it.
  for (const int fd : plan.cgroup_procs_fds) {
    if (!write_zero(fd)) child_fail(plan.error_fd, errno, kJoinCgroup);
  }
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  if (plan.new_mount_namespace && !enter_private_mounts(plan)) {
    child_fail(plan.error_fd, errno, kPrivateMounts);
  }
  if (!plan.cwd.empty() && ::chdir(plan.cwd.c_str()) != 0) {
    child_fail(plan.error_fd, errno, kChdir);
  }
  for (const auto& [resource, value] : plan.limits) {
    if (::setrlimit(resource, &value) != 0) child_fail(plan.error_fd, errno, kLimits);
  }
  if (plan.new_mount_namespace) {
    enter_pid_namespace(plan);  // returns in the test's process only
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(plan.error_fd, errno, kLimits);
  }
  if (plan.switch_user && !become_user(plan.uid)) child_fail(plan.error_fd, errno, kSwitchUser);
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.output_fd, STDERR_FILENO) < 0) {
    child_fail(plan.error_fd, errno, kRedirect);
  }
#ifdef SYS_close_range
  // Nothing the grader opened may reach the test; CLOEXEC keeps error_fd
  // usable until execve succeeds.
  ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
  if (plan.secret_fd >= 0 &&
      (!move_fd(plan.secret_fd, kChannelSecretFd) || !move_fd(plan.report_fd, kChannelReportFd))) {
    child_fail(plan.error_fd, errno, kChannel);
  }
  if (plan.no_aslr) {
    ::personality(static_cast<unsigned long>(::personality(0xffffffff)) | ADDR_NO_RANDOMIZE);
  }
  if (!plan.syscall_filter.empty()) {
    sock_fprog program{static_cast<unsigned short>(plan.syscall_filter.size()),
                       const_cast<sock_filter*>(plan.syscall_filter.data())};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
      child_fail(plan.error_fd, errno, kSyscallFilter);
    }
  }
  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  child_fail(plan.error_fd, errno);
}

}  // namespace grader
