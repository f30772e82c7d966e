// Exercise 03: an asynchronous HTTP server on one event loop.
//
// This header belongs to the course: the tests, the `async_server` command, the benchmark and
// the fuzzer are written against it, so keep it as it is. Your code goes in the files under src/.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace async_server {

using namespace std::chrono_literals;

// The simulated operation behind an endpoint waits a random duration in [min, max] (both
// included), multiplied by Config::time_scale.
struct DurationRange {
  std::chrono::milliseconds min{0};
  std::chrono::milliseconds max{0};
};

struct Config {
  // The server binds this address and port; port 0 lets the kernel pick a free one (then ask
  // Server::port()). Tests and the course's tools only ever use 127.0.0.1.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  // Threads that run the event loop (the io_context). One is the asyncio model: every
  // connection and every operation is a coroutine on the same thread.
  int threads = 1;

  // The endpoints' simulated operations (the notes' durations).
  DurationRange fast{100ms, 300ms};
  DurationRange medium{500ms, 1500ms};
  DurationRange slow{2000ms, 4000ms};
  // Multiplies every operation's duration: 0.01 makes /slow take 20-40 ms, 0 makes it instant.
  double time_scale = 1.0;
  // Seed of the random generator that draws the durations; unset: a random seed.
  std::optional<std::uint64_t> seed;

  // Limits. A header section (request line and header fields) over header_limit bytes is
  // answered 431, a body over body_limit bytes 413.
  std::size_t header_limit = std::size_t{8} * 1024;
  std::size_t body_limit = std::size_t{64} * 1024;
  // A connection that sends nothing for idle_timeout (before its first request, or between two
  // keep-alive requests) is closed. A request whose bytes have started to arrive must arrive
  // whole within read_timeout, or the connection is closed: slow clients (slowloris) cannot hold
  // the server. Bounding the write of a response by the same timeout is good practice too.
  std::chrono::milliseconds idle_timeout = 5s;
  std::chrono::milliseconds read_timeout = 10s;
  // Server::stop() lets the requests in progress finish for at most this long.
  std::chrono::milliseconds shutdown_deadline = 5s;

  // Receives one line per request: "GET /fast 200 153.2ms" (method, path, status, time).
  // Called from the event loop's threads, never twice at once. Unset: no log.
  std::function<void(std::string_view)> log;
};

// What the server has seen, for tests and curious humans. Handlers are counted from the moment a
// request has been read until its response has been written.
struct Stats {
  std::size_t requests = 0;                      // requests answered (any status)
  std::size_t in_flight = 0;                     // requests being handled now
  std::size_t peak_in_flight = 0;                // the most handled at the same instant
  std::size_t connections = 0;                   // connections open now
  std::size_t peak_connections = 0;              // the most open at the same instant
  std::vector<std::thread::id> handler_threads;  // every thread that ran a handler (no repeats)
};

// An HTTP/1.1 server with the endpoints of the exercise:
//   GET /            the index: the endpoints, as JSON
//   GET /fast        a fast operation (Config::fast)
//   GET /medium      a medium one (Config::medium)
//   GET /slow        a slow one (Config::slow)
//   GET /mixed       fast, medium and slow at the same time: about the longest of the three
//   GET /sequential  fast, then medium, then slow: about their sum
//   GET /error       an operation that fails: its handler throws, the answer is a JSON 500
// HEAD is allowed wherever GET is. Every answer, errors included, is JSON and carries an
// X-Response-Time header ("12.345ms").
class Server {
 public:
  explicit Server(Config config = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // stop()

  // Binds and listens, then starts the event loop's threads. Returns once connections are
  // accepted. Throws std::system_error when the address cannot be bound, std::logic_error when
  // started twice, std::invalid_argument for a config that makes no sense.
  void start();
  // The port the server listens on (after start()).
  std::uint16_t port() const;
  // Graceful shutdown: stops accepting (new connections are refused), lets the requests in
  // progress finish and be answered, for at most Config::shutdown_deadline, closes every
  // connection and joins the threads. Idempotent; safe from any thread except the loop's own.
  void stop();

  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `async_server` command: `async_server [--port P] [--threads N] [--scale S] [--seed N]
// [--quiet]`. Prints "listening on http://127.0.0.1:<port>" to `out` once it accepts
// connections, logs each request to `err` (unless --quiet), and on SIGINT or SIGTERM shuts down
// gracefully and returns 0. Bad arguments print a usage message to `err` and return 2.
// The program's main() only calls this, so tests run it in a child process.
int run_command_line(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace async_server
