// One connection: HTTP/1.1 with Boost.Beast. Read ../README.md first (level 2).
//
// This is the only file that should include Beast: it is slow to compile, so keep the HTTP
// parsing and writing here and let endpoints.cpp decide the answers.
#include <stdexcept>

#include "server_internal.hpp"

namespace async_server::detail {

// Level 2: read requests with a beast::http::request_parser (header_limit, body_limit) over a
// beast::tcp_stream (expires_after for the idle and read timeouts), answer each with
// app.respond() or app.reject(), write the answer, and loop while the connection is kept alive.
asio::awaitable<void> serve_connection(asio::ip::tcp::socket /*socket*/, App& /*app*/) {
  throw std::logic_error("serve_connection is not implemented yet (level 2 of 03-async-server)");
}

}  // namespace async_server::detail
