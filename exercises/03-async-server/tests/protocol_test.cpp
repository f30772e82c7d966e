// HTTP/1.1 connection handling: keep-alive, pipelining, Connection: close.
#include <cctype>
#include <string>

#include "test_support.hpp"

namespace async_server::testing {
namespace {

const auto kTimeout = course::scaled(milliseconds(5000));

TEST(Protocol, KeepAliveServesManyRequestsOnOneConnection) {
  RunningServer running;
  Connection connection(running.port());
  for (const char* path : {"/", "/fast", "/nowhere", "/fast"}) {
    SCOPED_TRACE(path);
    ASSERT_TRUE(connection.send(request_text(path)))
        << "the server closed the connection after the previous answer: HTTP/1.1 keeps a "
           "connection alive unless the client sends Connection: close";
    const auto response = connection.read_response(Clock::now() + kTimeout);
    ASSERT_TRUE(response.complete())
        << "no answer on the kept-alive connection (" << response.error << ")";
    EXPECT_NE(response.header("Connection").value_or(""), "close")
        << "the server announced it would close a keep-alive connection";
  }
  running.server.stop();  // waits for the last request to be counted
  const auto stats = running.server.stats();
  EXPECT_EQ(stats.peak_connections, 1u) << "four requests on one connection, but the server "
                                           "saw "
                                        << stats.peak_connections << " connections";
  EXPECT_EQ(stats.requests, 4u);
}

TEST(Protocol, PipelinedRequestsAreAnsweredInOrder) {
  RunningServer running;
  Connection connection(running.port());
  // Three requests in one write, the slow one first: the answers must come back in the order
  // of the requests, whatever order their operations end in.
  ASSERT_TRUE(connection.send(request_text("/slow") + request_text("/fast") + request_text("/")));
  const auto deadline = Clock::now() + 3 * kTimeout;
  const auto first = connection.read_response(deadline);
  const auto second = connection.read_response(deadline);
  const auto third = connection.read_response(deadline);
  ASSERT_EQ(first.status, 200) << "no answer to the first pipelined request: " << first.error;
  ASSERT_EQ(second.status, 200) << "no answer to the second pipelined request: " << second.error;
  ASSERT_EQ(third.status, 200) << "no answer to the third pipelined request: " << third.error;
  EXPECT_EQ(json_field(first.body, "endpoint").value_or(""), "/slow") << first.body;
  EXPECT_EQ(json_field(second.body, "endpoint").value_or(""), "/fast") << second.body;
  EXPECT_TRUE(json_field(third.body, "endpoints"))
      << "the third answer should be the index: " << third.body;
}

TEST(Protocol, PipelinedQuickAnswerIsNotHeldBehindASlowRequest) {
  auto config = test_config();
  config.slow = {5000ms, 5000ms};  // 1 s at the tests' scale: a wide margin for the bound below
  RunningServer running(config);
  const auto slow = scaled_ms(1000);
  Connection connection(running.port());
  // The index is ready at once; the /slow request pipelined behind it is not. A server may
  // gather pipelined answers to send them together, but it must not keep a ready answer
  // waiting for a slow one.
  const auto sent = Clock::now();
  ASSERT_TRUE(connection.send(request_text("/") + request_text("/slow")));
  const auto first = connection.read_response(sent + 3 * slow + kTimeout);
  const auto first_arrived = Clock::now() - sent;
  ASSERT_EQ(first.status, 200) << "no answer to the index: " << first.error;
  const auto second = connection.read_response(Clock::now() + 3 * slow + kTimeout);
  ASSERT_EQ(second.status, 200) << "no answer to /slow: " << second.error;
  EXPECT_LT(first_arrived, slow / 2)
      << course::kTimingMark << "the index was ready at once, but its answer arrived after "
      << describe(first_arrived) << ", with the /slow answer (" << describe(slow)
      << ") pipelined behind it: the server held a finished answer back while the event loop "
         "waited on a later request. If you gather pipelined answers into one write, send "
         "them before you await a request that takes time.";
}

TEST(Protocol, AnAbsoluteFormTargetIsServedLikeItsPath) {
  RunningServer running;
  const auto deadline = [] { return Clock::now() + course::scaled(milliseconds(5000)); };
  Connection connection(running.port());
  const auto host = "127.0.0.1:" + std::to_string(running.port());
  connection.send("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  const auto index = connection.read_response(deadline());
  EXPECT_EQ(index.status, 200) << "RFC 9112 (3.2.2): a server must accept the absolute form";
  connection.send("GET HTTP://" + host + "/nowhere?x=1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  const auto missing = connection.read_response(deadline());
  EXPECT_EQ(missing.status, 404) << "routed by its path, /nowhere";
}

TEST(Protocol, ConnectionCloseIsHonoured) {
  RunningServer running;
  Connection connection(running.port());
  connection.send(request_text("/", "GET", /*close=*/true));
  const auto response = connection.read_response(Clock::now() + kTimeout);
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.header("Connection").value_or(""), "close");
  EXPECT_TRUE(connection.wait_closed(Clock::now() + kTimeout))
      << "the client sent Connection: close, but the server kept the connection open";
}

// Keep-alive on every version: HTTP/1.0 closes after each answer unless the client asks for
// "Connection: keep-alive"; then the connection serves the next request too.
TEST(Protocol, Http10ClosesUnlessAskedToKeepAlive) {
  RunningServer running;
  Connection plain(running.port());
  plain.send("GET / HTTP/1.0\r\n\r\n");
  const auto first = plain.read_response(Clock::now() + kTimeout);
  ASSERT_EQ(first.status, 200) << first.error;
  EXPECT_TRUE(plain.wait_closed(Clock::now() + kTimeout))
      << "an HTTP/1.0 request without \"Connection: keep-alive\" ends its connection after the "
         "answer (HTTP/1.0's default is close; only HTTP/1.1 keeps a connection by default)";

  Connection kept(running.port());
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("request " + std::to_string(i + 1) + " on one HTTP/1.0 keep-alive connection");
    ASSERT_TRUE(kept.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    const auto response = kept.read_response(Clock::now() + kTimeout);
    ASSERT_EQ(response.status, 200)
        << "an HTTP/1.0 client that sent \"Connection: keep-alive\" may send another request on "
           "the same connection: "
        << response.error;
    std::string connection_header = response.header("Connection").value_or("");
    for (char& c : connection_header) c = static_cast<char>(std::tolower(c));
    EXPECT_EQ(connection_header, "keep-alive")
        << "an HTTP/1.0 answer that keeps the connection says so: \"Connection: keep-alive\"";
  }
}

}  // namespace
}  // namespace async_server::testing
