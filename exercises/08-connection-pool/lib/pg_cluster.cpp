#include "connpool/pg_cluster.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "course/net.hpp"

namespace connpool {

namespace fs = std::filesystem;

namespace {

// Runs a program with its output appended to `log` and `env` added to the environment; returns
// its exit status.
int run(const std::vector<std::string>& argv, const fs::path& log,
        const std::vector<std::string>& env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> environment;
  for (const std::string& entry : env) environment.push_back(const_cast<char*>(entry.c_str()));
  for (char** entry = environ; *entry != nullptr; ++entry) environment.push_back(*entry);
  environment.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return 127;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// initdb and postgres look their user's name up, and the grader runs each test as a user that
// has none (a number, with no line in /etc/passwd). nss_wrapper (libnss-wrapper) gives it one:
// preloaded, it answers from a passwd file of ours.
std::optional<fs::path> nss_wrapper() {
  for (const char* dir :
       {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}) {
    const fs::path library = fs::path(dir) / "libnss_wrapper.so";
    if (fs::exists(library)) return library;
  }
  return std::nullopt;
}

bool user_has_a_name() { return ::getpwuid(::geteuid()) != nullptr; }

// The parent of process `pid`, from /proc (0 if it is gone).
pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // "pid (name) state ppid ...": the name may hold spaces and parentheses, so start after the
  // last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 1));
  char state = 0;
  pid_t parent = 0;
  rest >> state >> parent;
  return parent;
}

// `root` and every process below it.
std::vector<pid_t> process_tree(pid_t root) {
  std::vector<pid_t> tree{root};
  std::vector<std::pair<pid_t, pid_t>> all;  // (pid, parent)
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(),
                                     [](unsigned char c) { return std::isdigit(c) != 0; }))
      continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    all.emplace_back(pid, parent_of(pid));
  }
  for (std::size_t i = 0; i < tree.size(); ++i) {
    for (const auto& [pid, parent] : all) {
      if (parent == tree[i]) tree.push_back(pid);
    }
  }
  return tree;
}

}  // namespace

std::optional<fs::path> PgCluster::server_binaries() {
  // Debian and Ubuntu install each major version under /usr/lib/postgresql/<major>/bin.
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& version : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const fs::path bin = version.path() / "bin";
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl")) found.push_back(bin);
  }
  if (found.empty()) return std::nullopt;
  std::sort(found.begin(), found.end());
  return found.back();
}

std::string PgCluster::why_unavailable() {
  if (!server_binaries()) {
    return "PostgreSQL's server is not installed (grader/install-deps --extras installs it)";
  }
  if (::geteuid() == 0) {
    return "PostgreSQL refuses to run as root; the grader runs each test as a user of its own "
           "(run the tests through grader/grader)";
  }
  if (!user_has_a_name() && !nss_wrapper()) {
    return "this user (uid " + std::to_string(::geteuid()) +
           ") has no name, which PostgreSQL needs; libnss-wrapper gives it one "
           "(grader/install-deps --extras installs it)";
  }
  return "";
}

PgCluster::PgCluster(fs::path dir) : dir_(std::move(dir)) {
  const auto bin = server_binaries();
  if (!bin) throw std::runtime_error(why_unavailable());
  bin_ = *bin;
  fs::create_directories(dir_);
  if (!user_has_a_name()) {
    if (const auto library = nss_wrapper()) {
      const std::string uid = std::to_string(::geteuid());
      const std::string gid = std::to_string(::getegid());
      std::ofstream(dir_ / "passwd")
          << "course:x:" << uid << ":" << gid << ":course:" << dir_.string() << ":/bin/false\n";
      std::ofstream(dir_ / "group") << "course:x:" << gid << ":\n";
      env_ = {"LD_PRELOAD=" + library->string(), "NSS_WRAPPER_PASSWD=" + (dir_ / "passwd").string(),
              "NSS_WRAPPER_GROUP=" + (dir_ / "group").string()};
    }
  }
  const fs::path log = dir_ / "initdb.log";
  // trust: only this user's processes can reach a server on 127.0.0.1 and a socket in dir_.
  const int status = run({(bin_ / "initdb").string(), "-D", (dir_ / "data").string(), "-A", "trust",
                          "-U", "course", "-E", "UTF8", "--locale=C", "--no-sync"},
                         log, env_);
  if (status != 0) throw std::runtime_error("initdb failed:\n" + read_all(log));
}

PgCluster::~PgCluster() {
  if (frozen_) thaw();  // a stopped process would not see pg_ctl's signal
  if (running_) {
    try {
      pg_ctl("stop", "immediate");
    } catch (...) {  // the directory goes away with the test anyway
    }
  }
}

void PgCluster::start() {
  if (running_) return;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = course::free_port();
    try {
      pg_ctl("start", "");
      running_ = true;
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 4) throw;  // else another process took the port: try another
    }
  }
}

void PgCluster::stop() {
  if (!running_) return;
  pg_ctl("stop", "fast");
  running_ = false;
}

void PgCluster::freeze() {
  if (!running_ || frozen_) return;
  signal_server(SIGSTOP);
  frozen_ = true;
}

void PgCluster::thaw() {
  if (!frozen_) return;
  signal_server(SIGCONT);
  frozen_ = false;
}

// The postmaster's pid is the first line of postmaster.pid; the backends and the server's own
// workers are its children. The postmaster is signalled first, so that it starts no new one.
void PgCluster::signal_server(int signal) const {
  std::ifstream pid_file(dir_ / "data" / "postmaster.pid");
  pid_t postmaster = 0;
  if (!(pid_file >> postmaster) || postmaster <= 0) {
    throw std::runtime_error("no postmaster.pid: the server is not running");
  }
  for (const pid_t pid : process_tree(postmaster)) ::kill(pid, signal);
}

std::string PgCluster::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=course dbname=postgres";
}

void PgCluster::pg_ctl(const std::string& action, const std::string& mode) {
  const fs::path log = dir_ / "server.log";
  std::vector<std::string> argv = {(bin_ / "pg_ctl").string(),
                                   "-D",
                                   (dir_ / "data").string(),
                                   "-w",
                                   "-t",
                                   "60",
                                   "-l",
                                   log.string()};
  if (action == "start") {
    // Only 127.0.0.1, the socket in the test's own directory, and no fsync: a throw-away server.
    argv.push_back("-o");
    argv.push_back("-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                   dir_.string() + " -c fsync=off -c synchronous_commit=off" +
                   " -c full_page_writes=off -c shared_buffers=16MB -c max_connections=120");
  } else {
    argv.push_back("-m");
    argv.push_back(mode);
  }
  argv.push_back(action);
  if (run(argv, dir_ / "pg_ctl.log", env_) != 0) {
    throw std::runtime_error("pg_ctl " + action + " failed:\n" + read_all(dir_ / "pg_ctl.log") +
                             read_all(log));
  }
}

}  // namespace connpool
