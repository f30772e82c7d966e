#include "running/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
#include "running/child.hpp"
#include "running/proc.hpp"
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
  const pid_t self = ::getpid();
  std::vector<pid_t> zombies;
  for (const auto& process : proc::processes()) {
    if (process.zombie() && process.parent == self) zombies.push_back(process.pid);
  }
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

void reap_adopted_zombies() { reap_zombie_orphans(); }

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

namespace {

// Every pipe of one run: its output (stdout and stderr), the start-up error pipe (exec_child
// writes {errno, step} there when a step fails; exec closes it) and, when asked for, the result
// channel's secret and report pipes.
struct RunPipes {
  Pipe output = make_pipe();
  Pipe errors = make_pipe();
  Fd null_in{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  std::optional<Pipe> secret;
  std::optional<Pipe> report;

  // The result channel: the secret waits in its pipe, which the child reads before any code of
  // the submission runs (common/src/test_main.cpp).
  void open_channel(const std::string& text) {
    secret = make_high_pipe();
    report = make_high_pipe();
    if (::write(secret->write.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw GraderError(std::string("cannot pass the channel secret: ") + std::strerror(errno));
    secret->write.reset();
  }

  // The child's ends, given to its plan.
  void hand_to(ChildPlan& plan) const {
    plan.stdin_fd = null_in.get();
    plan.output_fd = output.write.get();
    plan.error_fd = errors.write.get();
    if (secret) {
      plan.secret_fd = secret->read.get();
      plan.report_fd = report->write.get();
    }
  }

  // After fork: the grader keeps the read ends alone, so that EOF means the child closed its own.
  void close_child_ends() {
    output.write.reset();
    errors.write.reset();
    null_in.reset();
    if (secret) secret->read.reset();
    if (report) {
      report->write.reset();
      ::fcntl(report->read.get(), F_SETFL, ::fcntl(report->read.get(), F_GETFL) | O_NONBLOCK);
    }
  }
};

// Forks the child of `plan`. It is registered under the lock, so the reaper of adopted orphans
// never takes its status; -1 when fork failed.
pid_t fork_child(const ChildPlan& plan) {
  const std::lock_guard lock(g_children_mutex);
  const pid_t child = ::fork();
  if (child == 0) exec_child(plan);
  if (child > 0) g_direct_children.push_back(child);
  return child;
}

// Ends what is left of the run (its cgroup, then its process group) and reaps all of it;
// returns the child's wait status. Kill before reaping: while the child is an unreaped zombie its
// pid, and so the group id, cannot be reused by an unrelated process.
int end_and_reap(pid_t child, RunCgroup* cgroup) {
  std::vector<pid_t> killed;
  if (cgroup != nullptr) killed = cgroup->kill_all();
  const int status = kill_and_reap_group(child, false, 0);
  track_child(child, false);
  std::erase(killed, child);
  reap_orphans(std::move(killed));
  reap_zombie_orphans();
  return status;
}

// Watches a started child until it exits or the grader ends the run: collects its output and
// its result channel as they come, and enforces the deadline, the caps, the cgroup's limits and
// Ctrl-C.
class Watch {
 public:
  Watch(const ProcessSpec& spec, pid_t child, RunPipes& pipes, ProcessResult& result,
        Clock::time_point start)
      : spec_(spec),
        child_(child),
        pipes_(pipes),
        result_(result),
        cgroup_(spec.isolation.cgroup),
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, child, 0))),
        watch_group_(spec.limits.max_group_processes.has_value() || cgroup_ != nullptr),
        watch_interval_(cgroup_ != nullptr ? kCgroupWatchIntervalMs : kWatchIntervalMs),
        next_watch_(start + watch_interval_),
        report_eof_(!pipes.report.has_value()) {
    ::fcntl(pipes_.output.read.get(), F_SETFL,
            ::fcntl(pipes_.output.read.get(), F_GETFL) | O_NONBLOCK);
    if (spec.limits.wall_timeout_s) {
      deadline_ = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(*spec.limits.wall_timeout_s));
    }
  }

  // The ending the grader forced, or nullopt once the child has exited by itself.
  std::optional<Ending> until_exit() {
    for (;;) {
      const auto ready = poll_once();
      if (ready.report && !drain_report()) return Ending::output_limit;
      if (ready.output && read_output()) return Ending::output_limit;
      if (ready.failed || ready.exited || exited_without_pidfd()) return std::nullopt;
      if (const auto forced = check(Clock::now())) return forced;
    }
  }

  // After the run has been ended and reaped: what is left in the pipes, and whether it broke a cap.
  std::optional<Ending> drain_after_exit() {
    if (!drain_report()) return Ending::output_limit;
    if (!output_eof_ && read_output()) return Ending::output_limit;
    return std::nullopt;
  }

 private:
  struct Ready {
    bool report = false;
    bool output = false;
    bool exited = false;
    bool failed = false;  // poll itself failed: the run is ended as if the child had exited
  };

  // One poll on the pipes, the pidfd and Ctrl-C, until the next thing to check.
  Ready poll_once() {
    pollfd fds[4];
    nfds_t count = 0;
    auto add = [&](bool wanted, int fd) {
      if (!wanted) return -1;
      fds[count] = {fd, POLLIN, 0};
      return static_cast<int>(count++);
    };
    const int report = add(!report_eof_, report_eof_ ? -1 : pipes_.report->read.get());
    const int output = add(!output_eof_, pipes_.output.read.get());
    const int pid = add(pidfd_.get() >= 0, pidfd_.get());
    add(interrupt_fd() >= 0 && !interrupt_deadline_, interrupt_fd());
    Ready ready;
    if (::poll(fds, count, timeout_ms()) < 0 && errno != EINTR) {
      ready.failed = true;
      return ready;
    }
    auto has = [&](int index, short events) {
      return index >= 0 && (fds[index].revents & events) != 0;
    };
    ready.report = has(report, POLLIN | POLLHUP | POLLERR);
    ready.output = has(output, POLLIN | POLLHUP | POLLERR);
    ready.exited = has(pid, POLLIN);
    return ready;
  }

  // Until the nearest of the deadline, the next look at the group, and the end of Ctrl-C's grace.
  [[nodiscard]] int timeout_ms() const {
    int timeout = -1;
    auto consider = [&](Clock::time_point t) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
      const int clamped = static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
      timeout = timeout < 0 ? clamped : std::min(timeout, clamped);
    };
    if (deadline_) consider(*deadline_);
    if (watch_group_) consider(next_watch_);
    if (interrupt_deadline_) consider(*interrupt_deadline_);
    if (pidfd_.get() < 0 || output_eof_) consider(Clock::now() + std::chrono::milliseconds(50));
    return timeout;
  }

  // Without a pidfd (old kernels), or once the output pipe is closed, the exit is polled for.
  bool exited_without_pidfd() const {
    if (pidfd_.get() >= 0 && !output_eof_) return false;
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(child_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == child_;
  }

  // Reads what the child has written to the result channel; false when it wrote too much.
  bool drain_report() {
    if (report_eof_) return true;
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(pipes_.report->read.get(), buf, sizeof buf);
      if (n > 0) {
        if (result_.report.size() + static_cast<std::size_t>(n) > spec_.report_cap_bytes)
          return false;
        result_.report.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) report_eof_ = true;
      if (n < 0 && errno == EINTR) continue;
      return true;
    }
  }

  // Reads the output there is; true when it went over the cap.
  bool read_output() {
    bool over_cap = false;
    read_available(pipes_.output.read.get(), result_.output, spec_, output_eof_, over_cap);
    return over_cap;
  }

  // Ctrl-C, the deadline and the group's limits, in that order.
  std::optional<Ending> check(Clock::time_point now) {
    if (interrupted() && !interrupt_deadline_) {
      kill_group(child_, spec_.interrupt_signal);
      interrupt_deadline_ = now + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(kInterruptGraceSeconds));
    }
    if (interrupt_deadline_ && now >= *interrupt_deadline_) return Ending::interrupted;
    if (deadline_ && now >= *deadline_) return Ending::timed_out;
    if (!watch_group_ || now < next_watch_) return std::nullopt;
    next_watch_ = now + watch_interval_;
    return group_over_limits();
  }

  std::optional<Ending> group_over_limits() const {
    const auto max_processes = spec_.limits.max_group_processes;
    if (cgroup_ == nullptr) {
      if (proc::count_in_group(child_) > *max_processes) return Ending::process_limit;
      return std::nullopt;
    }
    // The cgroup holds every process of the run, also those that left its process group.
    if (cgroup_->memory_limit_hit()) return Ending::memory_limit;
    if (cgroup_->task_limit_hit() || (max_processes && cgroup_->process_count() > *max_processes)) {
      return Ending::process_limit;
    }
    return std::nullopt;
  }

  const ProcessSpec& spec_;
  pid_t child_;
  RunPipes& pipes_;
  ProcessResult& result_;
  RunCgroup* cgroup_;
  Fd pidfd_;
  bool watch_group_;
  std::chrono::milliseconds watch_interval_;
  Clock::time_point next_watch_;
  std::optional<Clock::time_point> deadline_;
  std::optional<Clock::time_point> interrupt_deadline_;
  bool report_eof_;
  bool output_eof_ = false;
};

// How the run ended, from what the grader forced and the child's wait status.
void record_ending(ProcessResult& result, std::optional<Ending> forced, int status) {
  if (interrupted()) {
    result.ending = Ending::interrupted;
  } else if (forced) {
    result.ending = *forced;
  } else if (WIFEXITED(status)) {
    result.ending = Ending::exited;
  } else if (WIFSIGNALED(status)) {
    result.ending = Ending::signaled;
  }
  if (result.ending == Ending::exited || result.ending == Ending::signaled) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
}

// A start that failed in the child before its exec: what it was doing and why.
bool failed_to_start(const ProcessSpec& spec, RunPipes& pipes, ProcessResult& result) {
  int failure[2] = {0, kExec};  // errno, ChildStep
  if (::read(pipes.errors.read.get(), failure, sizeof failure) !=
      static_cast<ssize_t>(sizeof failure)) {
    return false;  // exec closed the pipe: the command runs
  }
  result.ending = Ending::spawn_failed;
  result.error = "cannot run " + spec.argv.front() + ": " +
                 (failure[1] == kExec ? "" : std::string(describe_step(failure[1])) + ": ") +
                 std::strerror(failure[0]);
  return true;
}

}  // namespace

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

  RunPipes pipes;
  if (spec.channel_secret) pipes.open_channel(*spec.channel_secret);
  ChildPlan plan = plan_child(spec, path->string());
  // The filter lets exactly this exec through: the address of the path the child passes.
  if (spec.isolation.syscalls) {
    plan.syscall_filter = build_syscall_filter(*spec.isolation.syscalls,
                                               reinterpret_cast<std::uintptr_t>(plan.path.c_str()));
  }
  pipes.hand_to(plan);

  const pid_t child = fork_child(plan);
  if (child < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  // Set the group from both sides so that kill(-child) works even before the child has run its
  // own setpgid.
  ::setpgid(child, child);
  result.pgid = child;
  pipes.close_child_ends();
  RunCgroup* const cgroup = spec.isolation.cgroup;

  if (failed_to_start(spec, pipes, result)) {
    end_and_reap(child, cgroup);
    result.seconds = seconds_since(start);
    return result;
  }
  Watch watch(spec, child, pipes, result, start);
  auto forced = watch.until_exit();
  const int status = end_and_reap(child, cgroup);
  if (!forced) forced = watch.drain_after_exit();
  // The kernel's OOM killer ends a process with SIGKILL: say it was the memory cap.
  if (!forced && cgroup != nullptr && cgroup->memory_limit_hit()) forced = Ending::memory_limit;
  result.seconds = seconds_since(start);
  record_ending(result, forced, status);
  return result;
}

}  // namespace grader
