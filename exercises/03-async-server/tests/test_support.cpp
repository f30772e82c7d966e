// The tests' HTTP client (POSIX sockets and poll) and JSON helpers (nlohmann-json, only here).
#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace async_server::testing {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Parses one response from the front of `buffer`: nullopt when more bytes are needed; a response
// with status -1 when the bytes are not HTTP.
std::optional<HttpResponse> parse_response(std::string& buffer, bool head) {
  const auto end_of_header = buffer.find("\r\n\r\n");
  if (end_of_header == std::string::npos) return std::nullopt;
  HttpResponse response;
  const std::string_view header(buffer.data(), end_of_header);
  const auto first_line_end = header.find("\r\n");
  const auto status_line = header.substr(0, first_line_end);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1.") {
    response.status = -1;
    response.error = "not an HTTP response: " + std::string(status_line.substr(0, 40));
    return response;
  }
  response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  std::size_t position =
      first_line_end == std::string_view::npos ? header.size() : first_line_end + 2;
  while (position < header.size()) {
    auto line_end = header.find("\r\n", position);
    if (line_end == std::string_view::npos) line_end = header.size();
    const auto line = header.substr(position, line_end - position);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      response.headers[lower(line.substr(0, colon))] = std::string(value);
    }
    position = line_end + 2;
  }
  std::size_t length = 0;
  if (auto it = response.headers.find("content-length"); it != response.headers.end() && !head) {
    length = std::stoul(it->second);
  }
  const std::size_t total = end_of_header + 4 + length;
  if (buffer.size() < total) return std::nullopt;
  response.body = buffer.substr(end_of_header + 4, length);
  buffer.erase(0, total);
  return response;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  const auto it = headers.find(lower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<Connection> Connection::try_open(std::uint16_t port) {
  auto opened = course::LoopbackConnection::try_open(port);
  if (!opened) return std::nullopt;
  return Connection(std::move(*opened));
}

HttpResponse Connection::read_response(Clock::time_point deadline, bool head) {
  const auto start = Clock::now();
  for (;;) {
    if (auto response = parse_response(buffer(), head)) {
      response->latency = Clock::now() - start;
      return *response;
    }
    if (!receive(deadline)) {
      HttpResponse failed;
      failed.error = error();
      return failed;
    }
  }
}

std::string request_text(std::string_view path, std::string_view method, bool close) {
  std::string text = std::string(method) + " " + std::string(path) +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: course-tests\r\n";
  if (close) text += "Connection: close\r\n";
  return text + "\r\n";
}

HttpResponse get(std::uint16_t port, std::string_view path, Clock::duration timeout,
                 std::string_view method) {
  const auto deadline = Clock::now() + timeout;
  auto connection = Connection::try_open(port);
  if (!connection) {
    HttpResponse refused;
    refused.error = "connection refused";
    return refused;
  }
  const auto start = Clock::now();
  connection->send(request_text(path, method));
  auto response = connection->read_response(deadline, method == "HEAD");
  response.latency = Clock::now() - start;
  return response;
}

std::vector<HttpResponse> get_concurrently(std::uint16_t port, std::string_view path, std::size_t n,
                                           Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<HttpResponse> responses(n);
  std::vector<std::optional<Connection>> connections;
  std::vector<Clock::time_point> sent(n);
  const auto text = request_text(path);
  for (std::size_t i = 0; i < n; ++i) {
    connections.push_back(Connection::try_open(port));
    if (!connections.back()) {
      responses[i].error = "connection refused";
      continue;
    }
    sent[i] = Clock::now();
    if (!connections.back()->send(text)) responses[i].error = "send failed";
  }
  std::vector<std::string> buffers(n);
  std::vector<bool> done(n);
  for (std::size_t i = 0; i < n; ++i) done[i] = !connections[i] || !responses[i].error.empty();
  while (std::find(done.begin(), done.end(), false) != done.end()) {
    std::vector<pollfd> waiting;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      waiting.push_back({.fd = connections[i]->fd(), .events = POLLIN, .revents = 0});
      index.push_back(i);
    }
    const int ready = ::poll(waiting.data(), waiting.size(), course::poll_timeout_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // the deadline
    for (std::size_t k = 0; k < waiting.size(); ++k) {
      if (waiting[k].revents == 0) continue;
      const auto i = index[k];
      std::array<char, 16384> chunk{};
      const auto got = ::recv(waiting[k].fd, chunk.data(), chunk.size(), 0);
      if (got <= 0) {
        responses[i].error = got == 0 ? "closed by the server" : "connection reset";
        done[i] = true;
        continue;
      }
      buffers[i].append(chunk.data(), static_cast<std::size_t>(got));
      if (auto response = parse_response(buffers[i], false)) {
        responses[i] = std::move(*response);
        responses[i].latency = Clock::now() - sent[i];
        done[i] = true;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!done[i]) responses[i].error = "timed out";
  }
  return responses;
}

Config test_config() {
  Config config;
  config.time_scale = 0.2 * course::time_scale();  // fast 20-60 ms, slow 400-800 ms at scale 1
  config.seed = 42;
  config.idle_timeout = course::scaled(milliseconds(2000));
  config.read_timeout = course::scaled(milliseconds(2000));
  config.shutdown_deadline = course::scaled(milliseconds(2000));
  return config;
}

RunningServer::RunningServer(Config config) : server(std::move(config)) { server.start(); }

bool is_json(std::string_view text) { return nlohmann::json::accept(text); }

std::optional<std::string> json_field(std::string_view text, std::string_view key) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains(key)) return std::nullopt;
  const auto& value = json.at(std::string(key));
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::vector<std::pair<std::string, double>> json_operations(std::string_view text) {
  std::vector<std::pair<std::string, double>> operations;
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("operations")) return operations;
  for (const auto& operation : json.at("operations")) {
    if (!operation.is_object() || !operation.contains("name") || !operation.contains("ms"))
      continue;
    if (!operation["name"].is_string() || !operation["ms"].is_number()) continue;
    operations.emplace_back(operation["name"].get<std::string>(), operation["ms"].get<double>());
  }
  return operations;
}

std::string describe(Clock::duration d) {
  std::array<char, 32> text{};
  const double millis = ms(d);
  if (millis < 1000) {
    std::snprintf(text.data(), text.size(), "%.0f ms", millis);
  } else {
    std::snprintf(text.data(), text.size(), "%.2f s", millis / 1000);
  }
  return text.data();
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace async_server::testing
