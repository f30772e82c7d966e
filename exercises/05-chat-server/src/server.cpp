// The event loop: the io_context, its threads, the accept loop and the graceful shutdown.
// Read ../README.md first (level 1).
#include <stdexcept>

#include "session.hpp"

namespace chat {

namespace {
[[noreturn]] void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) + " is not implemented yet (level 1 of 05-chat-server)");
}
}  // namespace

// Whatever the server needs: the Config, the Counters, the Hub, an io_context, the acceptor,
// the threads...
struct Server::Impl {
  explicit Impl(Config c) : config(std::move(c)) {}
  Config config;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() = default;  // level 1: stop() first

// Level 1: bind and listen on config.host:config.port (port 0: any free port), spawn the
// accept loop with asio::co_spawn, run the io_context on config.threads std::jthreads.
void Server::start() { not_implemented("Server::start"); }

std::uint16_t Server::port() const { not_implemented("Server::port"); }

// Level 5: close the acceptor, send every client its ERROR line, wait for the sessions to end
// (up to config.shutdown_deadline), stop the io_context and join the threads.
void Server::stop() {}

Stats Server::stats() const { not_implemented("Server::stats"); }

}  // namespace chat
