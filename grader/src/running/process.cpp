#include "running/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>

#include "course/util.hpp"
#include "running/sandbox.hpp"
#include "running/syscall_filter.hpp"

namespace grader {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWatchIntervalMs = 100;
// A cgroup's counters are a few small files: read often, a fork bomb is stopped before it has
// made many processes, and tearing those down is what takes time.
constexpr int kCgroupWatchIntervalMs = 10;
constexpr double kInterruptGraceSeconds = 5.0;

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  int fds[2];
  // O_CLOEXEC: a pipe must never leak into a child forked concurrently by
  // another job, or that child would hold it open and delay our EOF.
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw GraderError(std::string("pipe2: ") + std::strerror(errno));
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// The direct children of the runs in progress: their status belongs to run_process, so the
// reaper of adopted orphans below must leave them alone.
std::mutex g_children_mutex;
std::vector<pid_t> g_direct_children;

void track_child(pid_t pid, bool add) {
  const std::lock_guard lock(g_children_mutex);
  if (add) {
    g_direct_children.push_back(pid);
  } else {
    std::erase(g_direct_children, pid);
  }
}

// As a child subreaper the grader adopts every orphan of a run: a test's child that exited while
// the test still ran, a daemon's intermediate process. Those that are zombies now are reaped,
// so none is left for init when the grader exits.
void reap_zombie_orphans() {
  const auto self = std::to_string(::getpid());
  std::vector<pid_t> zombies;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const auto path = std::string("/proc/") + entry->d_name + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    const std::string_view text(buf, static_cast<std::size_t>(n));
    const auto close_paren = text.rfind(')');
    // ") Z <ppid> ..."
    if (close_paren == std::string_view::npos || close_paren + 4 >= text.size() ||
        text[close_paren + 2] != 'Z') {
      continue;
    }
    const auto ppid =
        text.substr(close_paren + 4, text.find(' ', close_paren + 4) - close_paren - 4);
    if (ppid == self)
      zombies.push_back(static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10)));
  }
  ::closedir(dir);
  const std::lock_guard lock(g_children_mutex);
  for (const pid_t pid : zombies) {
    if (std::find(g_direct_children.begin(), g_direct_children.end(), pid) !=
        g_direct_children.end()) {
      continue;
    }
    int status = 0;
    ::waitpid(pid, &status, WNOHANG);
  }
}

void become_subreaper_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1); });
}

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
  // Isolation (see Isolation in process.hpp).
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
    add(RLIMIT_NPROC, (own_user ? 0 : count_user_threads()) + *limits.process_headroom);
  }
  if (!limits.core_dumps) add(RLIMIT_CORE, 0);
  return out;
}

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

// Runs in the child between fork and exec: async-signal-safe calls only.
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

void kill_group(pid_t pgid, int signal) {
  if (pgid > 0) ::kill(-pgid, signal);
}

// Kills what is left of the group and reaps every member (the subreaper makes
// orphaned grandchildren ours). Returns the direct child's wait status.
int kill_and_reap_group(pid_t child, bool child_reaped, int child_status) {
  int status = child_status;
  for (;;) {
    kill_group(child, SIGKILL);  // again each round: a fork may have raced the last kill
    int st = 0;
    const pid_t pid = ::waitpid(-child, &st, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing of the group is left
    }
    if (pid == child && !child_reaped) {
      status = st;
      child_reaped = true;
    }
  }
  if (!child_reaped) {
    // Not in the group any more (it changed its own group): reap it by pid.
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return status;
}

bool read_available(int fd, std::string& out, const ProcessSpec& spec, bool& eof, bool& over_cap) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      std::string_view chunk(buf, static_cast<std::size_t>(n));
      if (spec.on_output) spec.on_output(chunk);
      const auto cap = spec.limits.output_cap_bytes;
      if (cap && out.size() + chunk.size() > *cap) {
        out.append(chunk.substr(0, *cap - out.size()));
        over_cap = true;
        return true;
      }
      out.append(chunk);
      continue;
    }
    if (n == 0) {
      eof = true;
      return true;
    }
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Pipes for the result channel, numbered from 200 so that moving them to 100 and 101 in the
// child can never overwrite one with the other.
Pipe make_high_pipe() {
  Pipe p = make_pipe();
  auto raise = [](Fd& fd) {
    const int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 200);
    if (high < 0) throw GraderError(std::string("fcntl: ") + std::strerror(errno));
    fd = Fd(high);
  };
  raise(p.read);
  raise(p.write);
  return p;
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

}  // namespace

std::optional<std::filesystem::path> find_executable(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    if (::access(std::string(name).c_str(), X_OK) == 0) return std::filesystem::path(name);
    return std::nullopt;
  }
  const auto path_var = get_env("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  std::size_t start = 0;
  while (start <= path_var.size()) {
    auto end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const auto candidate = std::filesystem::path(dir) / std::string(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

namespace {

// Reads /proc/<pid>/stat fields after the command name, which may itself
// contain spaces and parentheses.
std::optional<std::vector<std::string>> proc_stat_fields(const char* pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<std::size_t>(n));
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos) return std::nullopt;
  std::vector<std::string> fields;
  std::size_t pos = close_paren + 1;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    const auto end = std::min(text.find(' ', pos), text.size());
    if (end > pos) fields.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return fields;  // fields[0] = state, [1] = ppid, [2] = pgrp, ... [17] = num_threads
}

template <typename Visit>
void for_each_process(Visit visit) {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    visit(entry->d_name);
  }
  ::closedir(dir);
}

}  // namespace

void reap_adopted_zombies() { reap_zombie_orphans(); }

bool is_zombie(pid_t pid) {
  const auto fields = proc_stat_fields(std::to_string(pid).c_str());
  return fields && !fields->empty() && (*fields)[0] == "Z";
}

int count_group_processes(pid_t pgid) {
  int count = 0;
  const auto wanted = std::to_string(pgid);
  for_each_process([&](const char* pid) {
    const auto fields = proc_stat_fields(pid);
    if (fields && fields->size() > 2 && (*fields)[2] == wanted) ++count;
  });
  return count;
}

std::uint64_t count_user_threads() {
  const uid_t uid = ::getuid();
  std::uint64_t threads = 0;
  for_each_process([&](const char* pid) {
    struct stat st {};
    const auto dir = std::string("/proc/") + pid;
    if (::stat(dir.c_str(), &st) != 0 || st.st_uid != uid) return;
    const auto fields = proc_stat_fields(pid);
    if (fields && fields->size() > 17) threads += std::strtoull((*fields)[17].c_str(), nullptr, 10);
  });
  return threads;
}

std::vector<std::string> environment_with(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(overrides.begin(), overrides.end(),
                                      [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) env.push_back(name + "=" + value);
  return env;
}

std::string describe_signal(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV (segmentation fault: an invalid memory access)";
    case SIGABRT:
      return "SIGABRT (aborted: a failed assert or std::terminate)";
    case SIGFPE:
      return "SIGFPE (arithmetic error, such as an integer division by zero)";
    case SIGBUS:
      return "SIGBUS (bus error: an invalid memory access)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGKILL:
      return "SIGKILL (killed)";
    case SIGTERM:
      return "SIGTERM (terminated)";
    case SIGPIPE:
      return "SIGPIPE (wrote to a closed pipe or socket)";
    case SIGXCPU:
      return "SIGXCPU (CPU time limit exceeded)";
    case SIGXFSZ:
      return "SIGXFSZ (file size limit exceeded)";
    default:
      break;
  }
  const char* name = ::sigabbrev_np(signal);
  return name != nullptr ? std::string("SIG") + name : "signal " + std::to_string(signal);
}

ProcessResult run_process(const ProcessSpec& spec) {
  ProcessResult result;
  const auto start = Clock::now();
  if (spec.argv.empty()) {
    result.error = "no command";
    return result;
  }
  const auto path = find_executable(spec.argv.front());
  if (!path) {
    result.error = "command not found: " + spec.argv.front();
    return result;
  }
  become_subreaper_once();

  Pipe output = make_pipe();
  Pipe errors = make_pipe();
  Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ChildPlan plan = plan_child(spec, path->string());
  // The filter lets exactly this exec through: the address of the path the child passes.
  if (spec.isolation.syscalls) {
    plan.syscall_filter = build_syscall_filter(*spec.isolation.syscalls,
                                               reinterpret_cast<std::uintptr_t>(plan.path.c_str()));
  }
  plan.stdin_fd = null_in.get();
  plan.output_fd = output.write.get();
  plan.error_fd = errors.write.get();

  // The result channel: the secret waits in its pipe, which the child reads before any code
  // of the submission runs (common/src/test_main.cpp).
  std::optional<Pipe> secret;
  std::optional<Pipe> report;
  if (spec.channel_secret) {
    secret = make_high_pipe();
    report = make_high_pipe();
    const auto& text = *spec.channel_secret;
    if (::write(secret->write.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw GraderError(std::string("cannot pass the channel secret: ") + std::strerror(errno));
    secret->write.reset();
    plan.secret_fd = secret->read.get();
    plan.report_fd = report->write.get();
  }

  pid_t child = -1;
  {
    // Registered under the lock, so the reaper of adopted orphans never takes its status.
    const std::lock_guard lock(g_children_mutex);
    child = ::fork();
    if (child == 0) exec_child(plan);
    if (child > 0) g_direct_children.push_back(child);
  }
  if (child < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    return result;
  }

  // Set the group from both sides so that kill(-child) works even before the
  // child has run its own setpgid.
  ::setpgid(child, child);
  result.pgid = child;
  output.write.reset();
  errors.write.reset();
  null_in.reset();
  if (secret) secret->read.reset();
  if (report) {
    report->write.reset();
    ::fcntl(report->read.get(), F_SETFL, ::fcntl(report->read.get(), F_GETFL) | O_NONBLOCK);
  }
  RunCgroup* const cgroup = spec.isolation.cgroup;

  int failure[2] = {0, kExec};  // errno, ChildStep
  if (::read(errors.read.get(), failure, sizeof failure) == static_cast<ssize_t>(sizeof failure)) {
    if (cgroup != nullptr) cgroup->kill_all();
    kill_and_reap_group(child, false, 0);
    track_child(child, false);
    result.ending = Ending::spawn_failed;
    result.error = "cannot run " + spec.argv.front() + ": " +
                   (failure[1] == kExec ? "" : std::string(describe_step(failure[1])) + ": ") +
                   std::strerror(failure[0]);
    result.seconds = seconds_since(start);
    return result;
  }

  ::fcntl(output.read.get(), F_SETFL, ::fcntl(output.read.get(), F_GETFL) | O_NONBLOCK);
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));

  const bool watch_group = spec.limits.max_group_processes.has_value() || cgroup != nullptr;
  bool report_eof = !report.has_value();
  // Reads what the child has written to the result channel; false when it wrote too much.
  auto drain_report = [&] {
    if (report_eof) return true;
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(report->read.get(), buf, sizeof buf);
      if (n > 0) {
        if (result.report.size() + static_cast<std::size_t>(n) > spec.report_cap_bytes)
          return false;
        result.report.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) report_eof = true;
      if (n < 0 && errno == EINTR) continue;
      return true;
    }
  };
  std::optional<Clock::time_point> deadline;
  if (spec.limits.wall_timeout_s) {
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(*spec.limits.wall_timeout_s));
  }
  const auto watch_interval =
      std::chrono::milliseconds(cgroup != nullptr ? kCgroupWatchIntervalMs : kWatchIntervalMs);
  auto next_watch = start + watch_interval;
  std::optional<Clock::time_point> interrupt_deadline;

  bool eof = false;
  bool child_exited = false;
  int status = 0;
  std::optional<Ending> forced;  // set when we end the run ourselves

  while (!child_exited) {
    int timeout_ms = -1;
    auto consider = [&](Clock::time_point t) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
      const int clamped = static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
      timeout_ms = timeout_ms < 0 ? clamped : std::min(timeout_ms, clamped);
    };
    if (deadline) consider(*deadline);
    if (watch_group) consider(next_watch);
    if (interrupt_deadline) consider(*interrupt_deadline);
    if (pidfd.get() < 0 || eof) consider(Clock::now() + std::chrono::milliseconds(50));

    pollfd fds[4];
    nfds_t nfds = 0;
    const int report_index = report_eof ? -1 : static_cast<int>(nfds);
    if (!report_eof) fds[nfds++] = {report->read.get(), POLLIN, 0};
    const int out_index = eof ? -1 : static_cast<int>(nfds);
    if (!eof) fds[nfds++] = {output.read.get(), POLLIN, 0};
    const int pid_index = pidfd.get() >= 0 ? static_cast<int>(nfds) : -1;
    if (pidfd.get() >= 0) fds[nfds++] = {pidfd.get(), POLLIN, 0};
    const int int_index = interrupt_fd() >= 0 && !interrupt_deadline ? static_cast<int>(nfds) : -1;
    if (int_index >= 0) fds[nfds++] = {interrupt_fd(), POLLIN, 0};

    const int ready = ::poll(fds, nfds, timeout_ms);
    if (ready < 0 && errno != EINTR) break;

    if (report_index >= 0 && (fds[report_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
        !drain_report()) {
      forced = Ending::output_limit;
      break;
    }
    if (out_index >= 0 && (fds[out_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      bool over_cap = false;
      read_available(output.read.get(), result.output, spec, eof, over_cap);
      if (over_cap) {
        forced = Ending::output_limit;
        break;
      }
    }
    if (pid_index >= 0 && (fds[pid_index].revents & POLLIN) != 0) child_exited = true;
    if (pidfd.get() < 0 || eof) {
      // Without a pidfd (old kernels), or once the pipe is closed, poll for the exit.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == child) {
        child_exited = true;
      }
    }
    if (child_exited) break;

    const auto now = Clock::now();
    if (interrupted() && !interrupt_deadline) {
      kill_group(child, spec.interrupt_signal);
      interrupt_deadline = now + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(kInterruptGraceSeconds));
    }
    if (interrupt_deadline && now >= *interrupt_deadline) {
      forced = Ending::interrupted;
      break;
    }
    if (deadline && now >= *deadline) {
      forced = Ending::timed_out;
      break;
    }
    if (watch_group && now >= next_watch) {
      next_watch = now + watch_interval;
      if (cgroup != nullptr) {
        // The cgroup holds every process of the run, also those that left its process group.
        if (cgroup->memory_limit_hit()) {
          forced = Ending::memory_limit;
          break;
        }
        if (cgroup->task_limit_hit() ||
            (spec.limits.max_group_processes &&
             cgroup->process_count() > *spec.limits.max_group_processes)) {
          forced = Ending::process_limit;
          break;
        }
      } else if (count_group_processes(child) > *spec.limits.max_group_processes) {
        forced = Ending::process_limit;
        break;
      }
    }
  }

  // Kill before reaping: while the child is an unreaped zombie its pid, and so
  // the group id, cannot be reused by an unrelated process.
  std::vector<pid_t> killed;
  if (cgroup != nullptr) killed = cgroup->kill_all();
  status = kill_and_reap_group(child, false, 0);
  track_child(child, false);
  std::erase(killed, child);
  reap_orphans(std::move(killed));
  reap_zombie_orphans();
  if (!forced && !drain_report()) forced = Ending::output_limit;
  // The kernel's OOM killer ends a process with SIGKILL: say it was the memory cap.
  if (!forced && cgroup != nullptr && cgroup->memory_limit_hit()) forced = Ending::memory_limit;
  if (!eof && !forced) {
    bool over_cap = false;
    read_available(output.read.get(), result.output, spec, eof, over_cap);
    if (over_cap) forced = Ending::output_limit;
  }
  result.seconds = seconds_since(start);

  if (interrupt_deadline || interrupted()) {
    result.ending = Ending::interrupted;
  } else if (forced) {
    result.ending = *forced;
  } else if (WIFEXITED(status)) {
    result.ending = Ending::exited;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.ending = Ending::signaled;
    result.signal = WTERMSIG(status);
  }
  if (result.ending == Ending::exited || result.ending == Ending::signaled) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace grader
