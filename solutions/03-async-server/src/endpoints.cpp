// The endpoints and the middleware: what the server answers. Asio only, no Beast: the session
// (session.cpp) hands each request over as a plain Request and writes the Response back.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "server_internal.hpp"

namespace async_server::detail {

namespace {

using std::chrono::duration;
using Millis = duration<double, std::milli>;

// ---- JSON, by hand: the bodies are small and their shape is fixed ----

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
          // Control bytes and non-ASCII (which may not be valid UTF-8) as \u00XX.
          std::array<char, 8> escaped{};
          std::snprintf(escaped.data(), escaped.size(), "\\u%04x", static_cast<unsigned char>(c));
          out += escaped.data();
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string milliseconds_text(Clock::duration d) {
  std::array<char, 32> text{};
  const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), Millis(d).count(),
                                          std::chars_format::fixed, 3);
  return {text.data(), error == std::errc{} ? end : text.data()};
}

Response json_error(unsigned status, std::string_view message) {
  Response response;
  response.status = status;
  response.body =
      "{\"status\":" + std::to_string(status) + ",\"error\":" + json_string(message) + "}";
  return response;
}

// ---- the simulated operations ----

struct Operation {
  std::string name;
  Clock::duration took;
};

// The notes' `await asyncio.sleep(d)`: the coroutine waits on a timer, and while it waits the
// event loop runs every other connection. A blocking sleep here would freeze them all.
asio::awaitable<Operation> simulate(App& app, std::string name, DurationRange range) {
  const auto planned = app.draw(range);
  const auto start = Clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor, planned);
  co_await timer.async_wait(asio::use_awaitable);
  co_return Operation{std::move(name), Clock::now() - start};
}

Response operations_body(std::string_view endpoint, std::string_view mode,
                         const std::vector<Operation>& operations, Clock::duration total) {
  std::string list;
  for (const auto& operation : operations) {
    if (!list.empty()) list += ",";
    list += "{\"name\":" + json_string(operation.name) +
            ",\"ms\":" + milliseconds_text(operation.took) + "}";
  }
  Response response;
  response.body = "{\"endpoint\":" + json_string(endpoint) + ",\"mode\":" + json_string(mode) +
                  ",\"operations\":[" + list + "],\"total_ms\":" + milliseconds_text(total) + "}";
  return response;
}

asio::awaitable<Response> one_operation(App& app, std::string_view endpoint, std::string name,
                                        DurationRange range) {
  const auto start = Clock::now();
  auto operation = co_await simulate(app, std::move(name), range);
  co_return operations_body(endpoint, "single", {std::move(operation)}, Clock::now() - start);
}

// The notes' asyncio.gather: the three operations wait at the same time, so the whole takes
// about the longest of them. `&&` starts every operand at once and resumes when all are done.
asio::awaitable<Response> mixed(App& app) {
  using namespace asio::experimental::awaitable_operators;
  const auto& config = app.config();
  const auto start = Clock::now();
  auto [fast, medium, slow] =
      co_await (simulate(app, "fast", config.fast) && simulate(app, "medium", config.medium) &&
                simulate(app, "slow", config.slow));
  co_return operations_body("/mixed", "concurrent", {fast, medium, slow}, Clock::now() - start);
}

// One `await` after the other: about the sum of the three.
asio::awaitable<Response> sequential(App& app) {
  const auto& config = app.config();
  const auto start = Clock::now();
  std::vector<Operation> operations;
  operations.push_back(co_await simulate(app, "fast", config.fast));
  operations.push_back(co_await simulate(app, "medium", config.medium));
  operations.push_back(co_await simulate(app, "slow", config.slow));
  co_return operations_body("/sequential", "sequential", operations, Clock::now() - start);
}

// A handler that fails after a short operation: the middleware must turn it into a 500.
asio::awaitable<Response> failing(App& app) {
  co_await simulate(app, "fast", app.config().fast);
  throw std::runtime_error("the simulated operation failed");
}

asio::awaitable<Response> index() {
  Response response;
  response.body =
      R"json({"server":"course-async-server","endpoints":[)json"
      R"json({"path":"/","description":"this index"},)json"
      R"json({"path":"/fast","description":"a fast operation, 0.1-0.3 s"},)json"
      R"json({"path":"/medium","description":"a medium operation, 0.5-1.5 s"},)json"
      R"json({"path":"/slow","description":"a slow operation, 2-4 s"},)json"
      R"json({"path":"/mixed","description":"fast, medium and slow at the same time"},)json"
      R"json({"path":"/sequential","description":"fast, medium and slow one after the other"},)json"
      R"json({"path":"/error","description":"an operation that fails: 500"}]})json";
  co_return response;
}

constexpr std::array<std::string_view, 7> kPaths = {"/",      "/fast",       "/medium", "/slow",
                                                    "/mixed", "/sequential", "/error"};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace

asio::awaitable<Response> App::route(const Request& request) {
  const auto path = path_of(request.target);
  if (std::find(kPaths.begin(), kPaths.end(), path) == kPaths.end()) {
    co_return json_error(404, "no endpoint at " + std::string(path));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    auto response = json_error(405, "method " + request.method + " is not allowed here");
    response.headers.emplace_back("Allow", "GET, HEAD");
    co_return response;
  }
  if (path == "/") {
    co_return co_await index();
  }
  if (path == "/fast") {
    co_return co_await one_operation(*this, path, "fast", config_.fast);
  }
  if (path == "/medium") {
    co_return co_await one_operation(*this, path, "medium", config_.medium);
  }
  if (path == "/slow") {
    co_return co_await one_operation(*this, path, "slow", config_.slow);
  }
  if (path == "/mixed") {
    co_return co_await mixed(*this);
  }
  if (path == "/sequential") {
    co_return co_await sequential(*this);
  }
  co_return co_await failing(*this);
}

// The middleware around every handler, like an aiohttp middleware: a failing handler becomes a
// JSON 500 (the connection and the server live on), then finish() stamps and logs the answer.
asio::awaitable<Response> App::respond(Request request, Clock::time_point started) {
  Response response;
  std::exception_ptr failure;
  try {
    response = co_await route(request);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      response = json_error(500, std::string("internal error: ") + e.what());
    } catch (...) {
      response = json_error(500, "internal error");
    }
  }
  response.keep_alive = request.keep_alive;
  response.omit_body = request.method == "HEAD";
  finish(response, request.method, request.target, started);
  co_return response;
}

Response App::reject(ReadError error, std::string_view method, std::string_view target,
                     Clock::time_point started) {
  Response response;
  switch (error) {
    case ReadError::header_too_large:
      response = json_error(431, "the request's header section is larger than " +
                                     std::to_string(config_.header_limit) + " bytes");
      break;
    case ReadError::body_too_large:
      response = json_error(413, "the request's body is larger than " +
                                     std::to_string(config_.body_limit) + " bytes");
      break;
    case ReadError::malformed:
      response = json_error(400, "malformed HTTP request");
      break;
  }
  response.keep_alive = false;
  finish(response, method, target, started);
  return response;
}

// Every answer, errors included, says how long it took and leaves one log line.
void App::finish(Response& response, std::string_view method, std::string_view target,
                 Clock::time_point started) {
  const auto elapsed = Clock::now() - started;
  const auto millis = milliseconds_text(elapsed);
  response.headers.emplace_back("X-Response-Time", millis + "ms");
  if (stopping()) response.keep_alive = false;
  if (config_.log) {
    const std::string line = std::string(method) + " " + std::string(path_of(target)) + " " +
                             std::to_string(response.status) + " " + millis + "ms";
    const std::scoped_lock lock(log_mutex_);
    config_.log(line);
  }
}

}  // namespace async_server::detail
