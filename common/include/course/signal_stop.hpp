// Ctrl-C for the course's commands: SIGINT and SIGTERM become a stop request (std::stop_token)
// that the command passes to the exercise's code, which then stops starting new work.
#pragma once

#include <stop_token>
#include <string>
#include <thread>

namespace course {

// The signals are blocked in every thread (threads started later inherit the mask) and read from
// a signalfd by one watcher thread, so no code runs in a signal handler. Construct it in main()
// before any other thread starts. On a signal it prints `message` on stderr and requests a stop;
// a second signal ends the program at once (the signal's default action), for code stuck where
// no stop token is looked at.
class SignalStop {
 public:
  explicit SignalStop(std::string message = "stopping...");
  SignalStop(const SignalStop&) = delete;
  SignalStop& operator=(const SignalStop&) = delete;
  ~SignalStop();

  std::stop_token token() const { return source_.get_token(); }

 private:
  void watch(const std::stop_token& token);
  [[noreturn]] static void end_now(int signal_number);

  std::string message_;
  std::stop_source source_;
  int signal_fd_ = -1;
  int wake_fd_ = -1;
  std::jthread watcher_;
};

}  // namespace course
