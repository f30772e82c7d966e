// Loopback networking helpers. Tests never contact any address other than 127.0.0.1.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace course {

inline constexpr const char* kLoopback = "127.0.0.1";

// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks one for a socket bound to
// port 0, which is then closed. Another process may take the port before the caller binds it,
// so prefer servers that bind port 0 themselves and report their port (as HttpTestServer does).
std::uint16_t free_port();

// Raises this process's soft limit on open files (RLIMIT_NOFILE) to at least `needed`, as far as
// the hard limit allows, and returns the soft limit now in force. A test that holds a thousand
// connections open (both their ends, when the server runs in the test's process) calls it first.
std::size_t raise_open_file_limit(std::size_t needed);

// A TCP connection to 127.0.0.1, as a test's client: it sends every byte, and receives into a
// buffer that the exercise's client (an HTTP response reader, an IRC line reader) consumes. Every
// wait has a deadline. Closed on destruction.
// poll()'s timeout until `deadline`, in milliseconds: never negative, and at most a minute (poll
// takes an int), so a caller loops until the deadline has passed.
int poll_timeout_ms(std::chrono::steady_clock::time_point deadline);

struct LoopbackOptions {
  // > 0: SO_RCVBUF, set before connecting, so that the window the client offers stays that small
  // (a client that reads slowly). TCP_NODELAY is always on.
  int receive_buffer = 0;
};

class LoopbackConnection {
 public:
  using Clock = std::chrono::steady_clock;
  using Options = LoopbackOptions;

  // Connects; throws std::runtime_error "cannot connect to 127.0.0.1:<port> (connection
  // refused)" when nothing listens there.
  explicit LoopbackConnection(std::uint16_t port, Options options = {});
  // Connects, or nullopt when the connection is refused (e.g. the server has stopped).
  static std::optional<LoopbackConnection> try_open(std::uint16_t port, Options options = {});
  LoopbackConnection(LoopbackConnection&& other) noexcept;
  LoopbackConnection& operator=(LoopbackConnection&&) = delete;
  LoopbackConnection(const LoopbackConnection&) = delete;
  LoopbackConnection& operator=(const LoopbackConnection&) = delete;
  ~LoopbackConnection();

  [[nodiscard]] int fd() const { return fd_; }
  // Sends every byte; false when the peer has closed or reset the connection.
  bool send(std::string_view bytes);
  // Receives what has arrived (waiting at most until the deadline) into buffer(). False at EOF,
  // on an error or at the deadline; error() says which: "closed by the server", "connection
  // reset" or "timed out".
  bool receive(Clock::time_point deadline);
  // Waits until the peer closes the connection (EOF or reset), dropping what arrives; false at
  // the deadline.
  bool wait_closed(Clock::time_point deadline);

  // Bytes received and not yet consumed: the exercise's reader erases what it has parsed.
  [[nodiscard]] std::string& buffer() { return buffer_; }
  [[nodiscard]] const std::string& buffer() const { return buffer_; }
  // Whether the peer closed or reset the connection.
  [[nodiscard]] bool closed() const { return closed_; }
  // Why the last receive() returned false ("" before).
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  explicit LoopbackConnection(int fd) : fd_(fd) {}
  static int connect_to(std::uint16_t port, const Options& options);

  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
  std::string error_;
};

}  // namespace course
