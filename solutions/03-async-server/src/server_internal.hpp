// What the files of the server share. The split follows the cost of compiling them: session.cpp
// is the only file that includes Boost.Beast (HTTP parsing and writing, the slow one to
// compile); endpoints.cpp (routing, the handlers and the middleware) and server.cpp (the event
// loop, accepting, shutdown) use Asio alone and speak to it through these plain structs.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "async_server/server.hpp"

namespace async_server::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// A request that was read whole.
struct Request {
  std::string method;  // as sent: "GET", "HEAD", "POST", "BREW"...
  std::string target;  // "/fast?x=1"
  std::string body;
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
};

// An answer. The session adds Content-Length, Content-Type and Connection.
struct Response {
  unsigned status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;  // false: the connection closes after this answer
  bool omit_body = false;  // HEAD: Content-Length of the body, but no body
};

// Why the session could not read a request.
enum class ReadError {
  malformed,         // not HTTP/1.x: bad request line, bad header, bare LF...
  header_too_large,  // the header section went past Config::header_limit
  body_too_large,    // the body went past Config::body_limit
};

// The limits and timeouts a session enforces.
struct SessionLimits {
  std::size_t header_limit = 0;
  std::size_t body_limit = 0;
  Clock::duration idle_timeout{};  // waiting for the first byte of a request
  Clock::duration read_timeout{};  // reading the rest of it, and writing the answer
};

// The state one server shares between its connections: its configuration, the random
// generator, the counters. Thread-safe: with Config::threads > 1 connections call it at once.
class App {
 public:
  explicit App(Config config);

  // The answer to a request: routing, the endpoint's handler, then the middleware (an
  // exception becomes a JSON 500; X-Response-Time; the log line). `started` is when the
  // request began to arrive.
  asio::awaitable<Response> respond(Request request, Clock::time_point started);
  // The answer to bytes that are not a request we accept (400, 413, 431), through the same
  // middleware. The connection closes after it.
  Response reject(ReadError error, std::string_view method, std::string_view target,
                  Clock::time_point started);

  SessionLimits limits() const;
  const Config& config() const { return config_; }

  // Shutdown: sessions stop keeping connections alive; stop() waits for the requests in
  // progress.
  void begin_stop();
  bool stopping() const;
  // Whether no request was in progress before the deadline.
  bool wait_until_idle(Clock::time_point deadline);

  // Counters (see Stats).
  void connection_opened();
  void connection_closed();
  void request_started();
  void request_finished();
  Stats stats() const;

  // A duration drawn from the range, multiplied by Config::time_scale.
  Clock::duration draw(DurationRange range);

 private:
  asio::awaitable<Response> route(const Request& request);
  void finish(Response& response, std::string_view method, std::string_view target,
              Clock::time_point started);

  const Config config_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
  std::mutex log_mutex_;
  mutable std::mutex stats_mutex_;
  std::condition_variable idle_;
  Stats stats_;
  bool stopping_ = false;  // guarded by stats_mutex_
};

// One connection, as a coroutine: reads requests and answers them in order (keep-alive and
// pipelining) until the client closes, a limit or a timeout ends it, or the server stops.
asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket, App& app);

// Counts one request in progress for as long as it lives.
class RequestInProgress {
 public:
  explicit RequestInProgress(App& app) : app_(app) { app_.request_started(); }
  RequestInProgress(const RequestInProgress&) = delete;
  RequestInProgress& operator=(const RequestInProgress&) = delete;
  ~RequestInProgress() { app_.request_finished(); }

 private:
  App& app_;
};

}  // namespace async_server::detail
