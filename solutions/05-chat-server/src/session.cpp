// One connection: a reader and a writer, two coroutines on the connection's strand. The reader
// never writes to the socket and the writer never reads, so a client that stops reading blocks
// only its own writer; what others send it waits in its bounded queue (Client), and the senders
// wait for it to drain (flow control) until it is cut as a slow consumer.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <exception>
#include <memory>
#include <optional>

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
      : socket_(std::move(socket)), hub_(hub), settings_(settings) {}

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  // On the connection's strand: the reader starts, a coroutine for the connection's whole life.
  // The writer is a coroutine too, started when lines arrive (on_ring) and ended when it has
  // written them all: most connections are idle most of the time, and an idle one then holds
  // no writer, no doorbell timer and no pending wait (about 1 KiB each).
  void start(Counters& counters) {
    attach(counters);
    hub_.connected(client_, describe_peer(socket_));
    watch_registration();
    reading_ = true;
    asio::co_spawn(executor(), read_loop(counters),
                   [self = shared_from_this()](const std::exception_ptr& failure) {
                     self->reading_ = false;
                     self->ended(failure);
                   });
  }

 private:
  // The reader or a writer has ended. Once neither runs, the connection is over: the timers
  // still armed would keep the Session alive until they fire.
  void ended(const std::exception_ptr& failure) {
    if (!reading_ && !writing_) {
      registration_timer_.reset();  // destroying a timer cancels its wait
      slow_timer_.reset();
      close_timer_.reset();
      resume_.reset();
    }
    if (failure) std::rethrow_exception(failure);
  }

  // A timer made when first needed: an idle connection pays for none of them.
  asio::steady_timer& timer(std::unique_ptr<asio::steady_timer>& slot) {
    if (!slot) slot = std::make_unique<asio::steady_timer>(executor());
    return *slot;
  }

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

  // Lines arrived in an empty queue, the queue went over its mark, or the client is closing.
  void on_ring() {
    if (!reading_ && !writing_ && !socket_.is_open()) return;  // the connection is over
    if (!writing_) start_writer();  // a writer that runs will find the lines: it takes them all
    if (client_->closing()) {
      if (resume_) resume_->cancel();  // a reader held back by flow control stops waiting
      if (!close_armed_) arm_close_timer();
    } else if (client_->over_mark() && !slow_armed_) {
      arm_slow_consumer_timer();
    }
  }

  // Flow control holds the senders back while this client's queue is over its mark. A client
  // that reads drains it and they go on; one that does not would hold them forever, so when its
  // writer has taken nothing for Config::slow_consumer_timeout it is cut.
  void arm_slow_consumer_timer() {
    slow_armed_ = true;
    auto& slow_timer = timer(slow_timer_);
    slow_timer.expires_after(settings_.slow_consumer_timeout);
    slow_timer.async_wait(
        [self = shared_from_this(), takes = client_->takes()](boost::system::error_code error) {
          self->slow_armed_ = false;
          auto& client = *self->client_;
          if (error || client.closing() || !client.over_mark()) return;
          if (client.takes() == takes) {
            client.disconnect_slow();
          } else {
            self->arm_slow_consumer_timer();  // it drained, and filled up again: a new period
          }
        });
  }

  // A closing client gets Config::close_timeout to take its last lines; a client that reads
  // nothing (a slow consumer) would otherwise hold its writer forever.
  void arm_close_timer() {
    close_armed_ = true;
    auto& close_timer = timer(close_timer_);
    close_timer.expires_after(settings_.close_timeout);
    close_timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) self->close_socket();
    });
  }

  // Dropped once the client has registered (see read_loop).
  void watch_registration() {
    auto& registration_timer = timer(registration_timer_);
    registration_timer.expires_after(settings_.registration_timeout);
    registration_timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
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

  // One buffer per loop thread, used only between a wait and the next one: a connection that
  // waits for its client holds no read buffer (most connections wait, most of the time).
  static std::array<char, 4096>& read_buffer() {
    thread_local std::array<char, 4096> buffer{};
    return buffer;
  }

  // What the client has sent, once the socket is readable: what is there, read into the thread's
  // buffer without waiting (the socket is non-blocking). Empty with no error: nothing after all.
  std::pair<boost::system::error_code, std::string_view> read_available() {
    auto& buffer = read_buffer();
    boost::system::error_code error;
    const auto n = socket_.read_some(asio::buffer(buffer), error);
    if (error == asio::error::would_block) return {};
    return {error, std::string_view(buffer.data(), error ? 0 : n)};
  }

  asio::awaitable<void> read_loop(Counters& counters) {
    LineFramer framer;
    std::vector<std::string> lines;
    socket_.non_blocking(true);
    while (!client_->closing()) {
      // Waiting for bytes needs no buffer: the read comes after, with the thread's.
      auto [closed] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
      if (closed) break;  // the writer closed the socket
      auto [error, bytes] = read_available();
      if (error) break;  // EOF: the client closed, or it reset the connection
      lines.clear();
      framer.feed(bytes, lines);  // copies what it keeps: the buffer is the thread's
      for (const auto& line : lines) {
        counters.handled_on_this_thread();
        commands_->handle(line);
        if (registration_timer_ && client_->registered) registration_timer_.reset();
        co_await wait_until_unblocked();
        if (client_->closing()) break;  // QUIT, or too slow: the rest is not read
      }
    }
    // A dropped connection counts as a QUIT (quit() does nothing the second time).
    hub_.quit(client_, client_->slow() ? "slow consumer" : "Connection closed");
    client_->close("ERROR :Closing link: connection closed");
  }

  // Flow control: this client is not read while its own queue, or the queue of a client its
  // lines went to, is over the mark. Its socket's buffer fills up, and TCP slows the client down.
  asio::awaitable<void> wait_until_unblocked() {
    while (!client_->closing()) {
      const auto blocker = client_->blocker();
      if (!blocker) co_return;
      auto& resume_timer = timer(resume_);
      resume_timer.expires_at(asio::steady_timer::time_point::max());
      blocker->when_drained([weak = weak_from_this()] { resume(weak); });
      co_await resume_timer.async_wait(use_tuple);  // cancelled by resume() or a close (on_ring)
    }
  }

  // Called from whichever thread drained the blocking queue: the wake-up goes through the strand.
  // It cannot run before the reader waits: the reader is on the strand until it does.
  static void resume(const std::weak_ptr<Session>& weak) {
    if (auto self = weak.lock()) {
      asio::post(self->socket_.get_executor(), [self] {
        if (self->resume_) self->resume_->cancel();
      });
    }
  }

  void start_writer() {
    writing_ = true;
    asio::co_spawn(executor(), write_queue(),
                   [self = shared_from_this()](const std::exception_ptr& failure) {
                     if (failure) self->writing_ = false;
                     self->ended(failure);
                   });
  }

  // Writes what is queued, one async_write per batch, until the queue is empty. Once the client
  // is closing and everything is written, the writer closes the socket, which ends the reader's
  // wait too.
  asio::awaitable<void> write_queue() {
    std::vector<SharedLine> lines;
    std::vector<asio::const_buffer> buffers;
    for (client_->take(lines); !lines.empty(); client_->take(lines)) {
      buffers.clear();
      for (const auto& line : lines) buffers.push_back(asio::buffer(*line));
      auto [error, n] = co_await asio::async_write(socket_, buffers, use_tuple);
      if (error) {
        client_->close("");  // nobody reads this connection any more: drop what comes
        close_socket();
        break;
      }
    }
    // In the same step as the take that found the queue empty: a line queued after it finds
    // the queue empty and rings, and on_ring (on this strand, after this) starts a new writer.
    writing_ = false;
    if (client_->finished()) close_socket();
  }

  tcp::socket socket_;
  Hub& hub_;
  const SessionSettings& settings_;
  std::shared_ptr<Client> client_;
  std::optional<CommandHandler> commands_;
  bool reading_ = false;
  bool writing_ = false;
  // Made when first needed (timer()), and dropped when done with.
  std::unique_ptr<asio::steady_timer> resume_;  // the reader waits on it while held back
  std::unique_ptr<asio::steady_timer> registration_timer_;
  std::unique_ptr<asio::steady_timer> slow_timer_;
  std::unique_ptr<asio::steady_timer> close_timer_;
  bool slow_armed_ = false;
  bool close_armed_ = false;
};

}  // namespace

void start_session(tcp::socket socket, Hub& hub, Counters& counters,
                   const SessionSettings& settings) {
  auto session = std::make_shared<Session>(std::move(socket), hub, settings);
  const auto executor = session->executor();
  // Called on the acceptor's strand: the session starts on its own.
  asio::post(executor, [session = std::move(session), &counters] { session->start(counters); });
}

}  // namespace chat::detail
