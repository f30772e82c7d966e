// course::SignalStop: the first Ctrl-C (or SIGTERM) is a stop request; a second one ends a
// program that is stuck where no stop token is looked at. Each case runs in a child process,
// which the test signals and watches; every wait is bounded.
#include "course/signal_stop.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace {

using namespace std::chrono_literals;

// Waits up to `limit` for the child to end; its wait status, or nullopt (then it is killed).
std::optional<int> wait_for(pid_t child, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) return status;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return std::nullopt;
}

// A child that makes a SignalStop, says it is ready on `ready`, then either honours the stop
// request (exit 0) or, when `stuck`, never looks at it.
pid_t start_child(bool stuck, int ready) {
  const pid_t child = ::fork();
  if (child != 0) return child;
  const course::SignalStop signals("stopping...");
  [[maybe_unused]] const auto n = ::write(ready, "r", 1);
  while (stuck || !signals.token().stop_requested()) std::this_thread::sleep_for(5ms);
  ::_exit(0);
}

TEST(SignalStop, AFirstSignalIsAStopRequestAndASecondEndsAStuckProgram) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer ends a child that starts threads after fork (die_after_fork)";
#endif
  for (const bool stuck : {false, true}) {
    SCOPED_TRACE(stuck ? "stuck" : "honours the stop");
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = start_child(stuck, pipe_fds[1]);
    ASSERT_GT(child, 0);
    char ready = 0;
    ASSERT_EQ(::read(pipe_fds[0], &ready, 1), 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::kill(child, SIGINT);
    if (!stuck) {
      const auto status = wait_for(child, 10s);
      ASSERT_TRUE(status.has_value()) << "the stop request was not seen";
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
      continue;
    }
    // The first signal only asked it to stop, and it never looks: it is still running.
    std::this_thread::sleep_for(100ms);
    int early = 0;
    EXPECT_EQ(::waitpid(child, &early, WNOHANG), 0) << "the first signal ended the program";
    ::kill(child, SIGINT);
    const auto status = wait_for(child, 10s);
    ASSERT_TRUE(status.has_value()) << "a second Ctrl-C must end a stuck program";
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGINT)
        << "it ends by the signal's default action, as a shell expects";
  }
}

}  // namespace
