#include "running/sandbox.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include "course/util.hpp"
#include "running/proc.hpp"
#include "running/process.hpp"

namespace grader {

namespace {

std::atomic<bool> g_forced_basic{false};

bool write_text(const fs::path& file, std::string_view text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string read_text(const fs::path& file) { return try_read_file(file).value_or(""); }

// "max 3" in pids.events, "oom_kill 1" in memory.events or memory.oom_control.
std::uint64_t counter_in(const fs::path& file, std::string_view key) {
  std::istringstream in(read_text(file));
  std::string name;
  std::uint64_t value = 0;
  while (in >> name >> value) {
    if (name == key) return value;
  }
  return 0;
}

// The cgroup this process is in, per hierarchy: "pids" -> "/a/b"; "" -> the v2 path.
std::string own_cgroup(std::string_view controller) {
  for (const auto& line : split_lines(read_text("/proc/self/cgroup"))) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const auto controllers = line.substr(first + 1, second - first - 1);
    std::istringstream list(controllers);
    std::string c;
    if (controller.empty() && controllers.empty()) return line.substr(second + 1);
    while (std::getline(list, c, ',')) {
      if (c == controller) return line.substr(second + 1);
    }
  }
  return "/";
}

bool probe_dir(const fs::path& parent) {
  const auto probe = parent / ("course-probe-" + std::to_string(::getpid()));
  if (::mkdir(probe.c_str(), 0755) != 0) return false;
  ::rmdir(probe.c_str());
  return true;
}

const char* const kV1Controllers[] = {"pids", "memory", "freezer"};

void detect_cgroups(SandboxSupport& support) {
  if (!support.root) {
    support.notes.emplace_back("cgroups: off (they need root here)");
    return;
  }
  const fs::path unified = "/sys/fs/cgroup";
  const auto controllers = read_text(unified / "cgroup.controllers");
  if (contains(controllers, "pids") && contains(controllers, "memory")) {
    // Run cgroups go under one of our own at the top, where controllers may be enabled.
    const auto base = unified / ("course-grader-" + std::to_string(::getpid()));
    write_text(unified / "cgroup.subtree_control", "+pids +memory");
    write_text(unified / "cgroup.subtree_control", "+cpu");  // scheduling as one entity, if any
    if ((::mkdir(base.c_str(), 0755) == 0 || errno == EEXIST) &&
        write_text(base / "cgroup.subtree_control", "+pids +memory")) {
      write_text(base / "cgroup.subtree_control", "+cpu");
      // Removed when the grader exits (its run cgroups are gone by then).
      static const struct RemoveAtExit {
        fs::path dir;
        ~RemoveAtExit() { ::rmdir(dir.c_str()); }
      } remove_at_exit{base};
      support.cgroups = CgroupKind::v2;
      support.cgroup_root = base.string();
      return;
    }
    ::rmdir(base.c_str());
    support.notes.emplace_back(
        "cgroups: off (cannot create a cgroup v2 with pids and memory under " + unified.string() +
        ")");
    return;
  }
  for (const char* c : kV1Controllers) {
    const auto dir = unified / c / own_cgroup(c).substr(1);
    if (!fs::exists(unified / c / "cgroup.procs") || !probe_dir(dir)) {
      support.notes.emplace_back(std::string("cgroups: off (no writable cgroup v1 '") + c +
                                 "' controller and no cgroup v2 with pids and memory)");
      return;
    }
  }
  support.cgroups = CgroupKind::v1;
}

// In a child that has just entered a PID namespace: can its first process mount a /proc?
bool proc_mount_works() {
  const pid_t init = ::fork();
  if (init < 0) return false;
  if (init == 0) {
    ::_exit(::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 ? 0
                                                                                             : 1);
  }
  int status = 0;
  while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Can a forked root child make private mount, PID and IPC namespaces, with a tmpfs and a /proc?
bool mount_namespaces_work() {
  TempDir dir("course-probe-");
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    const bool ok =
        ::unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) == 0 &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=1m") == 0 && proc_mount_works();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Can this (non-root) process make a user namespace holding mount and PID namespaces?
bool user_namespaces_work() {
  TempDir dir("course-probe-");
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    const auto map = std::to_string(::getuid()) + " " + std::to_string(::getuid()) + " 1\n";
    const auto gmap = std::to_string(::getgid()) + " " + std::to_string(::getgid()) + " 1\n";
    const bool ok =
        ::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                  CLONE_NEWNET) == 0 &&
        write_text("/proc/self/setgroups", "deny") && write_text("/proc/self/uid_map", map) &&
        write_text("/proc/self/gid_map", gmap) &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount(dir.path().c_str(), dir.path().c_str(), nullptr, MS_BIND, nullptr) == 0 &&
        proc_mount_works();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

SandboxSupport basic(std::string why) {
  SandboxSupport support;
  support.root = ::geteuid() == 0;
  support.notes.push_back("cgroups, separate users and private /tmp: off (" + std::move(why) + ")");
  return support;
}

SandboxSupport detect() {
  if (get_env("COURSE_SANDBOX").value_or("full") == "basic") return basic("COURSE_SANDBOX=basic");
  SandboxSupport support;
  support.root = ::geteuid() == 0;
  detect_cgroups(support);
  if (support.root) {
    support.separate_users = true;
    support.mount_namespaces = mount_namespaces_work();
    if (!support.mount_namespaces) {
      support.notes.emplace_back(
          "private /tmp: off (mount, PID, IPC and network namespaces are not allowed here)");
    }
  } else {
    support.notes.emplace_back("separate user per test: off (it needs root)");
    support.user_namespaces = user_namespaces_work();
    if (!support.user_namespaces)
      support.notes.emplace_back("user namespaces: off (the system does not allow them)");
  }
  return support;
}

std::atomic<unsigned> g_run_counter{0};

}  // namespace

std::string SandboxSupport::describe() const {
  std::vector<std::string> layers;
  if (cgroups == CgroupKind::v1) layers.emplace_back("cgroup v1 (pids, memory, freezer, cpu)");
  if (cgroups == CgroupKind::v2) layers.emplace_back("cgroup v2 (pids, memory, cpu, kill)");
  if (separate_users) layers.emplace_back("a separate user per test");
  if (mount_namespaces) layers.emplace_back("private /tmp and a read-only course tree");
  if (user_namespaces) {
    layers.emplace_back(
        "a user namespace with a private /tmp, a hidden $HOME and a read-only course tree");
  }
  if (mount_namespaces || user_namespaces) {
    layers.emplace_back(
        "its own PID, IPC, UTS and network namespaces (its /proc, its loopback), the machine's "
        "other mounts read-only");
  }
  layers.emplace_back("a seccomp filter, process group, rlimits, wall clock, output cap");
  auto text = join(layers, ", ");
  if (unsandboxed(*this)) {
    text = "NOT SANDBOXED (--allow-unsandboxed): tests ran as the grader's own user, " + text;
  }
  return text;
}

const SandboxSupport& sandbox_support() {
  static const SandboxSupport forced = basic("turned off by the caller");
  if (g_forced_basic) return forced;
  static const SandboxSupport support = detect();
  return support;
}

void force_basic_sandbox(bool on) { g_forced_basic = on; }

namespace {
std::atomic<bool> g_unsandboxed_allowed{false};
}  // namespace

void allow_unsandboxed(bool on) { g_unsandboxed_allowed = on; }

bool unsandboxed(const SandboxSupport& support) {
  return !support.separate_users && !support.user_namespaces;
}

std::optional<std::string> unsandboxed_refusal() {
  const auto& support = sandbox_support();
  if (g_forced_basic || g_unsandboxed_allowed || !unsandboxed(support)) return std::nullopt;
  return "this machine gives the grader neither root (a separate user per test) nor user "
         "namespaces, so a test would run as you, able to signal the grader and write your "
         "files (" +
         join(support.notes, "; ") +
         "). Grading refuses that mode. On your own laptop, for your own feedback, add "
         "--allow-unsandboxed; an autograder never does.";
}

std::unique_ptr<RunCgroup> RunCgroup::create(const CgroupLimits& limits) {
  const auto& support = sandbox_support();
  if (support.cgroups == CgroupKind::none) return nullptr;
  std::unique_ptr<RunCgroup> group(new RunCgroup);
  group->kind_ = support.cgroups;
  const auto name =
      "course-run-" + std::to_string(::getpid()) + "-" + std::to_string(++g_run_counter);
  const auto tasks = std::to_string(limits.max_tasks);
  const auto memory = std::to_string(limits.max_memory_bytes);
  // A cgroup that cannot be made leaves the run without one (the other layers still hold), said
  // once on stderr; it never stops the grading.
  auto give_up = [&](const fs::path& where) -> std::unique_ptr<RunCgroup> {
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
      std::fprintf(stderr, "grader: cannot set up the cgroup %s (%s); tests run without one\n",
                   where.c_str(), std::strerror(errno));
    }
    return nullptr;  // the destructor removes what was made
  };
  if (group->kind_ == CgroupKind::v2) {
    const auto dir = fs::path(support.cgroup_root) / name;
    if (::mkdir(dir.c_str(), 0755) != 0) return give_up(dir);
    group->dirs_.push_back(dir);
    if (!write_text(dir / "pids.max", tasks) || !write_text(dir / "memory.max", memory)) {
      return give_up(dir);
    }
    write_text(dir / "memory.swap.max", "0");  // absent without swap accounting
  } else {
    for (const char* c : kV1Controllers) {
      const auto dir = fs::path("/sys/fs/cgroup") / c / own_cgroup(c).substr(1) / name;
      if (::mkdir(dir.c_str(), 0755) != 0) return give_up(dir);
      group->dirs_.push_back(dir);
    }
    // The cpu controller, where there is one: the run's processes, however many, are scheduled
    // as one entity, so a fork bomb cannot starve the grader thread that watches it.
    const auto cpu = fs::path("/sys/fs/cgroup/cpu") / own_cgroup("cpu").substr(1) / name;
    if (fs::exists(cpu.parent_path() / "cpu.shares") && ::mkdir(cpu.c_str(), 0755) == 0)
      group->dirs_.push_back(cpu);
    if (!write_text(group->dirs_[0] / "pids.max", tasks) ||
        !write_text(group->dirs_[1] / "memory.limit_in_bytes", memory)) {
      return give_up(group->dirs_[0]);
    }
    write_text(group->dirs_[1] / "memory.memsw.limit_in_bytes", memory);
  }
  for (const auto& dir : group->dirs_) {
    const int fd = ::open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return give_up(dir);
    group->procs_fds_.push_back(fd);
  }
  return group;
}

int RunCgroup::process_count() const {
  if (dirs_.empty()) return 0;
  return static_cast<int>(split_lines(read_text(dirs_.front() / "cgroup.procs")).size());
}

bool RunCgroup::task_limit_hit() const {
  return !dirs_.empty() && counter_in(dirs_.front() / "pids.events", "max") > 0;
}

bool RunCgroup::memory_limit_hit() const {
  if (kind_ == CgroupKind::v2) return counter_in(dirs_.front() / "memory.events", "oom_kill") > 0;
  if (dirs_.size() < 2) return false;
  return counter_in(dirs_[1] / "memory.oom_control", "oom_kill") > 0;
}

std::vector<pid_t> RunCgroup::kill_all() {
  std::vector<pid_t> killed;
  if (dirs_.empty()) return killed;
  const auto& procs_dir = kind_ == CgroupKind::v1 ? dirs_[2] : dirs_[0];  // freezer on v1
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const bool v2_kill = kind_ == CgroupKind::v2 && fs::exists(dirs_[0] / "cgroup.kill");
  while (std::chrono::steady_clock::now() < deadline) {
    auto pids = split_lines(read_text(procs_dir / "cgroup.procs"));
    if (pids.empty()) break;
    if (v2_kill) {
      write_text(dirs_[0] / "cgroup.kill", "1");
    } else {
      // Frozen, nothing in the group can fork between the listing and the kill.
      const auto freeze =
          kind_ == CgroupKind::v1 ? procs_dir / "freezer.state" : procs_dir / "cgroup.freeze";
      write_text(freeze, kind_ == CgroupKind::v1 ? "FROZEN" : "1");
      pids = split_lines(read_text(procs_dir / "cgroup.procs"));
      for (const auto& p : pids)
        ::kill(static_cast<pid_t>(std::strtol(p.c_str(), nullptr, 10)), SIGKILL);
      write_text(freeze, kind_ == CgroupKind::v1 ? "THAWED" : "0");
    }
    for (const auto& p : pids) {
      const auto pid = static_cast<pid_t>(std::strtol(p.c_str(), nullptr, 10));
      if (pid > 0 && std::find(killed.begin(), killed.end(), pid) == killed.end())
        killed.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return killed;
}

void reap_orphans(std::vector<pid_t> pids) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (!pids.empty() && std::chrono::steady_clock::now() < deadline) {
    std::erase_if(pids, [](pid_t pid) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) > 0) return true;
      // Not our child (yet): done once it has gone, or was reaped by someone else.
      return !proc::exists(pid);
    });
    if (!pids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

RunCgroup::~RunCgroup() {
  kill_all();
  for (const int fd : procs_fds_) ::close(fd);
  for (const auto& dir : dirs_) {
    // The kernel may still be tearing down the last task for a moment.
    for (int i = 0; i < 200 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

namespace {

// A live process of `uid` (zombies are over: they can do nothing).
bool user_has_processes(uid_t uid) {
  const auto all = proc::processes();
  return std::any_of(all.begin(), all.end(), [uid](const proc::Process& process) {
    return process.owner == uid && !process.zombie();
  });
}

// Ends every process of `uid`: a child that becomes that user sends SIGKILL to all it may signal,
// which is exactly that user's processes (kill(-1) spares only the sender). A run's cgroup already
// does this; without one it is what keeps a daemon from living on to meet the next test that
// gets this user id.
void end_all_processes_of(uid_t uid) {
  for (int round = 0; round < 20 && user_has_processes(uid); ++round) {
    const pid_t killer = ::fork();
    if (killer == 0) {
      const auto gid = static_cast<gid_t>(uid);
      if (::setgroups(0, nullptr) == 0 && ::setresgid(gid, gid, gid) == 0 &&
          ::setresuid(uid, uid, uid) == 0) {
        ::kill(-1, SIGKILL);
      }
      ::_exit(0);
    }
    if (killer > 0) {
      while (::waitpid(killer, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // SIGKILL takes effect async
  }
  reap_adopted_zombies();  // those whose parent had already gone are the grader's to reap
}

}  // namespace

uid_t sandbox_uid_base() {
  constexpr uid_t kDefaultBase = 1'999'990'000U;
  const auto base_text = get_env("COURSE_SANDBOX_UID_BASE");
  return base_text ? static_cast<uid_t>(std::strtoul(base_text->c_str(), nullptr, 10))
                   : kDefaultBase;
}

std::optional<UidLease> UidLease::take(UidSlots slots) {
  if (!sandbox_support().separate_users) return std::nullopt;
  const uid_t base = sandbox_uid_base();
  const auto dir = fs::temp_directory_path() / "course-grader-uids";
  ::mkdir(dir.c_str(), 0700);
  for (uid_t uid = base + slots.first; uid < base + slots.last; ++uid) {
    const auto lock = dir / (std::to_string(uid) + ".lock");
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      end_all_processes_of(uid);  // anything left by a grader that died
      return UidLease(uid, fd);
    }
    ::close(fd);
  }
  return std::nullopt;
}

UidLease::UidLease(UidLease&& other) noexcept : uid_(other.uid_), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

UidLease::~UidLease() {
  if (lock_fd_ < 0) return;  // moved from
  end_all_processes_of(uid_);
  ::close(lock_fd_);  // releases the flock
}

RunDir::RunDir(std::uint64_t max_bytes, std::optional<uid_t> owner) : owner_(owner) {
  std::string pattern = (fs::temp_directory_path() / "course-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw GraderError("cannot create a temporary directory: " + std::string(std::strerror(errno)));
  }
  path_ = pattern;
  if (sandbox_support().mount_namespaces) {
    const auto id = std::to_string(owner.value_or(0));
    const auto options =
        "size=" + std::to_string(max_bytes) + ",mode=0700,uid=" + id + ",gid=" + id;
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
  }
  if (!mounted_ && owner) {
    [[maybe_unused]] const int ignored = ::chown(path_.c_str(), *owner, *owner);
  }
}

RunDir::~RunDir() {
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(path_, ec);
}

fs::path RunDir::make_subdir(const std::string& name) const {
  auto dir = path_ / name;
  fs::create_directories(dir);
  if (owner_) {
    [[maybe_unused]] const int ignored = ::chown(dir.c_str(), *owner_, *owner_);
  }
  return dir;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \040 and the like.
std::string unescape_mount_path(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const auto digits = text.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>(std::stoi(std::string(digits), nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

unsigned long flags_of(std::string_view options) {
  unsigned long flags = 0;
  std::size_t pos = 0;
  while (pos <= options.size()) {
    auto end = options.find(',', pos);
    if (end == std::string_view::npos) end = options.size();
    const auto option = options.substr(pos, end - pos);
    if (option == "nosuid") flags |= MS_NOSUID;
    if (option == "nodev") flags |= MS_NODEV;
    if (option == "noexec") flags |= MS_NOEXEC;
    if (option == "noatime") flags |= MS_NOATIME;
    if (option == "nodiratime") flags |= MS_NODIRATIME;
    if (option == "relatime") flags |= MS_RELATIME;
    pos = end + 1;
  }
  return flags;
}

}  // namespace

const std::vector<MountPoint>& machine_mounts() {
  static const std::vector<MountPoint> mounts = [] {
    std::vector<MountPoint> out;
    const auto runs = (fs::temp_directory_path() / "course-test-").string();
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    for (const auto& line : split_lines(read_text("/proc/self/mountinfo"))) {
      std::istringstream fields(line);
      std::string id;
      std::string parent;
      std::string device;
      std::string root;
      std::string path;
      std::string options;
      if (!(fields >> id >> parent >> device >> root >> path >> options)) continue;
      MountPoint mount{unescape_mount_path(path), flags_of(options)};
      if (mount.path.rfind(runs, 0) == 0) continue;  // a run's private directory
      out.push_back(std::move(mount));
    }
    return out;
  }();
  return mounts;
}

namespace {

void add_permissions(const fs::path& path, fs::perms perms) {
  std::error_code ec;
  fs::permissions(path, perms, fs::perm_options::add | fs::perm_options::nofollow, ec);
}

// o+x on `dir` and its folders; o+r too on its files and folders when `readable`.
void open_folder(const fs::path& dir, bool readable) {
  const auto folder =
      readable ? fs::perms::others_read | fs::perms::others_exec : fs::perms::others_exec;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return;
  add_permissions(dir, folder);
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) continue;
    if (it->is_directory(ec)) {
      add_permissions(it->path(), folder);
    } else if (readable && it->is_regular_file(ec)) {
      add_permissions(it->path(), fs::perms::others_read);
    }
  }
}

}  // namespace

void let_the_sandbox_read(const fs::path& root, const fs::path& build_dir) {
  add_permissions(root, fs::perms::others_exec);
  for (const char* part : {"exercises", "common"}) open_folder(root / part, true);
  add_permissions(build_dir.parent_path(), fs::perms::others_exec);
  open_folder(build_dir, false);
  open_folder(build_dir / "submission", true);
}

std::optional<fs::path> blocking_ancestor(const fs::path& path, uid_t uid) {
  fs::path current = "/";
  for (const auto& part : fs::absolute(path).lexically_normal()) {
    if (part == "/" || part.empty()) continue;
    current /= part;
    struct stat st {};
    if (::stat(current.c_str(), &st) != 0) return std::nullopt;
    const bool searchable =
        st.st_uid == uid ? (st.st_mode & S_IXUSR) != 0 : (st.st_mode & S_IXOTH) != 0;
    if (!searchable) return current;
  }
  return std::nullopt;
}

namespace {

// Can another user run this binary? (A checkout made with umask 077 says no.)
bool others_can_run(const fs::path& binary) {
  struct stat st {};
  return ::stat(binary.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) != 0 &&
         (st.st_mode & S_IROTH) != 0;
}

bool is_within_dir(const fs::path& path, const fs::path& top) {
  const auto relative = path.lexically_normal().lexically_relative(top.lexically_normal());
  return !relative.empty() && *relative.begin() != "..";
}

// Lets the run's user read and run the binary that the build made (under a umask of 077 or 027
// it cannot): o+rx on the binary and o+x on its folders, from the build tree down. Nothing becomes
// writable; folders above the course tree are the cover's business (blocking_ancestor).
void let_others_run(const fs::path& binary, const fs::path& root) {
  std::error_code ec;
  fs::permissions(binary, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add,
                  ec);
  const auto top = root.empty() ? binary.parent_path() : fs::absolute(root) / "build";
  for (auto dir = binary.parent_path(); !dir.empty() && is_within_dir(dir, top);
       dir = dir.parent_path()) {
    fs::permissions(dir, fs::perms::others_exec, fs::perm_options::add, ec);
    if (dir == top || dir == dir.parent_path()) break;
  }
}

}  // namespace

RunSandbox::RunSandbox(const SandboxRequest& request) {
  const auto& support = sandbox_support();
  const auto& root = request.root;
  std::optional<fs::path> cover;
  if (support.separate_users) {
    const auto& binary = request.binary;
    if (!binary.empty() && !others_can_run(binary)) let_others_run(binary, root);
    if (!binary.empty() && !others_can_run(binary)) {
      throw SandboxRefused("the test binary " + binary.string() +
                           " cannot be made readable by the sandbox's user");
    }
    auto lease = UidLease::take(request.uids);
    if (!lease) throw SandboxRefused("no free sandbox user id (256 are in use)");
    user_.emplace(std::move(*lease));
  }
  if (user_ && !root.empty()) {
    cover = blocking_ancestor(root, user_->uid());
    // Without a mount namespace nothing can open the way to a tree the user cannot reach.
    if (cover && (!support.mount_namespaces || *cover == fs::absolute(root).lexically_normal())) {
      throw SandboxRefused("the sandbox's user cannot reach the course tree (" + cover->string() +
                           " is closed to other users) and no mount namespace can open it");
    }
  }
  dir_ = std::make_unique<RunDir>(request.tmp_bytes, uid());
  cgroup_ = RunCgroup::create(request.cgroup);
  run_dir_ = dir_->path();

  isolation_.cgroup = cgroup_.get();
  isolation_.uid = uid();
  isolation_.syscalls = request.syscalls;
  isolation_.no_aslr = request.no_aslr;
  isolation_.writable = request.writable;
  if (dir_->bounded()) {
    // As root: the run's tmpfs is its /tmp, in a mount namespace of its own.
    isolation_.private_tmp = dir_->path();
    if (user_) isolation_.cover = cover;
  } else if (support.user_namespaces) {
    // Not root: the same private mounts inside a user namespace (the run's directory is then
    // not size-bounded), $HOME hidden, and a PID namespace.
    isolation_.user_namespace = true;
    isolation_.private_tmp = dir_->path();
    if (const auto home = get_env("HOME"); home && fs::is_directory(*home) && *home != "/")
      isolation_.cover = fs::path(*home);
  }
  if (!isolation_.private_tmp.empty()) {
    if (!root.empty()) isolation_.read_only.push_back(root);
    run_dir_ = "/tmp";
  }
}

std::optional<uid_t> RunSandbox::uid() const {
  if (user_) return user_->uid();
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> RunSandbox::environment() const {
  return {{"HOME", run_dir_.string()}, {"TMPDIR", run_dir_.string()}};
}

}  // namespace grader
