#include "course/signal_stop.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace course {

SignalStop::SignalStop(std::string message)
    : message_(std::move(message)), wake_fd_(::eventfd(0, EFD_CLOEXEC)) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = ::signalfd(-1, &signals, SFD_CLOEXEC);
  watcher_ = std::jthread([this](const std::stop_token& token) { watch(token); });
}

SignalStop::~SignalStop() {
  watcher_.request_stop();
  watcher_.join();
  ::close(signal_fd_);
  ::close(wake_fd_);
}

// A second Ctrl-C (or SIGTERM) while the first is still being honoured: the program may be stuck
// where no stop token is checked, so the signal gets its default action, which ends it.
void SignalStop::end_now(int signal_number) {
  std::fprintf(stderr, "\nstopping at once\n");
  ::signal(signal_number, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal_number);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(signal_number);
  std::_Exit(128 + signal_number);  // not reached: the default action of both signals ends us
}

void SignalStop::watch(const std::stop_token& token) {
  // The destructor's stop request must end the poll below: it writes to the eventfd.
  const std::stop_callback wake(token, [this] {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  });
  while (!token.stop_requested()) {
    pollfd fds[2] = {{.fd = signal_fd_, .events = POLLIN, .revents = 0},
                     {.fd = wake_fd_, .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) <= 0) continue;
    if (fds[0].revents != 0) {
      signalfd_siginfo info{};
      [[maybe_unused]] const ssize_t ignored = ::read(signal_fd_, &info, sizeof info);
      if (source_.stop_requested()) end_now(static_cast<int>(info.ssi_signo));
      std::fprintf(stderr, "\n%s (again to stop at once)\n", message_.c_str());
      source_.request_stop();
    }
  }
}

}  // namespace course
