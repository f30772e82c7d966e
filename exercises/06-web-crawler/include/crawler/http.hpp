// Exercise 06: fetching one page over HTTP/1.1. Given by the course (lib/http_client.cpp, on
// Boost.Beast): the exercise is about scheduling fetches, not about writing an HTTP client.
//
// One call is one attempt: one connection, one GET, no redirect followed, no retry. The blocking
// fetch() is for threads; async_fetch() (http_async.hpp) is the same attempt as a coroutine.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <stop_token>
#include <string>

namespace crawler {

struct FetchRequest {
  std::string url;  // an absolute http:// URL (canonical_url's form)
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};  // from the start of the attempt
  std::size_t max_body_bytes = std::size_t{8} << 20;
  std::string user_agent = "course-crawler/1.0";
  std::map<std::string, std::string> resolve{};  // host name -> IP address, bypassing DNS
};

struct FetchResult {
  // 0 when no answer came. A page larger than max_body_bytes has its answer's status, with the
  // error, and the part of its body that was read.
  int status = 0;
  std::string content_type{};                         // the Content-Type header, as sent
  std::string location{};                             // the Location header of a redirect, as sent
  std::optional<std::chrono::seconds> retry_after{};  // Retry-After in seconds, when sent
  std::string body{};
  // Empty when an answer came; otherwise what went wrong: "connection refused", "timed out after
  // 500 ms", "page larger than 1048576 bytes", "connection closed before the end of the page",
  // "cannot resolve host: ...", "unsupported scheme: https", "cancelled", ...
  std::string error{};
  // True when a retry may help: a network failure (refused, reset, timed out, cut short), or an
  // answer of 429 or 5xx.
  bool transient = false;

  bool answered() const { return status != 0 && error.empty(); }
};

// One attempt, blocking the calling thread. A stop request ends it at once with the error
// "cancelled". Never throws for a network or HTTP failure: they are in the result.
FetchResult fetch(const FetchRequest& request, std::stop_token stop = {});

}  // namespace crawler
