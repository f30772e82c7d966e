// course/net.hpp: the loopback client's deadlines, against a listening socket of the test's own.
#include "course/net.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace course {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(PollTimeout, IsNeverNegativeAndAtMostAMinute) {
  EXPECT_EQ(poll_timeout_ms(Clock::now() - 5s), 0) << "a deadline that has passed: poll at once";
  const int soon = poll_timeout_ms(Clock::now() + 250ms);
  EXPECT_GT(soon, 0);
  EXPECT_LE(soon, 250) << "rounded up, never past the deadline's own milliseconds";
  EXPECT_EQ(poll_timeout_ms(Clock::now() + std::chrono::hours(24 * 365)), 60'000)
      << "poll takes an int: a far deadline is waited for a minute at a time";
}

// A socket on an ephemeral port of 127.0.0.1 that never accepts nor answers; without `listening`
// it only holds the port, so that a connection to it is refused.
class SilentListener {
 public:
  explicit SilentListener(bool listening = true)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        (listening && ::listen(fd_, 4) != 0) ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(LoopbackConnection, ReceiveFromASilentPeerEndsAtItsDeadline) {
  const SilentListener peer;
  LoopbackConnection connection(peer.port());
  const auto start = Clock::now();
  EXPECT_FALSE(connection.receive(start + 200ms));
  EXPECT_GE(Clock::now() - start, 200ms) << "receive returned before its deadline";
  EXPECT_EQ(connection.error(), "timed out");
}

TEST(LoopbackConnection, ARefusedConnectionThrowsAndTryOpenSaysNothing) {
  const SilentListener bound_only(/*listening=*/false);
  EXPECT_THROW(LoopbackConnection{bound_only.port()}, std::runtime_error);
  EXPECT_FALSE(LoopbackConnection::try_open(bound_only.port()).has_value());
}

}  // namespace
}  // namespace course
