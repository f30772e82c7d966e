// One connection: HTTP/1.1 with Boost.Beast. This is the only file that includes Beast, so it
// is the only slow one to compile; everything it decides about answers comes from App.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "server_internal.hpp"

namespace async_server::detail {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Counts one open connection for as long as it lives.
class OpenConnection {
 public:
  explicit OpenConnection(App& app) : app_(app) { app_.connection_opened(); }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;
  ~OpenConnection() { app_.connection_closed(); }

 private:
  App& app_;
};

// Errors that mean "the peer went away or was too slow": nothing to answer, just close.
bool is_connection_error(const beast::error_code& ec) {
  return ec.category() != beast::error_code(http::error::end_of_stream).category() ||
         ec == http::error::end_of_stream || ec == http::error::partial_message;
}

ReadError classify(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return ReadError::header_too_large;
  if (ec == http::error::body_limit) return ReadError::body_too_large;
  return ReadError::malformed;
}

// "http://host:8080/fast?x" -> "/fast?x": a target in absolute form (RFC 9112, 3.2.2) names the
// same resource as its path.
std::string origin_form(std::string_view target) {
  const auto scheme_end = target.find("://");
  if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) {
    return std::string(target);
  }
  const auto path = target.find_first_of("/?", scheme_end + 3);
  if (path == std::string_view::npos) return "/";
  return (target[path] == '?' ? "/" : "") + std::string(target.substr(path));
}

bool ends_with_chunked(std::string_view codings) {
  const auto comma = codings.rfind(',');
  auto last = codings.substr(comma == std::string_view::npos ? 0 : comma + 1);
  while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
  while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
  return beast::iequals(last, "chunked");
}

// What RFC 9112 says a server must reject, and Beast accepts: a Transfer-Encoding whose last
// coding is not chunked (the body's end would be unknown, and what follows could be read as a
// second, smuggled request), and an HTTP/1.1 request without exactly one Host.
beast::error_code check_framing(const http::request_parser<http::string_body>& parser) {
  const auto& header = parser.get();
  const auto coding = header.find(http::field::transfer_encoding);
  if (coding != header.end() && !ends_with_chunked(coding->value())) {
    return http::error::bad_transfer_encoding;
  }
  const auto hosts = header.count(http::field::host);
  if (hosts > 1 || (header.version() >= 11 && hosts == 0)) return http::error::bad_field;
  return {};
}

Request to_request(http::request<http::string_body>&& message) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = origin_form(message.target());
  request.keep_alive = message.keep_alive();
  request.body = std::move(message.body());
  return request;
}

http::response<http::string_body> to_message(Response&& response) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
  message.set(http::field::server, "course-async-server");
  message.set(http::field::content_type, "application/json");
  for (auto& [name, value] : response.headers) message.set(name, value);
  message.keep_alive(response.keep_alive);
  if (response.omit_body) {
    message.content_length(response.body.size());  // what GET would send
  } else {
    message.body() = std::move(response.body);
    message.prepare_payload();
  }
  return message;
}

// Sends one answer. False when the client is gone or too slow to take it.
asio::awaitable<bool> send(beast::tcp_stream& stream, http::response<http::string_body>& message,
                           const SessionLimits& limits) {
  stream.expires_after(limits.read_timeout);
  auto [ec, written] = co_await http::async_write(stream, message, use_tuple);
  co_return !ec;
}

// Waits for the first byte of the next request, for at most the idle timeout. False when the
// connection should end (closed by the peer, timed out, server stopping).
asio::awaitable<bool> wait_for_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       const SessionLimits& limits) {
  if (buffer.size() > 0) co_return true;  // a pipelined request is already here
  stream.expires_after(limits.idle_timeout);
  auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
  if (ec) co_return false;
  buffer.commit(n);
  co_return true;
}

// Reads the request's header section into the parser, counting every byte of it. Beast's own
// header_limit only bounds the part it has not parsed yet, so a stream of small header fields
// would slip under it and grow memory without bound; this loop bounds the whole section.
asio::awaitable<beast::error_code> read_header(beast::tcp_stream& stream,
                                               beast::flat_buffer& buffer,
                                               http::request_parser<http::string_body>& parser,
                                               const SessionLimits& limits) {
  std::size_t header_bytes = 0;
  for (;;) {
    beast::error_code ec;
    const auto used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    header_bytes += used;
    if (header_bytes > limits.header_limit) co_return http::error::header_limit;
    if (parser.is_header_done()) co_return beast::error_code{};
    if (ec && ec != http::error::need_more) co_return ec;
    if (header_bytes + buffer.size() > limits.header_limit) co_return http::error::header_limit;
    auto [read_error, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
    if (read_error) co_return read_error;
    buffer.commit(n);
  }
}

// After an error answer the client may still be sending (a body over the limit): closing with
// unread bytes would reset the connection and could destroy the answer before the client reads
// it. So stop sending, then read and drop what comes for a short while.
asio::awaitable<void> close_gracefully(beast::tcp_stream& stream, const SessionLimits& limits) {
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::min<Clock::duration>(limits.read_timeout, std::chrono::seconds(1)));
  std::array<char, 4096> sink{};
  for (std::size_t drained = 0; drained < std::size_t{1024} * 1024;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
    drained += n;
  }
  stream.socket().close(ignored);
}

}  // namespace

// Reads a request and answers it, again and again. Pipelined requests wait in `buffer` and are
// answered in order, each as soon as it is ready: nothing ready is held back.
asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket, App& app) {
  const OpenConnection counted(app);
  const SessionLimits limits = app.limits();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;

  while (!app.stopping() && co_await wait_for_request(stream, buffer, limits)) {
    const auto started = Clock::now();
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    // The whole request must arrive within the read timeout: a client that trickles its
    // header one byte at a time (slowloris) is cut off.
    stream.expires_after(limits.read_timeout);
    auto read_error = co_await read_header(stream, buffer, parser, limits);
    if (!read_error) read_error = check_framing(parser);
    if (!read_error && !parser.is_done()) {
      auto [body_error, body_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
      read_error = body_error;
    }
    if (read_error && is_connection_error(read_error)) break;
    const bool http10 = parser.get().version() < 11;  // read before release() moves the request

    // In progress until its answer is sent: a graceful stop waits for it.
    const RequestInProgress in_progress(app);
    Response response;
    if (read_error) {
      // The request line is parsed before the fields, so a request refused for its header
      // (a body over the limit) still has a method and a target for the log.
      const auto& header = parser.get();
      const bool has_request_line = !header.method_string().empty() && !header.target().empty();
      response = app.reject(classify(read_error),
                            has_request_line ? std::string_view(header.method_string()) : "-",
                            has_request_line ? std::string_view(header.target()) : "-", started);
    } else {
      response = co_await app.respond(to_request(parser.release()), started);
    }
    const bool keep_alive = response.keep_alive && !read_error;
    auto message = to_message(std::move(response));
    message.keep_alive(keep_alive);
    // An HTTP/1.0 client assumes the server closes after each answer unless it says otherwise
    // (RFC 9112 section 9.3): our answers are HTTP/1.1, whose keep-alive is silent.
    if (keep_alive && http10) message.set(http::field::connection, "keep-alive");
    if (!co_await send(stream, message, limits)) break;
    if (!keep_alive) {
      co_await close_gracefully(stream, limits);
      co_return;
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

}  // namespace async_server::detail
