// Given: a throw-away PostgreSQL server for the tests and the benchmark. initdb makes a cluster
// in a directory of yours; start() runs it on a free port of 127.0.0.1 with its socket in that
// directory; the destructor stops it. PostgreSQL refuses to run as root, and the grader runs
// each test as a user of its own, so this works under the grader (and as any ordinary user).
// That user has no name, which PostgreSQL wants: nss_wrapper (libnss-wrapper) lends it one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace connpool {

class PgCluster {
 public:
  // Where initdb and pg_ctl are (PostgreSQL's server package), or nullopt.
  static std::optional<std::filesystem::path> server_binaries();
  // Why no cluster can run here ("" if one can): no server package, or running as root.
  static std::string why_unavailable();

  // Makes a cluster in `dir` (which must exist and be empty, or not exist); throws
  // std::runtime_error with initdb's output if it fails.
  explicit PgCluster(std::filesystem::path dir);
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  ~PgCluster();

  // Starts the server and waits until it accepts connections (on a new free port the first
  // time, on the same port afterwards); throws with the server's log if it cannot.
  void start();
  // Stops it (`fast`: ends the sessions at once). Connections then fail until start().
  void stop();
  [[nodiscard]] bool running() const { return running_; }
  // Freezes every process of the running server (SIGSTOP): its connections stay open and the
  // kernel still accepts new ones, but nothing answers, as with a server that hangs or a network
  // that drops every packet. thaw() lets them go on; the destructor thaws a frozen server first.
  void freeze();
  void thaw();

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // libpq's connection string for this server's database.
  [[nodiscard]] std::string conninfo() const;

 private:
  void pg_ctl(const std::string& action, const std::string& mode);
  void signal_server(int signal) const;

  std::filesystem::path dir_;
  std::filesystem::path bin_;
  std::vector<std::string> env_;  // added to the environment of initdb and pg_ctl
  std::uint16_t port_ = 0;
  bool running_ = false;
  bool frozen_ = false;
};

}  // namespace connpool
