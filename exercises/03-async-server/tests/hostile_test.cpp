// Hostile input: garbage, broken framing, oversized requests, idle and slow clients. The server
// answers what it can with a 4xx, closes what it must, never crashes, and keeps serving everyone
// else. These tests also run under AddressSanitizer + UBSan.
#include <algorithm>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace async_server::testing {
namespace {

const auto kTimeout = course::scaled(milliseconds(5000));

// A normal client is still served promptly.
void expect_still_serving(std::uint16_t port, const char* while_what) {
  const auto bound = course::scaled(milliseconds(1000));
  const auto response = get(port, "/", kTimeout);
  EXPECT_EQ(response.status, 200) << "a normal client was not served " << while_what << ": "
                                  << response.error;
  EXPECT_LE(response.latency, bound)
      << "a normal client waited " << describe(response.latency) << " for the index " << while_what;
}

// Sends the bytes on a new connection and returns the answer (status 0 when the server closed
// the connection without one).
HttpResponse exchange(std::uint16_t port, const std::string& bytes) {
  Connection connection(port);
  connection.send(bytes);
  return connection.read_response(Clock::now() + kTimeout);
}

TEST(Hostile, GarbageGets400AndTheServerLivesOn) {
  RunningServer running;
  const std::vector<std::string> corpus = {
      "\r\n\r\n",
      "hello\r\n\r\n",
      "GET\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET / FTP/1.1\r\nHost: x\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      std::string("GET /\0 HTTP/1.1\r\n\r\n", 19),
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",  // TLS hello
      std::string(300, '\xff') + "\r\n\r\n",
  };
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    SCOPED_TRACE("corpus entry " + std::to_string(i));
    const auto response = exchange(running.port(), corpus[i]);
    // Either a 400 or, for bytes that cannot even start a request, a closed connection; never
    // a success and never a crash.
    if (response.complete()) {
      EXPECT_EQ(response.status, 400)
          << "garbage got a " << response.status << ": " << response.body;
      EXPECT_TRUE(is_json(response.body)) << response.body;
    }
  }
  expect_still_serving(running.port(), "after the garbage");
  EXPECT_GE(running.server.stats().requests, 10u)
      << "most of the garbage should get a JSON 400, not a silently closed connection";
}

TEST(Hostile, ATransferEncodingNotEndingInChunkedGets400AndNothingIsSmuggled) {
  RunningServer running;
  for (const char* codings : {"gzip", "chunked, gzip", "identity"}) {
    SCOPED_TRACE(std::string("Transfer-Encoding: ") + codings);
    Connection connection(running.port());
    // With a coding other than chunked last, the body's end is unknown (RFC 9112, 6.3): a server
    // that reads on would take "GET /error" as a second request, smuggled past whatever
    // checked the first.
    connection.send(std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + codings +
                    "\r\n\r\nGET /error HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto deadline = Clock::now() + kTimeout;
    const auto first = connection.read_response(deadline);
    EXPECT_EQ(first.status, 400) << "the framing is invalid: answer 400, then close";
    const auto second = connection.read_response(deadline);
    EXPECT_FALSE(second.complete())
        << "the body was read as a second request (a " << second.status
        << " for GET /error): request smuggling. Check Transfer-Encoding once the header is "
           "read, and close the connection after the 400";
    EXPECT_TRUE(connection.wait_closed(deadline))
        << "the connection stayed open after a request whose framing is invalid";
  }
  expect_still_serving(running.port(), "after the smuggling attempts");
}

TEST(Hostile, AnHttp11RequestNeedsExactlyOneHost) {
  RunningServer running;
  const std::pair<const char*, const char*> refused[] = {
      {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 without Host (RFC 9112, 3.2)"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "two Host fields"},
  };
  for (const auto& [request, what] : refused) {
    SCOPED_TRACE(what);
    Connection connection(running.port());
    connection.send(request);
    const auto deadline = Clock::now() + kTimeout;
    EXPECT_EQ(connection.read_response(deadline).status, 400);
    EXPECT_TRUE(connection.wait_closed(deadline)) << "the connection stayed open after the 400";
  }
  EXPECT_EQ(exchange(running.port(), "GET / HTTP/1.0\r\n\r\n").status, 200)
      << "HTTP/1.0 has no Host rule";
  EXPECT_EQ(exchange(running.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
}

TEST(Hostile, MissingCrlfIsRejectedOrTimedOut) {
  Config config = test_config();
  config.read_timeout = course::scaled(milliseconds(400));
  RunningServer running(config);
  // Bare line feeds instead of CRLF: not HTTP/1.1.
  const auto bare = exchange(running.port(), "GET / HTTP/1.1\nHost: x\n\n");
  EXPECT_EQ(bare.status, 400) << "bare LF line endings should get 400: " << bare.error;
  // A header section that never ends (no blank line): closed after the read timeout.
  Connection unfinished(running.port());
  unfinished.send("GET / HTTP/1.1\r\nHost: x\r\n");
  const auto start = Clock::now();
  const bool closed = unfinished.wait_closed(start + 10 * config.read_timeout);
  EXPECT_TRUE(closed) << "a request without its final CRLF was never closed: a read timeout "
                         "must end requests that never finish";
  expect_still_serving(running.port(), "after the missing CRLF");
}

TEST(Hostile, HugeHeaderGets431) {
  RunningServer running;
  const std::string huge =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(std::size_t{16} * 1024, 'h') +
      "\r\n\r\n";
  const auto response = exchange(running.port(), huge);
  ASSERT_TRUE(response.complete()) << "no answer to a 16 KiB header: " << response.error;
  EXPECT_EQ(response.status, 431)
      << "a header section over 8 KiB should get 431 Request Header Fields Too Large";
  EXPECT_TRUE(is_json(response.body)) << response.body;
  // Many headers that add up to more than 8 KiB too.
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 800; ++i) many += "X-H" + std::to_string(i) + ": 0123456789\r\n";
  EXPECT_EQ(exchange(running.port(), many + "\r\n").status, 431);
  // Just under the limit is fine.
  const std::string fits =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(std::size_t{6} * 1024, 'h') +
      "\r\n\r\n";
  EXPECT_EQ(exchange(running.port(), fits).status, 200) << "a 6 KiB header is within the limit";
  expect_still_serving(running.port(), "after huge headers");
}

TEST(Hostile, HugeBodyGets413) {
  Config config = test_config();
  config.body_limit = std::size_t{16} * 1024;
  RunningServer running(config);
  const std::string body(std::size_t{64} * 1024, 'b');
  const auto response =
      exchange(running.port(), "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(response.complete()) << "no answer to a 64 KiB body: " << response.error;
  EXPECT_EQ(response.status, 413) << "a body over the limit should get 413 Content Too Large";
  // A declared length far beyond the limit is refused before any byte of the body.
  EXPECT_EQ(exchange(running.port(),
                     "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
                .status,
            413);
  expect_still_serving(running.port(), "after huge bodies");
}

// The limits are bounds, probed at them, one byte below and one above: a header section (request
// line, fields and the empty line that ends them) of exactly header_limit bytes is served; a body
// of exactly body_limit bytes is served, on both ways of framing one (Content-Length, chunked).
std::string request_of_length(std::size_t length) {
  const std::string start = "GET /fast HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(length - start.size() - end.size(), 'p') + end;
}

TEST(Hostile, HeaderLimitIsExact) {
  Config config = test_config();
  config.header_limit = 1024;
  RunningServer running(config);
  for (const std::size_t length : {1023UL, 1024UL, 1025UL}) {
    SCOPED_TRACE("a header section of " + std::to_string(length) + " bytes, header_limit 1024");
    const auto response = exchange(running.port(), request_of_length(length));
    ASSERT_TRUE(response.complete()) << response.error;
    EXPECT_EQ(response.status, length <= 1024 ? 200 : 431)
        << "header_limit is the most bytes a header section may have, its final empty line "
           "included: 1024 bytes are within it, 1025 are over it";
  }
  expect_still_serving(running.port(), "after headers at the limit");
}

std::string chunked_body(std::size_t size) {
  std::string body;
  for (std::size_t left = size; left > 0;) {
    const std::size_t chunk = std::min<std::size_t>(left, 300);
    std::ostringstream head;
    head << std::hex << chunk << "\r\n";
    body += head.str() + std::string(chunk, 'c') + "\r\n";
    left -= chunk;
  }
  return body + "0\r\n\r\n";
}

TEST(Hostile, BodyLimitIsExactForContentLengthAndChunked) {
  Config config = test_config();
  config.body_limit = 1024;
  RunningServer running(config);
  for (const std::size_t size : {1023UL, 1024UL, 1025UL}) {
    const int want = size <= 1024 ? 200 : 413;
    const auto declared = exchange(
        running.port(), "GET /fast HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
                            "\r\n\r\n" + std::string(size, 'b'));
    ASSERT_TRUE(declared.complete()) << declared.error;
    EXPECT_EQ(declared.status, want)
        << "a body of " << size << " bytes sent with Content-Length, body_limit 1024: "
        << (want == 200 ? "within the limit" : "over it: 413");
    const auto chunked = exchange(
        running.port(),
        "GET /fast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body(size));
    ASSERT_TRUE(chunked.complete()) << chunked.error;
    EXPECT_EQ(chunked.status, want)
        << "a body of " << size << " bytes sent in chunks of 300, body_limit 1024: "
        << (want == 200 ? "within the limit"
                        : "over it: 413. The limit bounds a chunked body too, whose size "
                          "no header announces: count its bytes as they arrive");
  }
  expect_still_serving(running.port(), "after bodies at the limit");
}

TEST(Hostile, InvalidMethodGets400) {
  RunningServer running;
  for (const char* line : {"G(T / HTTP/1.1", "GE T / HTTP/1.1", "\"GET\" / HTTP/1.1"}) {
    SCOPED_TRACE(line);
    const auto response = exchange(running.port(), std::string(line) + "\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response.complete()) << response.error;
    EXPECT_EQ(response.status, 400) << "a method that is not an HTTP token is malformed: 400";
  }
  // A well-formed method the endpoint does not allow: 405 (see Endpoints.WrongMethodIs405).
  EXPECT_EQ(exchange(running.port(), "PATCH /fast HTTP/1.1\r\nHost: x\r\n\r\n").status, 405);
  expect_still_serving(running.port(), "after invalid methods");
}

TEST(Hostile, IdleConnectionsAreClosedAndDoNotBlockOthers) {
  const std::size_t idle_count = 1000;
  const auto limit = raise_open_file_limit(2 * idle_count + 100);
  ASSERT_GE(limit, idle_count + 50) << "the test needs " << idle_count + 50
                                    << " file descriptors; RLIMIT_NOFILE allows " << limit;
  Config config = test_config();
  config.idle_timeout = course::scaled(milliseconds(1000));
  RunningServer running(config);
  std::vector<Connection> idle;
  for (std::size_t i = 0; i < idle_count; ++i) idle.emplace_back(running.port());
  expect_still_serving(running.port(), "while 1000 connections sat idle");
  // Every idle connection is closed after the idle timeout (with a wide margin).
  const auto deadline = Clock::now() + 5 * config.idle_timeout + 2s;
  std::size_t closed = 0;
  for (auto& connection : idle) closed += connection.wait_closed(deadline) ? 1 : 0;
  EXPECT_EQ(closed, idle_count) << idle_count - closed << " of " << idle_count
                                << " idle connections were still open "
                                << describe(5 * config.idle_timeout + 2s)
                                << " later: an idle timeout must close connections that send "
                                   "nothing, or idle clients exhaust the server";
}

TEST(Hostile, SlowlorisIsCutOffAndOthersAreServed) {
  Config config = test_config();
  config.read_timeout = course::scaled(milliseconds(600));
  RunningServer running(config);
  // Slowloris: each client trickles its header one byte at a time and never finishes.
  std::vector<Connection> loris;
  for (int i = 0; i < 20; ++i) loris.emplace_back(running.port());
  const std::string text = "GET / HTTP/1.1\r\nHost: x\r\nX-Trickle: " + std::string(4000, 't');
  const auto start = Clock::now();
  const auto give_up = start + 10 * config.read_timeout;
  std::vector<bool> open(loris.size(), true);
  std::size_t sent = 0;
  bool served_meanwhile = false;
  while (Clock::now() < give_up && std::find(open.begin(), open.end(), true) != open.end()) {
    for (std::size_t i = 0; i < loris.size(); ++i) {
      if (open[i] && !loris[i].send(text.substr(sent % text.size(), 1))) open[i] = false;
    }
    ++sent;
    if (!served_meanwhile && sent == 10) {
      expect_still_serving(running.port(), "while slowloris clients trickled");
      served_meanwhile = true;
    }
    std::this_thread::sleep_for(20ms);  // the trickle's pace
  }
  const auto took = Clock::now() - start;
  const auto still_open = std::count(open.begin(), open.end(), true);
  EXPECT_EQ(still_open, 0) << still_open << " slowloris clients were still connected after "
                           << describe(took)
                           << ", sending a byte every 20 ms: a read timeout "
                              "must bound the time a whole request may take to arrive";
  EXPECT_TRUE(served_meanwhile);
}

}  // namespace
}  // namespace async_server::testing
