#include "course/http_test_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <latch>
#include <thread>
#include <vector>

#include "course/net.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"

namespace course {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::unique_ptr<httplib::Client> client_for(const HttpTestServer& server) {
  auto client = std::make_unique<httplib::Client>(kLoopback, server.port());
  client->set_connection_timeout(std::chrono::seconds(10));
  client->set_read_timeout(std::chrono::seconds(30));
  return client;
}

// What a client receives on the wire, read to the end of the connection.
struct RawResponse {
  std::string head;  // status line and headers
  std::string body;  // whatever arrived after them
};

// A bare HTTP/1.1 GET over a socket, so tests see short reads that a client library hides.
RawResponse raw_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, kLoopback, &address.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect");
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string received;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) received.append(buffer, n);
  ::close(fd);
  const auto end_of_head = received.find("\r\n\r\n");
  if (end_of_head == std::string::npos) return {received, ""};
  return {received.substr(0, end_of_head), received.substr(end_of_head + 4)};
}

TEST(HttpTestServer, ServesRoutesByExactPathAndAnswers404Otherwise) {
  HttpTestServer server;
  server.add({.path = "/hello",
              .status = 201,
              .body = "hello",
              .content_type = "text/plain",
              .headers = {{"X-Course", "yes"}}});
  server.start();
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.url("/hello"), "http://127.0.0.1:" + std::to_string(server.port()) + "/hello");
  const auto client = client_for(server);

  const auto hello = client->Get("/hello");
  ASSERT_TRUE(hello) << httplib::to_string(hello.error());
  EXPECT_EQ(hello->status, 201);
  EXPECT_EQ(hello->body, "hello");
  EXPECT_EQ(hello->get_header_value("Content-Type"), "text/plain");
  EXPECT_EQ(hello->get_header_value("X-Course"), "yes");

  const auto missing = client->Get("/hello/");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(server.hits("/hello"), 1u);
  EXPECT_EQ(server.hits("/hello/"), 1u);
  EXPECT_EQ(server.total_hits(), 2u);
}

TEST(HttpTestServer, RoutesAddedAfterStartAreServed) {
  HttpTestServer server;
  server.start();
  server.add({.path = "/late", .body = "on time"});
  const auto response = client_for(server)->Get("/late");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "on time");
}

TEST(HttpTestServer, BodySizeServesDeterministicBytes) {
  HttpTestServer server;
  server.add({.path = "/img/1.jpg", .body_size = 100000});
  server.start();
  const auto response = client_for(server)->Get("/img/1.jpg");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->body.size(), 100000u);
  EXPECT_EQ(fnv1a(response->body), fnv1a(deterministic_bytes("/img/1.jpg", 100000)));
  EXPECT_NE(deterministic_bytes("/img/1.jpg", 64), deterministic_bytes("/img/2.jpg", 64));
  EXPECT_EQ(deterministic_bytes("/img/1.jpg", 64), response->body.substr(0, 64));
}

TEST(HttpTestServer, LinksMakeAnHtmlPage) {
  HttpTestServer server;
  server.add({.path = "/", .links = {"/a", "/b?x=1&y=2"}});
  server.start();
  const auto response = client_for(server)->Get("/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(response->body.find("<a href=\"/a\">"), std::string::npos) << response->body;
  EXPECT_NE(response->body.find("<a href=\"/b?x=1&amp;y=2\">"), std::string::npos)
      << response->body;
}

TEST(HttpTestServer, LatencyDelaysTheAnswerAtLeastThatLong) {
  HttpTestServer server;
  server.add({.path = "/slow", .body = "done", .latency = 100ms});
  server.start();
  const auto before = SteadyClock::now();
  const auto response = client_for(server)->Get("/slow");
  const auto elapsed = SteadyClock::now() - before;
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "done");
  EXPECT_GE(elapsed, scaled(100ms));
  ASSERT_TRUE(server.wait_until_idle(5s));
  const auto tasks = server.trace().tasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "GET /slow #1");
  ASSERT_FALSE(tasks[0].segments.empty());
  bool waited = false;
  for (const Segment& segment : tasks[0].segments) {
    waited = waited || (segment.kind == SegmentKind::wait && segment.end - segment.start >= 100ms);
  }
  EXPECT_TRUE(waited) << server.trace().timeline();
}

TEST(HttpTestServer, HoldsAHundredSlowRequestsAtOnce) {
  constexpr std::size_t kClients = 100;
  const auto latency = 300ms;
  HttpTestServer server;
  server.add({.path = "/slow", .body = "ok", .latency = latency});
  server.start();

  std::vector<int> statuses(kClients, 0);
  std::latch ready(kClients + 1);
  SteadyClock::time_point before;
  {
    std::vector<std::jthread> clients;
    for (std::size_t i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        const auto client = client_for(server);
        ready.arrive_and_wait();
        const auto response = client->Get("/slow");
        statuses[i] = response ? response->status : -1;
      });
    }
    before = SteadyClock::now();
    ready.arrive_and_wait();
  }
  const auto elapsed = SteadyClock::now() - before;

  EXPECT_EQ(statuses, std::vector<int>(kClients, 200));
  const auto arrivals = server.arrivals("/slow");
  ASSERT_EQ(arrivals.size(), kClients);
  EXPECT_EQ(server.peak_in_flight(), kClients)
      << "the requests arrived over " << format_duration(arrivals.back() - arrivals.front())
      << ", starting " << format_duration(arrivals.front() - before)
      << " after the clients were released";
  // Sequentially they would take 100 × 300 ms = 30 s.
  EXPECT_LT(elapsed, 3 * scaled(latency) + scaled(500ms));
  ASSERT_TRUE(server.wait_until_idle(5s));
  EXPECT_EQ(server.in_flight(), 0u);
  EXPECT_EQ(server.trace().max_overlap(), kClients) << server.trace().timeline();
  save_trace_for_report(server.trace());
}

TEST(HttpTestServer, RendezvousFormsWithKConcurrentClients) {
  constexpr std::size_t kClients = 5;
  HttpTestServer server;
  server.add({.path = "/meet", .body = "met", .rendezvous = true});
  server.rendezvous(kClients, 10s);
  server.start();
  std::vector<int> statuses(kClients, 0);
  const auto before = SteadyClock::now();
  {
    std::vector<std::jthread> clients;
    for (std::size_t i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        const auto response = client_for(server)->Get("/meet");
        statuses[i] = response ? response->status : -1;
      });
    }
  }
  EXPECT_EQ(statuses, std::vector<int>(kClients, 200));
  EXPECT_LT(SteadyClock::now() - before, scaled(10s)) << "the group formed; nobody timed out";
}

TEST(HttpTestServer, RendezvousAnswers504ToASequentialClient) {
  const auto timeout = 200ms;
  HttpTestServer server;
  server.add({.path = "/meet", .body = "met", .rendezvous = true});
  server.rendezvous(3, timeout);
  server.start();
  const auto client = client_for(server);
  const auto before = SteadyClock::now();
  const auto response = client->Get("/meet");
  const auto elapsed = SteadyClock::now() - before;
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  EXPECT_NE(response->body.find("rendezvous of 3 never formed: only 1 requests were in flight "
                                "together"),
            std::string::npos)
      << response->body;
  EXPECT_GE(elapsed, scaled(timeout));
  EXPECT_LT(elapsed, scaled(timeout) + scaled(1s));
}

TEST(HttpTestServer, FailsTheFirstRequestsThenSucceeds) {
  HttpTestServer server;
  server.add({.path = "/flaky", .body = "finally", .fail_first = 2, .fail_status = 500});
  server.start();
  const auto client = client_for(server);
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    const auto response = client->Get("/flaky");
    ASSERT_TRUE(response);
    statuses.push_back(response->status);
    if (response->status == 200) {
      EXPECT_EQ(response->body, "finally");
    }
  }
  EXPECT_EQ(statuses, (std::vector<int>{500, 500, 200}));
  server.reset_counters();
  const auto again = client->Get("/flaky");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 500) << "reset_counters makes fail_first apply again";
}

TEST(HttpTestServer, RetryAfterMakesTheFailures429) {
  HttpTestServer server;
  server.add({.path = "/limited", .body = "ok", .fail_first = 1, .retry_after_s = 7});
  server.start();
  const auto client = client_for(server);
  const auto first = client->Get("/limited");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 429);
  EXPECT_EQ(first->get_header_value("Retry-After"), "7");
  const auto second = client->Get("/limited");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_FALSE(second->has_header("Retry-After"));
}

TEST(HttpTestServer, CloseMidBodyGivesAShortRead) {
  HttpTestServer server;
  server.add({.path = "/cut", .body_size = 1000, .close_mid_body = true});
  server.start();
  const RawResponse response = raw_get(server.port(), "/cut");
  EXPECT_NE(response.head.find("200"), std::string::npos) << response.head;
  EXPECT_NE(response.head.find("Content-Length: 1000"), std::string::npos) << response.head;
  EXPECT_EQ(response.body, deterministic_bytes("/cut", 500));
  const auto through_client = client_for(server)->Get("/cut");
  EXPECT_FALSE(through_client) << "a client library must report the short body as an error";
}

TEST(HttpTestServer, StopReleasesAHangingRequestPromptly) {
  std::jthread client;  // declared first: on any early exit the server stops before the join
  HttpTestServer server;
  server.add({.path = "/hang", .hang = true});
  server.start();
  int status = 0;
  client = std::jthread([&] {
    const auto response = client_for(server)->Get("/hang");
    status = response ? response->status : -1;
  });
  ASSERT_TRUE(server.wait_for_in_flight(1, 10s));
  const auto before = SteadyClock::now();
  server.stop();
  EXPECT_LT(SteadyClock::now() - before, scaled(2s));
  client.join();
  EXPECT_TRUE(status == 503 || status == -1) << status;
  server.stop();  // idempotent
}

TEST(HttpTestServer, DestructorStopsWithRequestsStillWaiting) {
  std::vector<std::jthread> clients;  // joined once the server is gone
  auto server = std::make_unique<HttpTestServer>();
  server->add({.path = "/hang", .hang = true});
  server->add({.path = "/slow", .latency = 1h});
  server->add({.path = "/meet", .rendezvous = true});
  server->rendezvous(2, 1h);
  server->start();
  for (const char* path : {"/hang", "/slow", "/meet"}) {
    clients.emplace_back(
        [port = server->port(), path] { httplib::Client(kLoopback, port).Get(path); });
  }
  ASSERT_TRUE(server->wait_for_in_flight(3, 10s));
  const auto before = SteadyClock::now();
  server.reset();
  EXPECT_LT(SteadyClock::now() - before, scaled(2s));
}

TEST(HttpTestServer, TrickleSendsTheBodySlowly) {
  const auto interval = 20ms;
  HttpTestServer server;
  server.add({.path = "/drip",
              .body = "0123456789",
              .trickle = Trickle{.chunk_bytes = 2, .interval = interval}});
  server.start();
  const auto before = SteadyClock::now();
  const auto response = client_for(server)->Get("/drip");
  const auto elapsed = SteadyClock::now() - before;
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "0123456789");
  EXPECT_GE(elapsed, 5 * scaled(interval));
}

TEST(HttpTestServer, CountsHitsArrivalsAndInFlight) {
  HttpTestServer server;
  server.add({.path = "/a", .body = "a"});
  server.add({.path = "/b", .body = "b"});
  server.start();
  const auto client = client_for(server);
  const auto before = SteadyClock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Get("/a"));
  ASSERT_TRUE(client->Get("/b"));
  EXPECT_EQ(server.hits("/a"), 3u);
  EXPECT_EQ(server.hits("/b"), 1u);
  EXPECT_EQ(server.hits("/never"), 0u);
  EXPECT_EQ(server.total_hits(), 4u);
  const auto arrivals = server.arrivals("/a");
  ASSERT_EQ(arrivals.size(), 3u);
  EXPECT_GE(arrivals[0], before);
  EXPECT_TRUE(std::is_sorted(arrivals.begin(), arrivals.end()));
  ASSERT_TRUE(server.wait_until_idle(5s));
  EXPECT_EQ(server.in_flight(), 0u);
  EXPECT_EQ(server.peak_in_flight(), 1u);
  EXPECT_EQ(server.trace().size(), 4u);
  EXPECT_EQ(server.trace().max_overlap(), 1u) << "one client, one request at a time";

  server.reset_counters();
  EXPECT_EQ(server.hits("/a"), 0u);
  EXPECT_EQ(server.total_hits(), 0u);
  EXPECT_TRUE(server.arrivals("/a").empty());
  EXPECT_EQ(server.trace().size(), 0u);
}

TEST(HttpTestServer, PostAndOtherMethodsUseTheSameRoutes) {
  HttpTestServer server;
  server.add({.path = "/upload", .body = "stored"});
  server.start();
  const auto client = client_for(server);
  const auto posted = client->Post("/upload", std::string(10000, 'x'), "application/octet-stream");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->body, "stored");
  const auto again = client->Get("/upload");
  ASSERT_TRUE(again) << "the request body must not disturb the next request on the connection";
  EXPECT_EQ(again->body, "stored");
  ASSERT_TRUE(server.wait_until_idle(5s));
  const auto tasks = server.trace().tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].name, "POST /upload #1");
  EXPECT_EQ(tasks[1].name, "GET /upload #2");
}

TEST(HttpTestServer, SequentialClientsNeverShowTwoRequestsInFlight) {
  HttpTestServer server;
  server.add({.path = "/a", .body = "a"});
  server.add(
      {.path = "/drip", .body = "xyz", .trickle = Trickle{.chunk_bytes = 1, .interval = 1ms}});
  server.add({.path = "/cut", .body_size = 10, .close_mid_body = true});
  server.start();
  // A new connection per request: another server thread may take the next request while the
  // previous one is still being finished.
  for (int i = 0; i < 50; ++i) {
    httplib::Client client(kLoopback, server.port());
    ASSERT_TRUE(client.Get("/a"));
    ASSERT_TRUE(client.Head("/a"));
    ASSERT_TRUE(client.Get("/nowhere"));
    ASSERT_TRUE(client.Get("/drip"));
    EXPECT_FALSE(client.Get("/cut"));
  }
  EXPECT_EQ(server.peak_in_flight(), 1u);
}

}  // namespace
}  // namespace course
