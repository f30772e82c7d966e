// What the server's tests share: a tiny HTTP/1.1 client on raw POSIX sockets (no Beast, so the
// tests compile fast), the test configuration with scaled durations, and JSON helpers.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "async_server/server.hpp"
#include "course/net.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"

namespace async_server::testing {

using course::raise_open_file_limit;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- the client ----

struct HttpResponse {
  int status = 0;                              // 0: no complete response (see error)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  Clock::duration latency{};  // from the first byte sent to the last byte received
  std::string error;          // why there is no response: "refused", "closed", "timed out"...

  bool complete() const { return status != 0; }
  std::optional<std::string> header(std::string_view name) const;
};

// A TCP connection to 127.0.0.1 (the kit's course::LoopbackConnection) that reads HTTP
// responses. Closed on destruction.
class Connection : public course::LoopbackConnection {
 public:
  // Connects; throws std::runtime_error when the connection is refused.
  explicit Connection(std::uint16_t port) : course::LoopbackConnection(port) {}
  // Connects, or nullopt when the connection is refused (e.g. the server has stopped).
  static std::optional<Connection> try_open(std::uint16_t port);

  // Reads one response (HEAD: no body), waiting at most until the deadline.
  HttpResponse read_response(Clock::time_point deadline, bool head = false);
  // Bytes received but not yet consumed by read_response.
  const std::string& pending() const { return buffer(); }

 private:
  explicit Connection(course::LoopbackConnection&& opened)
      : course::LoopbackConnection(std::move(opened)) {}
};

// "GET <path> HTTP/1.1" with a Host header (and "Connection: close" when asked).
std::string request_text(std::string_view path, std::string_view method = "GET",
                         bool close = false);

// One request on a new connection.
HttpResponse get(std::uint16_t port, std::string_view path, Clock::duration timeout,
                 std::string_view method = "GET");

// n requests to `path` on n connections opened and sent at once, then every answer collected
// with poll(): n requests in flight together, driven by one client thread.
std::vector<HttpResponse> get_concurrently(std::uint16_t port, std::string_view path, std::size_t n,
                                           Clock::duration timeout);

// ---- the server under test ----

// The notes' durations divided by 5 (fast 20-60 ms, medium 100-300 ms, slow 400-800 ms), then
// multiplied by course::time_scale(); timeouts and limits for tests; a fixed seed.
Config test_config();
// A range multiplied by course::time_scale() (what a test config's range really lasts).
inline Clock::duration scaled_ms(std::int64_t ms) { return course::scaled(milliseconds(ms)); }

// A started server. When a test leaves it, the destructor stops it gracefully.
struct RunningServer {
  explicit RunningServer(Config config = test_config());
  std::uint16_t port() const { return server.port(); }
  Server server;
};

// ---- JSON answers ----

// Whether the text is one JSON value.
bool is_json(std::string_view text);
// A top-level field of a JSON object: as text (strings unquoted), or nullopt.
std::optional<std::string> json_field(std::string_view text, std::string_view key);
// The "operations" list of an operation endpoint's answer: (name, ms) in order.
std::vector<std::pair<std::string, double>> json_operations(std::string_view text);

// "412 ms", "2.03 s".
std::string describe(Clock::duration d);
double ms(Clock::duration d);

}  // namespace async_server::testing
