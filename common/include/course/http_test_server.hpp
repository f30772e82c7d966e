// An HTTP server for tests, bound to 127.0.0.1 on an ephemeral port.
//
// Routes are configured per test: status, body, latency and faults. The server counts requests
// per path, requests in flight and the peak in flight, records arrival times, and traces every
// request as a task. Its thread pool grows up to Options::threads, so hundreds of slow requests
// are served at once. A rendezvous answers only once k requests wait at the same time: a client
// that sends them one after another gets 504s instead of a hang.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "course/trace.hpp"

namespace course {

// 64-bit FNV-1a, to checksum what was served.
std::uint64_t fnv1a(std::string_view data);
// n pseudo-random bytes that depend only on the seed (a shorter result is a prefix of a longer
// one); a route with body_size serves deterministic_bytes(path, body_size).
std::string deterministic_bytes(std::string_view seed, std::size_t n);

// Sends a body slowly: `interval` (scaled by time_scale()) before each chunk of `chunk_bytes`, so
// a body of size s takes at least ceil(s / chunk_bytes) × interval.
struct Trickle {
  std::size_t chunk_bytes = 1;
  std::chrono::milliseconds interval{10};
};

// What the server answers for one path. Every member has a default, so designated initializers
// name only what a test needs: {.path = "/a", .latency = 200ms}. A request goes through these steps
// in order: rendezvous (if enabled), latency, fail_first, hang, then the body.
// The name (comm) of every thread the test server runs: a test that counts the threads of the code
// under test leaves these out.
inline constexpr std::string_view kServerThreadName = "course-server";

struct Route {
  std::string path{};  // exact match on the request path, any method, e.g. "/img/1.jpg"
  int status = 200;
  std::string body{};
  std::optional<std::size_t> body_size{};  // serve deterministic_bytes(path, *body_size) instead
  // With `links`, the default content type becomes "text/html; charset=utf-8".
  std::string content_type = "application/octet-stream";
  std::vector<std::pair<std::string, std::string>> headers{};
  std::chrono::milliseconds latency{0};  // delay before answering, scaled by time_scale()
  bool hang = false;                     // never answers until the server stops (then 503)
  bool close_mid_body = false;  // headers with the full Content-Length, half the body, then close
  std::optional<Trickle> trickle{};
  int fail_first = 0;  // the first fail_first requests to this path get fail_status
  int fail_status = 503;
  std::optional<int> retry_after_s{};  // when set, those failures are 429 with "Retry-After: N"
  int retry_after_first = 0;  // > 0: only the first N failures carry Retry-After, the rest are
                              // fail_status without it (0: every failure)
  std::vector<std::string> links{};  // when non-empty the body is an HTML page linking to these
  bool rendezvous = false;           // takes part in HttpTestServer::rendezvous
};

class HttpTestServer {
 public:
  struct Options {
    std::size_t threads = 512;  // the most requests handled at once
    // How long an idle keep-alive connection is kept. stop() waits for idle connections that a
    // client still holds open, for at most this long.
    std::chrono::seconds keep_alive_timeout{1};
  };

  HttpTestServer();
  explicit HttpTestServer(Options options);
  ~HttpTestServer();  // stop()
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  // Adds or replaces the route for route.path (before or after start; thread-safe). Replacing a
  // route keeps its path's counters.
  HttpTestServer& add(Route route);

  // Binds 127.0.0.1:0 and returns once the server has answered one request of its own (to a
  // reserved path that counters and trace ignore; it makes sure the server accepts and keeps
  // TSan quiet about cpp-httplib's first-use statics). Throws std::runtime_error if it cannot
  // bind. A server starts at most once.
  void start();
  // Releases every waiting request (hang, latency, rendezvous, trickle: they get 503 or are cut
  // short), stops accepting, and joins the server's threads. Idempotent.
  void stop();

  std::uint16_t port() const;
  std::string url(std::string_view path) const;  // "http://127.0.0.1:PORT/path"

  // Requests to routes with Route::rendezvous are answered only once k of them are waiting at
  // the same time; then all k go on. Each later group of k forms anew. A request that waits
  // `timeout` (scaled) without its group forming is answered 504 with a body that says "rendezvous
  // of k never formed: only m requests were in flight together". Until this is called, k is 1
  // (no waiting).
  void rendezvous(std::size_t k, std::chrono::milliseconds timeout);

  // ---- Counters. A request is in flight from its arrival until just before the last bytes of
  // its response are written (latency and trickle included). So a client that has read a whole
  // answer never finds its request still counted, and a client that sends one request at a time
  // peaks at 1. ----
  std::size_t hits(std::string_view path) const;  // unknown paths are counted too
  std::size_t total_hits() const;
  std::size_t in_flight() const;
  std::size_t peak_in_flight() const;
  // Zeroes hits and arrivals (so fail_first applies again), sets the peak to the current count,
  // and clears the trace.
  void reset_counters();
  std::vector<std::chrono::steady_clock::time_point> arrivals(std::string_view path) const;

  // Wait for a state of the server, at most `timeout` (scaled); true if it was reached.
  bool wait_for_in_flight(std::size_t n, std::chrono::milliseconds timeout) const;  // >= n
  bool wait_until_idle(std::chrono::milliseconds timeout) const;                    // == 0

  // Every request is a task "GET /path #n" (n counts that path's requests from 1): start at
  // arrival, end when it stops being in flight, wait segments while it waits for the rendezvous,
  // the latency or the end of a hang.
  Trace& trace();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace course
