// The endpoints and the middleware: JSON answers, 404/405, a failing handler, X-Response-Time and
// the log line.
#include <mutex>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace async_server::testing {
namespace {

const auto kTimeout = course::scaled(milliseconds(5000));

TEST(Endpoints, IndexListsEveryEndpoint) {
  RunningServer running;
  const auto response = get(running.port(), "/", kTimeout);
  ASSERT_EQ(response.status, 200) << "GET / should answer 200; got: " << response.error;
  EXPECT_EQ(response.header("Content-Type").value_or(""), "application/json");
  ASSERT_TRUE(is_json(response.body)) << "the index must be JSON; got: " << response.body;
  for (const char* path : {"/fast", "/medium", "/slow", "/mixed", "/sequential"}) {
    EXPECT_NE(response.body.find(std::string("\"") + path + "\""), std::string::npos)
        << "the index does not list " << path << ": " << response.body;
  }
}

TEST(Endpoints, OperationsAnswerJsonWithTheirDuration) {
  const Config config = test_config();
  RunningServer running(config);
  struct Case {
    const char* path;
    const char* name;
    DurationRange range;
  };
  for (const Case& c :
       {Case{"/fast", "fast", config.fast}, Case{"/medium", "medium", config.medium},
        Case{"/slow", "slow", config.slow}}) {
    SCOPED_TRACE(c.path);
    const auto response = get(running.port(), c.path, kTimeout);
    ASSERT_EQ(response.status, 200) << response.error;
    ASSERT_TRUE(is_json(response.body)) << response.body;
    EXPECT_EQ(json_field(response.body, "endpoint").value_or(""), c.path) << response.body;
    const auto operations = json_operations(response.body);
    ASSERT_EQ(operations.size(), 1u) << "one operation expected in " << response.body;
    EXPECT_EQ(operations[0].first, c.name);
    // The operation waits a duration drawn from its range, scaled like the config says.
    const double low = static_cast<double>(c.range.min.count()) * config.time_scale;
    EXPECT_GE(operations[0].second, low * 0.95)
        << c.path << " reported " << operations[0].second << " ms, less than its range allows";
    EXPECT_GE(ms(response.latency), low * 0.95)
        << c.path << " answered in " << describe(response.latency) << ", before its operation ("
        << low << " ms at least) could have finished";
    ASSERT_TRUE(json_field(response.body, "total_ms")) << response.body;
  }
}

TEST(Endpoints, UnknownPathIs404Json) {
  RunningServer running;
  const auto response = get(running.port(), "/no/such/page?x=1", kTimeout);
  ASSERT_EQ(response.status, 404) << response.error;
  EXPECT_TRUE(is_json(response.body)) << "errors are JSON too; got: " << response.body;
  EXPECT_TRUE(json_field(response.body, "error")) << response.body;
}

TEST(Endpoints, WrongMethodIs405WithAllow) {
  RunningServer running;
  // Every endpoint, not only one: each 405 names both methods.
  for (const char* path : {"/", "/fast", "/medium", "/slow", "/mixed", "/sequential", "/error"}) {
    for (const char* method : {"POST", "DELETE", "BREW"}) {
      SCOPED_TRACE(std::string(method) + " " + path);
      const auto response = get(running.port(), path, kTimeout, method);
      ASSERT_EQ(response.status, 405) << response.error;
      EXPECT_TRUE(is_json(response.body)) << response.body;
      const auto allow = response.header("Allow").value_or("");
      EXPECT_TRUE(allow.find("GET") != std::string::npos && allow.find("HEAD") != std::string::npos)
          << "a 405 must say which methods are allowed, both of them (Allow: GET, HEAD); got '"
          << allow << "'";
    }
  }
  const auto head = get(running.port(), "/", kTimeout, "HEAD");
  EXPECT_EQ(head.status, 200) << "HEAD is allowed wherever GET is: " << head.error;
  EXPECT_TRUE(head.body.empty()) << "a HEAD answer has no body";
}

// A HEAD answer has the GET answer's header and no body: a body sent anyway would be read as the
// start of the next answer on a keep-alive connection.
TEST(Endpoints, HeadAnswersWithoutABody) {
  RunningServer running;
  Connection connection(running.port());
  connection.send(request_text("/", "HEAD"));
  const auto head = connection.read_response(Clock::now() + kTimeout, /*head=*/true);
  ASSERT_EQ(head.status, 200) << "HEAD is allowed wherever GET is: " << head.error;
  connection.send(request_text("/"));
  const auto after = connection.read_response(Clock::now() + kTimeout);
  ASSERT_EQ(after.status, 200)
      << "a GET after a HEAD on the same connection got no proper answer ("
      << (after.complete() ? std::to_string(after.status) : after.error)
      << "): the HEAD answer carried a body, which the client read as the next answer. Send the "
         "header only (Content-Length may say what GET would send).";
  EXPECT_TRUE(is_json(after.body)) << after.body;
  const auto length = head.header("Content-Length");
  if (length) {
    EXPECT_EQ(*length, std::to_string(after.body.size()))
        << "a HEAD answer's Content-Length is the length of the body GET would get";
  }
}

TEST(Endpoints, HandlerExceptionBecomesJson500) {
  RunningServer running;
  Connection connection(running.port());
  connection.send(request_text("/error"));
  const auto failed = connection.read_response(Clock::now() + kTimeout);
  ASSERT_EQ(failed.status, 500)
      << "GET /error's handler throws: the middleware must answer a JSON 500 instead of "
         "letting the exception end the connection or the server; got: "
      << (failed.complete() ? std::to_string(failed.status) : failed.error);
  EXPECT_TRUE(is_json(failed.body)) << failed.body;
  // The connection and the server live on.
  connection.send(request_text("/fast"));
  EXPECT_EQ(connection.read_response(Clock::now() + kTimeout).status, 200)
      << "after a 500 the same keep-alive connection should still be served";
  EXPECT_EQ(get(running.port(), "/", kTimeout).status, 200)
      << "after a 500 the server should still answer new connections";
}

TEST(Middleware, EveryAnswerHasXResponseTime) {
  Config config = test_config();
  config.header_limit = 1024;
  config.body_limit = 1024;
  RunningServer running(config);
  const std::string big_header =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  const std::string big_body =
      "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + std::string(4096, 'b');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"200", request_text("/fast")},
      {"404", request_text("/nowhere")},
      {"405", request_text("/fast", "POST")},
      {"500", request_text("/error")},
      {"400", "this is not HTTP\r\n\r\n"},
      {"431", big_header},
      {"413", big_body},
  };
  for (const auto& [status, bytes] : cases) {
    SCOPED_TRACE("expected status " + status);
    Connection connection(running.port());
    connection.send(bytes);
    const auto response = connection.read_response(Clock::now() + kTimeout);
    ASSERT_EQ(std::to_string(response.status), status) << response.error;
    const auto header = response.header("X-Response-Time");
    ASSERT_TRUE(header) << "a " << status
                        << " answer has no X-Response-Time header: the middleware must stamp "
                           "every answer, errors included";
    EXPECT_NE(header->find("ms"), std::string::npos) << "expected like '12.345ms'; got " << *header;
  }
}

TEST(Middleware, ResponseTimeMatchesTheMeasuredLatency) {
  RunningServer running;
  for (const char* path : {"/fast", "/medium"}) {
    SCOPED_TRACE(path);
    const auto response = get(running.port(), path, kTimeout);
    ASSERT_EQ(response.status, 200) << response.error;
    const auto header = response.header("X-Response-Time");
    ASSERT_TRUE(header) << "no X-Response-Time header";
    const double reported = std::atof(header->c_str());
    const auto operations = json_operations(response.body);
    ASSERT_EQ(operations.size(), 1u) << response.body;
    EXPECT_GE(reported, operations[0].second * 0.99)
        << "X-Response-Time says " << reported << " ms, less than the operation it waited for ("
        << operations[0].second << " ms)";
    EXPECT_LE(reported, ms(response.latency) + 1.0)
        << "X-Response-Time says " << reported << " ms, more than the client measured ("
        << describe(response.latency) << ")";
  }
}

TEST(Middleware, LogsOneLinePerRequest) {
  Config config = test_config();
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mutex = std::make_shared<std::mutex>();
  config.log = [lines, mutex](std::string_view line) {
    const std::scoped_lock lock(*mutex);
    lines->emplace_back(line);
  };
  {
    RunningServer running(config);
    EXPECT_EQ(get(running.port(), "/fast", kTimeout).status, 200);
    EXPECT_EQ(get(running.port(), "/nowhere?q=1", kTimeout).status, 404);
    EXPECT_EQ(get(running.port(), "/fast", kTimeout, "POST").status, 405);
  }
  const std::scoped_lock lock(*mutex);
  ASSERT_EQ(lines->size(), 3u) << "one log line per request expected";
  const std::vector<std::string> starts = {"GET /fast 200 ", "GET /nowhere 404 ",
                                           "POST /fast 405 "};
  for (std::size_t i = 0; i < starts.size(); ++i) {
    EXPECT_EQ((*lines)[i].rfind(starts[i], 0), 0u)
        << "log line " << i << " should start with '" << starts[i]
        << "' (method, path, status, time); got '" << (*lines)[i] << "'";
    EXPECT_NE((*lines)[i].find("ms"), std::string::npos) << (*lines)[i];
  }
}

// A request refused for its size still has a method and a path: its log line names them.
TEST(Middleware, LogsRefusedRequestsWithTheirMethodAndPath) {
  Config config = test_config();
  config.body_limit = 1024;
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mutex = std::make_shared<std::mutex>();
  config.log = [lines, mutex](std::string_view line) {
    const std::scoped_lock lock(*mutex);
    lines->emplace_back(line);
  };
  const auto exchange = [](std::uint16_t port, const std::string& bytes) {
    Connection connection(port);
    connection.send(bytes);
    return connection.read_response(Clock::now() + kTimeout);
  };
  {
    RunningServer running(config);
    const std::string body(4096, 'b');
    EXPECT_EQ(exchange(running.port(), "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                           std::to_string(body.size()) + "\r\n\r\n" + body)
                  .status,
              413);
    EXPECT_EQ(exchange(running.port(),
                       "PUT /medium HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
                  .status,
              413);
  }
  const std::scoped_lock lock(*mutex);
  ASSERT_EQ(lines->size(), 2u) << "one log line per request, refused requests included";
  const std::vector<std::string> starts = {"POST /fast 413 ", "PUT /medium 413 "};
  for (std::size_t i = 0; i < starts.size(); ++i) {
    EXPECT_EQ((*lines)[i].rfind(starts[i], 0), 0u)
        << "log line " << i << " should start with '" << starts[i] << "': the request line was "
        << "read before the body was refused, so the log knows the method and the path; got '"
        << (*lines)[i] << "'";
  }
}

}  // namespace
}  // namespace async_server::testing
