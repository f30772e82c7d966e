// Exercise 05: a chat server with rooms that speaks a small subset of IRC.
//
// This header belongs to the course: the tests, the `chat_server` command and the benchmark are
// written against it, so keep it as it is. Your code goes in the files under src/.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chat {

using namespace std::chrono_literals;

struct Config {
  // The server binds this address and port; port 0 lets the kernel pick a free one (then ask
  // Server::port()). Tests and the course's tools only ever use 127.0.0.1.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  // Threads that run the event loop (the io_context). One is the asyncio model; with more, the
  // rooms and the nicknames are shared between threads and must be protected.
  int threads = 1;
  // The name the server gives itself: the prefix of its replies (":chat.course 001 ...").
  std::string server_name = "chat.course";

  // Each client's outbound queue: the lines waiting to be written to it. A line from another
  // client that would take the queue past either cap disconnects it instead (the slow-consumer
  // policy). Half of each cap is the queue's mark (flow control: see the statement): a client is
  // not read while its own queue, or the queue of a client its lines went to, is over the mark.
  std::size_t max_queued_lines = 1024;
  std::size_t max_queued_bytes = std::size_t{256} * 1024;
  // A client whose queue stays over its mark this long, its writer taking nothing, does not read:
  // it is disconnected as a slow consumer, and the clients held back by it are read again.
  std::chrono::milliseconds slow_consumer_timeout = 5s;
  // A connection that has not registered (NICK and USER) within this time is closed.
  std::chrono::milliseconds registration_timeout = 30s;
  // Writing to a client that is being disconnected (its last ERROR line) gives up after this.
  std::chrono::milliseconds close_timeout = 5s;
  // Server::stop() waits at most this long for the clients to get their ERROR line.
  std::chrono::milliseconds shutdown_deadline = 5s;

  // Receives one line per event: "connect 127.0.0.1:40312", "register alice",
  // "join alice #rust", "part alice #rust", and "quit alice: <reason>" for every departure (a
  // QUIT, a dropped connection, a slow consumer).
  // Called from the event loop's threads, never twice at once. Unset: no log.
  std::function<void(std::string_view)> log;
};

// What the server has seen, for tests and curious humans.
struct Stats {
  std::size_t connections = 0;        // open now, registered or not
  std::size_t peak_connections = 0;   // the most open at the same instant
  std::size_t users = 0;              // registered now
  std::size_t rooms = 0;              // rooms that exist now (a room has at least one member)
  std::size_t slow_consumers = 0;     // clients disconnected as slow consumers (cap or timeout)
  std::size_t peak_queued_lines = 0;  // the most lines one client's queue ever held
  std::size_t peak_queued_bytes = 0;  // the most bytes one client's queue ever held
  std::vector<std::thread::id> loop_threads;  // every thread that handled a command (no repeats)
};

// The chat server. The protocol it speaks, line by line, is in the statement (README.md).
class Server {
 public:
  explicit Server(Config config = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // stop()

  // Binds and listens, then starts the event loop's threads. Returns once connections are
  // accepted. Throws std::system_error when the address cannot be bound, std::logic_error when
  // started twice, std::invalid_argument for a config that makes no sense (threads < 1, a cap or
  // a timeout of 0, an empty server name).
  void start();
  // The port the server listens on (after start()).
  std::uint16_t port() const;
  // Graceful shutdown: stops accepting, sends every client "ERROR :Closing link: server
  // shutting down", closes the connections (waiting at most Config::shutdown_deadline for the
  // lines to be written) and joins the threads. Idempotent; safe from any thread except the
  // loop's own.
  void stop();

  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `chat_server` command: `chat_server [--port P] [--threads N] [--quiet]`. Prints
// "listening on 127.0.0.1:<port>" to `out` once it accepts connections, logs each event to `err`
// (unless --quiet), and on SIGINT or SIGTERM shuts down gracefully and returns 0. Bad arguments
// print a usage message to `err` and return 2. The program's main() only calls this, so tests
// run it in a child process.
int run_command_line(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace chat
