// What the chat server's tests share: a scripted IRC client on raw POSIX sockets (no Asio, so
// the tests compile fast), the server under test, and helpers to read replies with deadlines.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/server.hpp"
#include "course/net.hpp"
#include "course/time_scale.hpp"

namespace chat::testing {

using course::raise_open_file_limit;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One line from the server, parsed: ":prefix COMMAND p1 p2 :trailing".
struct Line {
  std::string raw;  // without its CRLF
  std::string prefix;
  std::string command;
  std::vector<std::string> params;

  // The prefix's nickname: "alice" for ":alice!alice@127.0.0.1".
  std::string source_nick() const;
  // The last parameter (the trailing text), or "".
  std::string text() const { return params.empty() ? "" : params.back(); }
};
Line parse_line(std::string raw);

using LinePredicate = std::function<bool(const Line&)>;
LinePredicate is_command(std::string command);  // "001", "PRIVMSG", "ERROR"...
LinePredicate is_command_with(std::string command, std::string param0);

// How long a test waits for one expected line: generous, scaled for sanitizers.
Clock::duration reply_timeout();

// A connection to 127.0.0.1 that speaks IRC line by line. Closed on destruction.
class IrcClient {
 public:
  // Connects; throws std::runtime_error when the connection is refused.
  explicit IrcClient(std::uint16_t port, int receive_buffer = 0);
  IrcClient(IrcClient&& other) noexcept;
  IrcClient& operator=(IrcClient&&) = delete;
  IrcClient(const IrcClient&) = delete;
  IrcClient& operator=(const IrcClient&) = delete;
  ~IrcClient();

  int fd() const { return fd_; }
  // Sends the bytes as they are (false when the peer has closed or reset the connection).
  bool send_raw(std::string_view bytes);
  // Sends one line with its CRLF.
  bool send(std::string_view line) { return send_raw(std::string(line) + "\r\n"); }

  // The next line, or nullopt at EOF, on an error or at the deadline (closed() tells which).
  std::optional<Line> read_line(Clock::time_point deadline);
  // Reads until a line matches; the lines skipped stay in the transcript. nullopt at the
  // deadline or at EOF.
  std::optional<Line> wait_for(const LinePredicate& matches,
                               Clock::duration timeout = reply_timeout());
  // Every line read until a line matches (that one included, last). Empty when none matched.
  std::vector<Line> read_until(const LinePredicate& matches,
                               Clock::duration timeout = reply_timeout());
  // Sends PING with a fresh token and returns the lines that came before its PONG: since the
  // server answers one client's lines in order, everything queued for this client before the
  // PING was handled is in there. nullopt when no PONG came.
  std::optional<std::vector<Line>> sync(Clock::duration timeout = reply_timeout());
  // Waits until the server closes the connection (EOF or reset); false at the deadline.
  bool wait_closed(Clock::duration timeout = reply_timeout());
  bool closed() const { return closed_; }

  // NICK and USER, then waits for the end of the welcome (422 or 376). False when it did not come.
  bool register_as(std::string_view nick);
  // JOIN, then waits for the end of the NAMES list (366).
  bool join(std::string_view room);

  // The last lines read (at most 30), one per line, for failure messages.
  std::string transcript() const;

 private:
  IrcClient() = default;
  bool fill(Clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
  std::vector<std::string> recent_;
  int next_token_ = 0;
};

// The configuration of the server under test: short timeouts, scaled.
Config test_config(int threads = 1);

// A started server. When a test leaves it, the destructor stops it.
struct RunningServer {
  explicit RunningServer(Config config = test_config());
  std::uint16_t port() const { return server.port(); }
  Server server;
};

// n clients registered as `<stem>0`, `<stem>1`... and joined to `room` (if not empty).
std::vector<IrcClient> registered_clients(std::uint16_t port, std::size_t n, std::string_view stem,
                                          std::string_view room = "");

}  // namespace chat::testing
