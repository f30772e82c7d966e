// A function run in a child process, for tests of the exercises' commands: a test calls the
// command's run_command_line in the child (as the program's main() would) and talks to it, reads
// what it prints, signals it and waits for its exit status, each with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace course {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Forks; the child runs `body` with its stdout and stderr on pipes, then exits with body's
  // return value (3 if it throws, after printing the exception on stderr).
  explicit ChildProcess(const std::function<int()>& body);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the child (SIGKILL) if it still runs, and reaps it.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Sends a signal to the child (nothing once it has been reaped).
  void signal(int signal_number) const;
  // The first line the child printed on stdout (without its newline), or "" at the deadline or
  // when stdout closed first.
  std::string first_line(Clock::time_point deadline);
  // The exit status (128 + the signal's number for a child killed by a signal), or nullopt at
  // the deadline.
  std::optional<int> wait_exit(Clock::time_point deadline);
  // Everything the child wrote on stderr; waits for EOF, so call it once the child has exited.
  std::string error_output();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_buffer_;
};

}  // namespace course
