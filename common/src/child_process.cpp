#include "course/child_process.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace course {

ChildProcess::ChildProcess(const std::function<int()>& body) {
  int out[2];
  int err[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe() failed");
  if (::pipe(err) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe() failed");
  }
  std::cout.flush();
  std::cerr.flush();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork() failed");
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    for (const int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    int code = 3;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::cerr << "uncaught exception: " << e.what() << "\n";
    }
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(code);  // no atexit handlers, no GoogleTest teardown in the child
  }
  ::close(out[1]);
  ::close(err[1]);
  out_ = out[0];
  err_ = err[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) ::close(out_);
  if (err_ >= 0) ::close(err_);
}

void ChildProcess::signal(int signal_number) const {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

std::string ChildProcess::first_line(Clock::time_point deadline) {
  for (;;) {
    const auto newline = out_buffer_.find('\n');
    if (newline != std::string::npos) return out_buffer_.substr(0, newline);
    pollfd waiting{.fd = out_, .events = POLLIN, .revents = 0};
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&waiting, 1, static_cast<int>(left)) <= 0) return "";
    char chunk[512];
    const auto n = ::read(out_, chunk, sizeof chunk);
    if (n <= 0) return "";
    out_buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<int> ChildProcess::wait_exit(Clock::time_point deadline) {
  while (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child's exit
  }
  return std::nullopt;
}

std::string ChildProcess::error_output() {
  std::string text;
  char chunk[4096];
  for (ssize_t n = 0; (n = ::read(err_, chunk, sizeof chunk)) > 0;) {
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace course
