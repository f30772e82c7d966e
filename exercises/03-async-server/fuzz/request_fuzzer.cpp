// libFuzzer target: request handling. Each input is sent as raw bytes on a new loopback
// connection to one server that lives for the whole run (operations scaled to 0, short
// timeouts); the fuzzer half-closes the connection and reads whatever comes back. Parsing,
// limits, routing, the middleware and the connection's end all run on the fuzzed bytes, with
// ASan and UBSan watching; a crash or a sanitizer report ends the run with the input saved.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target
//   03-async-server_fuzz_request_fuzzer_solutions
//   build/fuzz/fuzz/03-async-server/solutions/request_fuzzer -max_total_time=30 CORPUS_DIR
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "async_server/server.hpp"

namespace {

async_server::Server& server() {
  static async_server::Server instance = [] {
    async_server::Config config;
    config.time_scale = 0;  // every operation is instant: the fuzzer measures parsing, not sleeping
    config.seed = 1;
    config.idle_timeout = std::chrono::milliseconds(200);
    config.read_timeout = std::chrono::milliseconds(200);
    config.shutdown_deadline = std::chrono::milliseconds(200);
    return async_server::Server(config);
  }();
  static const bool started = (instance.start(), true);
  (void)started;
  return instance;
}

int connect_to(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Thousands of connections a second: retry briefly when the kernel runs out of ephemeral
  // ports or a backlog is momentarily full.
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    // Closing with a reset leaves no TIME_WAIT behind to use up the ephemeral ports.
    const linger reset{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
    const int error = errno;
    ::close(fd);
    if (error == ECONNREFUSED) break;  // nothing listens any more: the server died
    ::usleep(1000);
  }
  std::fprintf(stderr, "request_fuzzer: cannot connect to the server: %s\n", std::strerror(errno));
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = connect_to(server().port());
  for (std::size_t sent = 0; sent < size;) {
    const auto n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered and closed early (a 4xx): fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  // Read until the server closes; its read timeout bounds the wait.
  std::array<char, 16384> sink{};
  pollfd waiting{.fd = fd, .events = POLLIN, .revents = 0};
  while (::poll(&waiting, 1, 2000) > 0 && ::recv(fd, sink.data(), sink.size(), 0) > 0) {
  }
  ::close(fd);
  return 0;
}
