// The event loop: the io_context, its threads, the accept loop, the shared state and the
// graceful shutdown. Read ../README.md first (level 1). Asio only: no Beast here.
#include <stdexcept>

#include "server_internal.hpp"

namespace async_server {

namespace detail {

namespace {
[[noreturn]] void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) +
                         " is not implemented yet (level 1 of 03-async-server)");
}
}  // namespace

App::App(Config config) : config_(std::move(config)) {}

SessionLimits App::limits() const { not_implemented("App::limits"); }
Clock::duration App::draw(DurationRange /*range*/) { not_implemented("App::draw"); }
void App::begin_stop() { not_implemented("App::begin_stop"); }
bool App::stopping() const { not_implemented("App::stopping"); }
bool App::wait_until_idle(Clock::time_point /*deadline*/) {
  not_implemented("App::wait_until_idle");
}
void App::connection_opened() { not_implemented("App::connection_opened"); }
void App::connection_closed() { not_implemented("App::connection_closed"); }
void App::request_started() { not_implemented("App::request_started"); }
void App::request_finished() { not_implemented("App::request_finished"); }
Stats App::stats() const { not_implemented("App::stats"); }

}  // namespace detail

// Whatever the server needs: the App, an io_context, the acceptor, the threads...
struct Server::Impl {
  explicit Impl(Config c) : app(std::move(c)) {}
  detail::App app;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() = default;  // level 1: stop() first

// Level 1: bind and listen on config.host:config.port (port 0: any free port), spawn the
// accept loop with asio::co_spawn, run the io_context on config.threads std::jthreads.
void Server::start() { detail::not_implemented("Server::start"); }

std::uint16_t Server::port() const { detail::not_implemented("Server::port"); }

// Level 1: close the acceptor, let the requests in progress finish (up to
// config.shutdown_deadline), stop the io_context and join the threads.
void Server::stop() {}

Stats Server::stats() const { detail::not_implemented("Server::stats"); }

}  // namespace async_server
