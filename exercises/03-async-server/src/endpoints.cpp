// The endpoints and the middleware: what the server answers. Read ../README.md first (level 3).
// Asio only: no Beast here.
#include <stdexcept>

#include "server_internal.hpp"

namespace async_server::detail {

// Level 3: route the request (404, 405), run the endpoint's handler (the simulated operations
// wait on an asio::steady_timer, never in a blocking sleep; /mixed runs its three at once),
// then the middleware: an exception becomes a JSON 500, X-Response-Time, the log line.
asio::awaitable<Response> App::route(const Request& /*request*/) {
  throw std::logic_error("App::route is not implemented yet (level 3 of 03-async-server)");
}

// A coroutine takes its parameters by value: a reference could outlive what it refers to while
// the coroutine is suspended.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
asio::awaitable<Response> App::respond(Request /*request*/, Clock::time_point /*started*/) {
  throw std::logic_error("App::respond is not implemented yet (level 3 of 03-async-server)");
}

Response App::reject(ReadError /*error*/, std::string_view /*method*/, std::string_view /*target*/,
                     Clock::time_point /*started*/) {
  throw std::logic_error("App::reject is not implemented yet (level 3 of 03-async-server)");
}

void App::finish(Response& /*response*/, std::string_view /*method*/, std::string_view /*target*/,
                 Clock::time_point /*started*/) {
  throw std::logic_error("App::finish is not implemented yet (level 3 of 03-async-server)");
}

}  // namespace async_server::detail
