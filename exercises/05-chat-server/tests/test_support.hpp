// What the chat server's tests share: a scripted IRC client on raw POSIX sockets (no Asio, so
// the tests compile fast), the server under test, and helpers to read replies with deadlines.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// A connection to 127.0.0.1 (the kit's course::LoopbackConnection) that speaks IRC line by
// line. Closed on destruction.
class IrcClient : public course::LoopbackConnection {
 public:
  // Connects; throws std::runtime_error when the connection is refused.
  explicit IrcClient(std::uint16_t port, int receive_buffer = 0)
      : course::LoopbackConnection(port, {.receive_buffer = receive_buffer}) {}

  // Sends the bytes as they are (false when the peer has closed or reset the connection).
  bool send_raw(std::string_view bytes) { return course::LoopbackConnection::send(bytes); }
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
  bool wait_closed(Clock::duration timeout = reply_timeout()) {
    return course::LoopbackConnection::wait_closed(Clock::now() + timeout);
  }

  // NICK and USER, then waits for the end of the welcome (422 or 376). False when it did not come.
  bool register_as(std::string_view nick);
  // JOIN, then waits for the end of the NAMES list (366).
  bool join(std::string_view room);

  // The last lines read (at most 30), one per line, for failure messages.
  std::string transcript() const;

 private:
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

// ---- conformance scenarios: the same script against the exercise's server or ngircd ----

// The server a scenario talks to.
struct Target {
  std::uint16_t port = 0;
  std::string name;          // the server's name, the prefix of its replies
  Server* server = nullptr;  // the exercise's server (for its Stats); nullptr for ngircd
  bool ngircd() const { return server == nullptr; }
};

using Scenario = void (*)(const Target&);
// Every scenario declared with CONFORMANCE_TEST, by "Suite.Case", in the order they registered.
std::vector<std::pair<std::string, Scenario>>& conformance_scenarios();
bool register_scenario(const char* name, Scenario scenario);
// Runs the scenario against a RunningServer with test_config().
void run_on_the_course_server(Scenario scenario);

// A TEST whose body is a scenario: graded on the exercise's server, and replayed on ngircd by
// Ngircd.ConformanceScenariosPassOnARealServer, so that the scripted client is known to speak
// real IRC. The body sees `target`; where ngircd and the course differ on purpose, it says so.
#define CONFORMANCE_TEST(suite, name)                                        \
  void suite##_##name##_scenario(const Target& target);                      \
  [[maybe_unused]] const bool suite##_##name##_registered =                  \
      register_scenario(#suite "." #name, suite##_##name##_scenario);        \
  TEST(suite, name) { run_on_the_course_server(suite##_##name##_scenario); } \
  void suite##_##name##_scenario(const Target& target)

// ngircd on a free port of 127.0.0.1, configured by tests/ngircd.conf.in in a private temporary
// directory; stopped on destruction.
class NgircdServer {
 public:
  // Where ngircd is installed, or "" when it is not.
  static std::string binary();
  NgircdServer();
  NgircdServer(const NgircdServer&) = delete;
  NgircdServer& operator=(const NgircdServer&) = delete;
  ~NgircdServer();
  Target target() const { return Target{port_, "ngircd.test", nullptr}; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

// n clients registered as `<stem>0`, `<stem>1`... and joined to `room` (if not empty).
std::vector<IrcClient> registered_clients(std::uint16_t port, std::size_t n, std::string_view stem,
                                          std::string_view room = "");

}  // namespace chat::testing
