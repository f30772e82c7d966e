#include "course/child_process.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "course/net.hpp"

namespace {

using Clock = course::ChildProcess::Clock;
const auto kDeadline = std::chrono::seconds(10);

TEST(ChildProcess, ReportsTheFirstLineTheExitCodeAndStderr) {
  course::ChildProcess child([] {
    std::cout << "listening on 127.0.0.1:1234\nsecond line\n" << std::flush;
    std::cerr << "a log line\n";
    return 7;
  });
  EXPECT_EQ(child.first_line(Clock::now() + kDeadline), "listening on 127.0.0.1:1234");
  EXPECT_EQ(child.wait_exit(Clock::now() + kDeadline), 7);
  EXPECT_EQ(child.error_output(), "a log line\n");
}

TEST(ChildProcess, ASignalEndsItWith128PlusItsNumber) {
  course::ChildProcess child([] {
    std::cout << "ready\n" << std::flush;
    for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return 0;
  });
  ASSERT_EQ(child.first_line(Clock::now() + kDeadline), "ready");
  EXPECT_FALSE(child.wait_exit(Clock::now() + std::chrono::milliseconds(50)))
      << "it still runs: no status yet";
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(Clock::now() + kDeadline), 128 + SIGTERM);
}

TEST(ChildProcess, AnExceptionExits3WithItsMessage) {
  course::ChildProcess child([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(child.first_line(Clock::now() + kDeadline), "") << "stdout closed with no line";
  EXPECT_EQ(child.wait_exit(Clock::now() + kDeadline), 3);
  EXPECT_NE(child.error_output().find("boom"), std::string::npos);
}

TEST(Net, RaiseOpenFileLimitReachesWhatTheHardLimitAllows) {
  const auto limit = course::raise_open_file_limit(1024);
  EXPECT_GE(limit, 1024u) << "the hard limit on this machine is below 1024";
  EXPECT_GE(course::raise_open_file_limit(16), limit) << "it never lowers the limit";
}

}  // namespace
