// The event loop: an io_context run by Config::threads threads (one by default, the asyncio
// model), an accept loop that starts a session per connection, and a graceful shutdown.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "session.hpp"

namespace chat {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

void validate(const Config& config) {
  const auto check = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("chat::Config: ") + what);
  };
  check(config.threads >= 1, "threads must be at least 1");
  check(!config.server_name.empty() && config.server_name.find(' ') == std::string::npos,
        "server_name must be one word");
  check(config.max_queued_lines > 0 && config.max_queued_bytes > 0, "queue caps must be positive");
  check(config.registration_timeout.count() > 0 && config.close_timeout.count() > 0 &&
            config.slow_consumer_timeout.count() > 0 && config.shutdown_deadline.count() > 0,
        "timeouts must be positive");
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, detail::Hub& hub,
                                  detail::Counters& counters,
                                  const detail::SessionSettings& settings) {
  auto& io = static_cast<asio::io_context&>(acceptor.get_executor().context());
  for (;;) {
    // Each connection gets a strand: its reader, its writer and its timers never run at the
    // same time, even when several threads run the loop.
    auto [error, socket] =
        co_await acceptor.async_accept(asio::make_strand(io), asio::as_tuple(asio::use_awaitable));
    if (!acceptor.is_open()) co_return;  // stop() closed it
    if (error) {
      // Out of file descriptors, for instance: wait a little instead of spinning.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    detail::start_session(std::move(socket), hub, counters, settings);
  }
}

void rethrow_failure(const std::exception_ptr& failure) {
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

// Members are destroyed in reverse order: the threads are joined first, and the io_context
// (whose destruction destroys the sessions still suspended in it) goes before the Hub and the
// settings they point to.
struct Server::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        settings{
            .queue = {.max_lines = config.max_queued_lines, .max_bytes = config.max_queued_bytes},
            .registration_timeout = config.registration_timeout,
            .close_timeout = config.close_timeout,
            .slow_consumer_timeout = config.slow_consumer_timeout},
        hub(config, counters),
        io(std::max(config.threads, 1)) {}

  Config config;
  detail::SessionSettings settings;
  detail::Counters counters;
  detail::Hub hub;
  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::jthread> threads;
  std::uint16_t port = 0;
  std::mutex lifecycle;
  bool started = false;
  bool stopped = false;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() { stop(); }

void Server::start() {
  const std::scoped_lock lock(impl_->lifecycle);
  if (impl_->started) throw std::logic_error("chat::Server::start: started twice");
  const auto& config = impl_->config;
  validate(config);

  const tcp::endpoint endpoint(asio::ip::make_address(config.host), config.port);
  // The acceptor has a strand too: stop() closing it must not run at the same time as the
  // accept loop using it.
  auto& acceptor = impl_->acceptor.emplace(asio::make_strand(impl_->io));
  boost::system::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    impl_->acceptor.reset();
    throw std::system_error(std::error_code(error), "chat: cannot listen on " + config.host + ":" +
                                                        std::to_string(config.port));
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->started = true;

  impl_->work.emplace(impl_->io.get_executor());
  asio::co_spawn(acceptor.get_executor(),
                 accept_loop(acceptor, impl_->hub, impl_->counters, impl_->settings),
                 rethrow_failure);
  for (int i = 0; i < config.threads; ++i) {
    impl_->threads.emplace_back([io = &impl_->io] { io->run(); });
  }
}

std::uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  const std::scoped_lock lock(impl_->lifecycle);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  const auto deadline = detail::Clock::now() + impl_->config.shutdown_deadline;
  // 1. No new connections. The acceptor belongs to its strand, so it is closed there.
  auto closed = asio::post(impl_->acceptor->get_executor(), asio::use_future([this] {
                             boost::system::error_code ignored;
                             impl_->acceptor->close(ignored);
                           }));
  closed.wait_until(deadline);
  // 2. Every client gets its ERROR line; each session ends once it is written (or its
  //    close_timeout passes), and leaves the Hub.
  impl_->hub.close_all("ERROR :Closing link: server shutting down");
  impl_->hub.wait_until_empty(deadline);
  // 3. End the loop and join its threads.
  impl_->work.reset();
  impl_->io.stop();
  impl_->threads.clear();
  boost::system::error_code ignored;
  impl_->acceptor->close(ignored);
}

Stats Server::stats() const {
  Stats stats;
  impl_->hub.fill(stats);
  stats.slow_consumers = impl_->counters.slow_consumers;
  stats.peak_queued_lines = impl_->counters.peak_queued_lines;
  stats.peak_queued_bytes = impl_->counters.peak_queued_bytes;
  const std::scoped_lock lock(impl_->counters.threads_mutex);
  stats.loop_threads = impl_->counters.loop_threads;
  return stats;
}

}  // namespace chat
