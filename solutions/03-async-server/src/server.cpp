// The event loop: an io_context run by Config::threads threads (one by default, the asyncio
// model), an accept loop that starts a coroutine per connection, the shared state, and a
// graceful shutdown. Asio only; the HTTP side is in session.cpp and endpoints.cpp.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "server_internal.hpp"

namespace async_server {

namespace detail {

namespace {

std::mt19937_64 seeded_generator(const std::optional<std::uint64_t>& seed) {
  if (seed) return std::mt19937_64(*seed);
  std::random_device device;
  return std::mt19937_64((std::uint64_t{device()} << 32) | device());
}

void validate(const Config& config) {
  const auto check = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("async_server::Config: ") + what);
  };
  check(config.threads >= 1, "threads must be at least 1");
  check(config.time_scale >= 0, "time_scale must not be negative");
  for (const auto& range : {config.fast, config.medium, config.slow}) {
    check(range.min.count() >= 0 && range.min <= range.max,
          "every duration range needs 0 <= min <= max");
  }
  check(config.header_limit > 0 && config.body_limit > 0, "limits must be positive");
  check(config.idle_timeout.count() > 0 && config.read_timeout.count() > 0,
        "timeouts must be positive");
}

// An exception that leaves a connection's coroutine is a bug in the server: rethrown here, it
// leaves io_context::run() and ends the program loudly instead of vanishing.
void rethrow_failure(const std::exception_ptr& failure) {
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, App& app) {
  auto& io = static_cast<asio::io_context&>(acceptor.get_executor().context());
  const bool one_thread = app.config().threads == 1;
  for (;;) {
    // With several threads each connection gets its own strand, so that its coroutine and its
    // timers never run at the same time. One thread needs none, and a strand is not free: every
    // copy of its executor counts a reference, atomically.
    const asio::any_io_executor executor =
        one_thread ? asio::any_io_executor(io.get_executor()) : asio::make_strand(io);
    auto [ec, socket] =
        co_await acceptor.async_accept(executor, asio::as_tuple(asio::use_awaitable));
    if (!acceptor.is_open()) co_return;  // stop() closed it
    if (ec) {
      // Out of file descriptors, for instance: wait a little instead of spinning.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    asio::co_spawn(executor, serve_connection(std::move(socket), app), rethrow_failure);
  }
}

}  // namespace

App::App(Config config) : config_(std::move(config)), random_(seeded_generator(config_.seed)) {}

SessionLimits App::limits() const {
  return {.header_limit = config_.header_limit,
          .body_limit = config_.body_limit,
          .idle_timeout = config_.idle_timeout,
          .read_timeout = config_.read_timeout};
}

Clock::duration App::draw(DurationRange range) {
  std::uniform_int_distribution<std::int64_t> pick(range.min.count(), range.max.count());
  std::int64_t millis = 0;
  {
    const std::scoped_lock lock(random_mutex_);
    millis = pick(random_);
  }
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(static_cast<double>(millis) * config_.time_scale));
}

void App::begin_stop() {
  const std::scoped_lock lock(stats_mutex_);
  stopping_ = true;
}

bool App::stopping() const {
  const std::scoped_lock lock(stats_mutex_);
  return stopping_;
}

bool App::wait_until_idle(Clock::time_point deadline) {
  std::unique_lock lock(stats_mutex_);
  return idle_.wait_until(lock, deadline, [this] { return stats_.in_flight == 0; });
}

void App::connection_opened() {
  const std::scoped_lock lock(stats_mutex_);
  ++stats_.connections;
  stats_.peak_connections = std::max(stats_.peak_connections, stats_.connections);
}

void App::connection_closed() {
  const std::scoped_lock lock(stats_mutex_);
  --stats_.connections;
}

void App::request_started() {
  const auto thread = std::this_thread::get_id();
  const std::scoped_lock lock(stats_mutex_);
  ++stats_.in_flight;
  stats_.peak_in_flight = std::max(stats_.peak_in_flight, stats_.in_flight);
  auto& threads = stats_.handler_threads;
  if (std::find(threads.begin(), threads.end(), thread) == threads.end()) {
    threads.push_back(thread);
  }
}

void App::request_finished() {
  const std::scoped_lock lock(stats_mutex_);
  --stats_.in_flight;
  ++stats_.requests;
  if (stats_.in_flight == 0) idle_.notify_all();
}

Stats App::stats() const {
  const std::scoped_lock lock(stats_mutex_);
  return stats_;
}

}  // namespace detail

// Members are destroyed in reverse order: the threads are joined first, and the io_context
// (whose destruction destroys the coroutines still suspended in it) goes before the App they
// point to.
struct Server::Impl {
  // The concurrency hint tells Asio how many threads will run the loop; with one, it can skip
  // some of its locking.
  explicit Impl(Config c)
      : app(std::move(c)), io(std::in_place, std::max(app.config().threads, 1)) {}

  detail::App app;
  // Destroyed by stop() once its threads are joined: that destroys the connections' coroutines,
  // and with them their sockets, so every client sees its connection close.
  std::optional<detail::asio::io_context> io;
  std::optional<detail::asio::ip::tcp::acceptor> acceptor;
  std::optional<detail::asio::executor_work_guard<detail::asio::io_context::executor_type>> work;
  std::vector<std::jthread> threads;
  std::uint16_t port = 0;
  std::mutex lifecycle;
  bool started = false;
  bool stopped = false;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() { stop(); }

void Server::start() {
  namespace asio = detail::asio;
  using asio::ip::tcp;
  const std::scoped_lock lock(impl_->lifecycle);
  if (impl_->started) throw std::logic_error("async_server::Server::start: started twice");
  const auto& config = impl_->app.config();
  detail::validate(config);

  const tcp::endpoint endpoint(asio::ip::make_address(config.host), config.port);
  // The acceptor has a strand too: with several threads, stop() closing it must not run at the
  // same time as the accept loop using it.
  auto& acceptor = impl_->acceptor.emplace(asio::make_strand(*impl_->io));
  boost::system::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    // Asio reports boost::system::system_error; the API promises the standard exception, which a
    // caller can catch without knowing Boost.
    impl_->acceptor.reset();
    throw std::system_error(
        std::error_code(error),
        "async_server: cannot listen on " + config.host + ":" + std::to_string(config.port));
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->started = true;

  impl_->work.emplace(impl_->io->get_executor());
  asio::co_spawn(acceptor.get_executor(), detail::accept_loop(acceptor, impl_->app),
                 detail::rethrow_failure);
  for (int i = 0; i < config.threads; ++i) {
    impl_->threads.emplace_back([io = &*impl_->io] { io->run(); });
  }
}

std::uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  namespace asio = detail::asio;
  const std::scoped_lock lock(impl_->lifecycle);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  const auto deadline = detail::Clock::now() + impl_->app.config().shutdown_deadline;
  // 1. No new connections: closing the listening socket makes connect() fail at once. The
  //    acceptor belongs to its strand, so it is closed there; a loop that does not get to it
  //    before the deadline (blocked by a handler) is stopped anyway, and it is closed below.
  auto closed = asio::post(impl_->acceptor->get_executor(), asio::use_future([this] {
                             boost::system::error_code ignored;
                             impl_->acceptor->close(ignored);
                           }));
  closed.wait_until(deadline);
  // 2. Requests in progress finish and are answered (with "Connection: close"), up to the
  //    deadline; idle keep-alive connections are simply closed with the loop.
  impl_->app.begin_stop();
  impl_->app.wait_until_idle(deadline);
  // 3. End the loop and join its threads; then nothing else touches the acceptor.
  impl_->work.reset();
  impl_->io->stop();
  impl_->threads.clear();
  // 4. Close every connection still open (idle ones, half-read requests, handlers past the
  //    deadline): destroying the loop destroys their suspended coroutines and sockets. The
  //    acceptor goes first, as it belongs to the loop.
  impl_->acceptor.reset();
  impl_->io.reset();
}

Stats Server::stats() const { return impl_->app.stats(); }

}  // namespace async_server
