// Graceful shutdown: Server::stop() and the `async_server` command on SIGTERM/SIGINT. Requests
// in progress are answered, new connections are refused, the command exits 0.
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "course/child_process.hpp"
#include "test_support.hpp"

namespace async_server::testing {
namespace {

const auto kTimeout = course::scaled(milliseconds(5000));

TEST(Shutdown, InFlightRequestsCompleteAndNewConnectionsAreRefused) {
  Config config = test_config();
  auto running = std::make_unique<RunningServer>(config);
  const auto port = running->port();
  std::vector<Connection> in_flight;
  for (int i = 0; i < 5; ++i) {
    in_flight.emplace_back(port);
    in_flight.back().send(request_text("/slow"));
  }
  for (int attempt = 0; attempt < 200 && running->server.stats().in_flight < 5; ++attempt) {
    std::this_thread::sleep_for(5ms);  // polling the server's counter
  }
  ASSERT_EQ(running->server.stats().in_flight, 5u) << "the 5 /slow requests never got in flight";
  // stop() from another thread while the 5 requests wait on their operations.
  auto stopped = std::async(std::launch::async, [&running] { running->server.stop(); });
  // New connections are refused soon after stop() begins.
  bool refused = false;
  const auto give_up = Clock::now() + kTimeout;
  while (!refused && Clock::now() < give_up) {
    refused = !Connection::try_open(port).has_value();
    if (!refused) std::this_thread::sleep_for(2ms);
  }
  EXPECT_TRUE(refused) << "the server still accepted connections while shutting down: stop() "
                          "must close the listening socket first";
  for (auto& connection : in_flight) {
    const auto response = connection.read_response(Clock::now() + kTimeout);
    EXPECT_EQ(response.status, 200)
        << "a request in progress when stop() was called was not answered (" << response.error
        << "): a graceful shutdown lets requests in flight finish, up to a deadline";
  }
  ASSERT_EQ(stopped.wait_for(kTimeout), std::future_status::ready) << "stop() never returned";
  EXPECT_EQ(running->server.stats().requests, 5u);
}

// Runs `async_server <args>` in a child process: run_command_line, as the program's main() does.
struct Child : course::ChildProcess {
  explicit Child(std::vector<std::string> args)
      : course::ChildProcess([args = std::move(args)] {
          const std::vector<std::string_view> views(args.begin(), args.end());
          return run_command_line(views, std::cout, std::cerr);
        }) {}
};

std::uint16_t port_from(const std::string& line) {
  const auto colon = line.rfind(':');
  if (line.rfind("listening on http://127.0.0.1:", 0) != 0 || colon == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(line.c_str() + colon + 1));
}

void check_graceful_exit(int signal, const char* name) {
  Child child({"--port", "0", "--scale", std::to_string(0.2 * course::time_scale()), "--quiet"});
  const auto line = child.first_line(Clock::now() + kTimeout);
  const auto port = port_from(line);
  ASSERT_NE(port, 0) << "async_server --port 0 should print 'listening on "
                        "http://127.0.0.1:<port>' first; it printed '"
                     << line << "'";
  ASSERT_EQ(get(port, "/", kTimeout).status, 200);
  // A slow request in flight when the signal arrives.
  Connection slow(port);
  slow.send(request_text("/slow"));
  std::this_thread::sleep_for(course::scaled(milliseconds(100)));  // let it reach its handler
  child.signal(signal);
  const auto response = slow.read_response(Clock::now() + kTimeout);
  EXPECT_EQ(response.status, 200) << "the request in flight at " << name
                                  << " was not answered: " << response.error;
  const auto code = child.wait_exit(Clock::now() + kTimeout);
  ASSERT_TRUE(code) << "async_server did not exit after " << name;
  EXPECT_EQ(*code, 0) << "async_server should exit 0 after a graceful shutdown on " << name
                      << " (handle it with an asio::signal_set)";
  EXPECT_FALSE(Connection::try_open(port).has_value()) << "the port still accepts connections";
}

// stop() ends every wait a connection can be in: for its first request, for the next one on a
// keep-alive connection, for the rest of a request half sent, and for a handler that outlasts
// shutdown_deadline. Each wait here lasts 20 s if nothing ends it; stop() must return in about
// the deadline (500 ms) and close every connection.
TEST(Shutdown, StopEndsEveryWaitWithinItsDeadline) {
  Config config = test_config();
  config.idle_timeout = 20s;
  config.read_timeout = 20s;
  config.slow = {20'000ms, 20'000ms};
  config.time_scale = 1.0;
  config.shutdown_deadline = 500ms;
  auto running = std::make_unique<RunningServer>(config);
  const auto port = running->port();
  Connection before_first(port);
  Connection kept(port);
  ASSERT_TRUE(kept.send(request_text("/")));
  ASSERT_EQ(kept.read_response(Clock::now() + kTimeout).status, 200);
  Connection half(port);
  ASSERT_TRUE(half.send("GET / HTTP/1.1\r\nHo"));
  Connection busy(port);
  ASSERT_TRUE(busy.send(request_text("/slow")));
  // The /slow request is in flight once the index request has finished (its answer reaches the
  // client a moment before the server counts it finished) and one request is in flight: before
  // that, the one in flight may still be the index's, and a stop() then finds nothing to wait for.
  const auto slow_in_flight = [&running] {
    const auto stats = running->server.stats();
    return stats.requests >= 1 && stats.in_flight == 1;
  };
  for (int attempt = 0; attempt < 400 && !slow_in_flight(); ++attempt) {
    std::this_thread::sleep_for(5ms);  // polling the server's counters
  }
  ASSERT_TRUE(slow_in_flight()) << "the /slow request never got in flight";
  const auto asked = Clock::now();
  auto stopped = std::async(std::launch::async, [&running] { running->server.stop(); });
  const bool returned =
      stopped.wait_for(course::scaled(milliseconds(5000))) == std::future_status::ready;
  const auto took = Clock::now() - asked;
  EXPECT_TRUE(returned) << course::kTimingMark
                        << "stop() had not returned 5 s after it was called, with a connection "
                           "idle before its first request, one idle between keep-alive requests, "
                           "one half way through a request and one whose handler takes 20 s: "
                           "each of those waits must end on stop(), the handler's after "
                           "shutdown_deadline (500 ms)";
  if (returned) {
    EXPECT_GE(took, 400ms) << "stop() returned after " << describe(took)
                           << ": it should let the request in progress run for "
                              "shutdown_deadline (500 ms) first";
  }
  const auto closed_by = Clock::now() + kTimeout;
  EXPECT_TRUE(before_first.wait_closed(closed_by))
      << course::kTimingMark << "a connection waiting for its first request";
  EXPECT_TRUE(kept.wait_closed(closed_by))
      << course::kTimingMark << "a keep-alive connection waiting for its next one";
  EXPECT_TRUE(half.wait_closed(closed_by))
      << course::kTimingMark << "a connection with a request half sent";
  EXPECT_TRUE(busy.wait_closed(closed_by))
      << course::kTimingMark << "a connection whose handler outlasted the deadline";
  if (!returned) stopped.wait();  // the server must stop before the test ends
}

TEST(Command, SigtermShutsDownGracefully) { check_graceful_exit(SIGTERM, "SIGTERM"); }

TEST(Command, SigintShutsDownGracefully) { check_graceful_exit(SIGINT, "SIGINT"); }

TEST(Command, BadArgumentsExitWithUsage) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--threads", "zero"},
                                               {"--port", "70000"},
                                               {"--frobnicate"},
                                               {"--scale"}}) {
    Child child(args);
    const auto code = child.wait_exit(Clock::now() + kTimeout);
    ASSERT_TRUE(code) << "async_server with bad arguments did not exit";
    EXPECT_EQ(*code, 2) << "bad arguments should exit 2 with a usage message";
  }
}

}  // namespace
}  // namespace async_server::testing
