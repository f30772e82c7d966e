// The Server object itself: what start() refuses, stop() called twice, the connection counters,
// and the idle timeout between two keep-alive requests.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>
#include <thread>

#include "test_support.hpp"

namespace async_server::testing {
namespace {

const auto kTimeout = course::scaled(milliseconds(5000));

// Constructs and starts a server; the exception start() (or the constructor) threw, if any.
std::string start_error(const Config& config) {
  try {
    Server server(config);
    server.start();
  } catch (const std::invalid_argument&) {
    return "invalid_argument";
  } catch (const std::exception& error) {
    return std::string("another exception: ") + error.what();
  }
  return "none";
}

TEST(Server, StartRefusesWhatItCannotDo) {
  const auto with = [](auto change) {
    Config config = test_config();
    change(config);
    return config;
  };
  EXPECT_EQ(start_error(with([](Config& c) { c.threads = 0; })), "invalid_argument")
      << "threads = 0";
  EXPECT_EQ(start_error(with([](Config& c) { c.header_limit = 0; })), "invalid_argument")
      << "header_limit = 0";
  EXPECT_EQ(start_error(with([](Config& c) { c.time_scale = -1; })), "invalid_argument")
      << "time_scale = -1";
  EXPECT_EQ(start_error(with([](Config& c) {
              c.fast = {300ms, 100ms};
            })),
            "invalid_argument")
      << "a duration range with min > max";

  // A port that is taken: std::system_error.
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  ASSERT_EQ(::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &size), 0);
  Config busy = test_config();
  busy.port = ntohs(address.sin_port);
  Server on_taken_port(busy);
  EXPECT_THROW(on_taken_port.start(), std::system_error)
      << "port " << busy.port << " is in use: start() throws std::system_error";
  ::close(taken);

  RunningServer running;
  EXPECT_THROW(running.server.start(), std::logic_error) << "start() twice is a logic_error";
  running.server.stop();
  running.server.stop();  // idempotent
  EXPECT_FALSE(Connection::try_open(running.port())) << "a stopped server refuses connections";
}

TEST(Server, StatsCountConnectionsAndRequests) {
  RunningServer running;
  {
    std::vector<Connection> open;
    for (int i = 0; i < 3; ++i) open.emplace_back(running.port());
    ASSERT_EQ(get(running.port(), "/", kTimeout).status, 200);
    // The server counts a connection as closed, and an answer as written, a moment after the
    // client has seen them.
    const auto settled = [&] {
      const Stats now = running.server.stats();
      return now.connections == 3 && now.requests == 1;
    };
    for (int attempt = 0; attempt < 400 && !settled(); ++attempt) {
      std::this_thread::sleep_for(5ms);  // polling the server's counter, not synchronising it
    }
    const Stats stats = running.server.stats();
    EXPECT_EQ(stats.connections, 3U)
        << "3 connections are open (the request's own has closed): Stats::connections counts "
           "the connections open now";
    EXPECT_GE(stats.peak_connections, 4U) << "4 were open together at the peak";
    EXPECT_EQ(stats.requests, 1U) << "one request was answered";
  }
  for (int attempt = 0; attempt < 400 && running.server.stats().connections > 0; ++attempt) {
    std::this_thread::sleep_for(5ms);  // polling the server's counter, not synchronising it
  }
  EXPECT_EQ(running.server.stats().connections, 0U)
      << "every client closed its connection: none is open now";
  EXPECT_EQ(running.server.stats().in_flight, 0U);
}

// idle_timeout also closes a keep-alive connection that sends nothing after an answer, but not
// before the timeout.
TEST(Server, IdleKeepAliveConnectionIsClosedAfterTheTimeout) {
  Config config = test_config();
  config.idle_timeout = course::scaled(milliseconds(800));
  RunningServer running(config);
  Connection connection(running.port());
  connection.send(request_text("/"));
  ASSERT_EQ(connection.read_response(Clock::now() + kTimeout).status, 200);
  EXPECT_FALSE(connection.wait_closed(Clock::now() + config.idle_timeout / 2))
      << "the connection was closed less than half the idle timeout after its answer: keep "
         "it open for idle_timeout ("
      << config.idle_timeout.count() << " ms), the client may send another request";
  EXPECT_TRUE(connection.wait_closed(Clock::now() + 5 * config.idle_timeout + 2s))
      << course::kTimingMark
      << "a keep-alive connection that sent nothing after its answer was still open long after "
         "the idle timeout: the wait for the next request needs the timeout too";
}

}  // namespace
}  // namespace async_server::testing
