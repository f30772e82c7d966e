// One connection: a reader and a writer, two coroutines on the connection's strand. The reader
// never writes to the socket and the writer never reads, so a client that stops reading blocks
// only its own writer; what others send it waits in its bounded queue (Client).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <deque>
#include <exception>
#include <memory>

#include "session.hpp"

namespace chat::detail {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// "127.0.0.1:40312", or "unknown" when the client has already gone.
std::string describe_peer(const tcp::socket& socket) {
  boost::system::error_code error;
  const auto peer = socket.remote_endpoint(error);
  if (error) return "unknown";
  return peer.address().to_string() + ":" + std::to_string(peer.port());
}

// The host part of the client's prefix (nick!user@host).
std::string peer_host(const tcp::socket& socket) {
  boost::system::error_code error;
  const auto peer = socket.remote_endpoint(error);
  return error ? std::string("unknown") : peer.address().to_string();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Hub& hub, const SessionSettings& settings)
      : socket_(std::move(socket)),
        hub_(hub),
        settings_(settings),
        doorbell_(socket_.get_executor()),
        registration_timer_(socket_.get_executor()),
        close_timer_(socket_.get_executor()) {}

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  asio::awaitable<void> run(Counters& counters) {
    using namespace asio::experimental::awaitable_operators;
    attach(counters);
    hub_.connected(client_, describe_peer(socket_));
    watch_registration();
    co_await (read_loop(counters) && write_loop());
    registration_timer_.cancel();
    close_timer_.cancel();
  }

 private:
  // Made once the Session is owned by a shared_ptr: the client's wake-up call holds a weak one.
  void attach(Counters& counters) {
    client_ = std::make_shared<Client>(peer_host(socket_), settings_.queue, counters,
                                       [weak = weak_from_this()] { ring(weak); });
    commands_.emplace(hub_, client_);
  }

  // Any thread may send to this client; the writer lives on the strand, so the wake-up is
  // posted there. A session that has ended is not woken.
  static void ring(const std::weak_ptr<Session>& weak) {
    if (auto self = weak.lock()) {
      asio::post(self->socket_.get_executor(), [self] { self->on_ring(); });
    }
  }

  void on_ring() {
    doorbell_.cancel();  // the writer, if it waits, looks at the queue again
    if (client_->closing() && !close_armed_) arm_close_timer();
  }

  // A closing client gets Config::close_timeout to take its last lines; a client that reads
  // nothing (a slow consumer) would otherwise hold its writer forever.
  void arm_close_timer() {
    close_armed_ = true;
    close_timer_.expires_after(settings_.close_timeout);
    close_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) self->close_socket();
    });
  }

  void watch_registration() {
    registration_timer_.expires_after(settings_.registration_timeout);
    registration_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error && !self->client_->registered) {
        self->client_->close("ERROR :Closing link: registration timeout");
      }
    });
  }

  void close_socket() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  asio::awaitable<void> read_loop(Counters& counters) {
    std::array<char, 4096> buffer{};
    LineFramer framer;
    std::vector<std::string> lines;
    while (!client_->closing()) {
      auto [error, n] = co_await socket_.async_read_some(asio::buffer(buffer), use_tuple);
      if (error) break;  // the client closed or reset the connection, or the writer closed it
      lines.clear();
      framer.feed(std::string_view(buffer.data(), n), lines);
      for (const auto& line : lines) {
        counters.handled_on_this_thread();
        commands_->handle(line);
        if (client_->closing()) break;  // QUIT, or too slow: the rest is not read
      }
    }
    // A dropped connection counts as a QUIT (quit() does nothing the second time).
    hub_.quit(client_, client_->slow() ? "slow consumer" : "Connection closed");
    client_->close("ERROR :Closing link: connection closed");
  }

  asio::awaitable<void> write_loop() {
    std::deque<SharedLine> lines;
    std::vector<asio::const_buffer> buffers;
    while (!client_->finished()) {
      client_->take(lines);
      if (lines.empty()) {
        doorbell_.expires_at(asio::steady_timer::time_point::max());
        co_await doorbell_.async_wait(use_tuple);  // cancelled by ring()
        continue;
      }
      buffers.clear();
      for (const auto& line : lines) buffers.push_back(asio::buffer(*line));
      auto [error, n] = co_await asio::async_write(socket_, buffers, use_tuple);
      if (error) {
        client_->close("");  // nobody reads this connection any more: drop what comes
        break;
      }
    }
    close_socket();  // ends the reader's read too
  }

  tcp::socket socket_;
  Hub& hub_;
  const SessionSettings& settings_;
  std::shared_ptr<Client> client_;
  std::optional<CommandHandler> commands_;
  asio::steady_timer doorbell_;
  asio::steady_timer registration_timer_;
  asio::steady_timer close_timer_;
  bool close_armed_ = false;
};

}  // namespace

void start_session(tcp::socket socket, Hub& hub, Counters& counters,
                   const SessionSettings& settings) {
  auto session = std::make_shared<Session>(std::move(socket), hub, settings);
  const auto executor = session->executor();
  asio::co_spawn(
      executor, [session, &counters]() { return session->run(counters); },
      [](const std::exception_ptr& failure) {
        if (failure) std::rethrow_exception(failure);
      });
}

}  // namespace chat::detail
