// The course's HTTP/1.1 client for exercise 06: one GET per call, on Boost.Beast. fetch() runs
// async_fetch() on an io_context of its own, so both forms behave the same way.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/system/system_error.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crawler/http.hpp"
#include "crawler/http_async.hpp"

namespace crawler {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using std::chrono::milliseconds;

// Where the attempt was when it failed, to name the timeout that fired.
enum class Phase { connect, exchange };

std::string describe(const boost::system::error_code& error, Phase phase,
                     const FetchRequest& request, bool* transient) {
  *transient = true;
  if (error == beast::error::timeout) {
    const auto limit = phase == Phase::connect
                           ? std::min(request.connect_timeout, request.total_timeout)
                           : request.total_timeout;
    return std::string(phase == Phase::connect ? "connect timed out after " : "timed out after ") +
           std::to_string(limit.count()) + " ms";
  }
  if (error == asio::error::connection_refused) return "connection refused";
  if (error == asio::error::connection_reset) return "connection reset";
  if (error == http::error::end_of_stream || error == http::error::partial_message ||
      error == asio::error::eof) {
    return "connection closed before the end of the page";
  }
  *transient = false;
  if (error == http::error::body_limit) {
    return "page larger than " + std::to_string(request.max_body_bytes) + " bytes";
  }
  if (error.category() == make_error_code(http::error::bad_method).category()) {
    return "malformed HTTP answer: " + error.message();
  }
  *transient = true;
  return error.message();
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view text) {
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

FetchResult failure(std::string error, bool transient) {
  FetchResult result;
  result.error = std::move(error);
  result.transient = transient;
  return result;
}

// The target of the GET: the path (at least "/") and the query.
std::string target_of(const boost::urls::url_view& url) {
  std::string target(url.encoded_path());
  if (target.empty()) target = "/";
  if (url.has_query()) target += "?" + std::string(url.encoded_query());
  return target;
}

// The addresses to connect to. An IP address (as written, or pinned by request.resolve) needs no
// look-up: Asio runs getaddrinfo on a thread of its own, one per io_context, which would cost a
// thread per blocking fetch().
asio::awaitable<std::vector<tcp::endpoint>> resolve(const FetchRequest& request,
                                                    const std::string& host,
                                                    const std::string& port) {
  const auto pinned = request.resolve.find(host);
  std::string name = pinned == request.resolve.end() ? host : pinned->second;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  boost::system::error_code not_an_address;
  const auto address = asio::ip::make_address(name, not_an_address);
  if (!not_an_address) {
    co_return std::vector<tcp::endpoint>{
        tcp::endpoint(address, static_cast<unsigned short>(std::stoi(port)))};
  }
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  const auto results = co_await resolver.async_resolve(name, port, asio::use_awaitable);
  co_return std::vector<tcp::endpoint>(results.begin(), results.end());
}

}  // namespace

asio::awaitable<FetchResult> async_fetch(FetchRequest request, std::stop_token stop) {
  const auto parsed = boost::urls::parse_absolute_uri(request.url);
  if (!parsed) co_return failure("malformed URL: " + request.url, false);
  const boost::urls::url_view& url = *parsed;
  if (url.scheme() != "http") {
    co_return failure("unsupported scheme: " + std::string(url.scheme()), false);
  }
  const std::string host(url.encoded_host());
  const std::string port = url.has_port() ? std::string(url.port()) : std::string("80");
  if (stop.stop_requested()) co_return failure("cancelled", false);

  auto executor = co_await asio::this_coro::executor;
  auto stream = std::make_shared<beast::tcp_stream>(executor);
  // A stop request may come from any thread: it cancels the stream's operations on the stream's
  // own executor, where the coroutine runs.
  const std::stop_callback on_stop(
      stop, [stream, executor] { asio::post(executor, [stream] { stream->cancel(); }); });
  // That cancel reaches only an operation in progress on the stream. A stop that lands before
  // the first one or between two (while resolving, say) is caught here, before the next starts;
  // once one has started, the posted cancel runs after it and ends it.
  const auto end_if_stopped = [&stop] {
    if (stop.stop_requested()) throw boost::system::system_error(asio::error::operation_aborted);
  };

  Phase phase = Phase::connect;
  try {
    std::vector<tcp::endpoint> endpoints;
    try {
      endpoints = co_await resolve(request, host, port);
    } catch (const boost::system::system_error& error) {
      co_return failure("cannot resolve host: " + host + " (" + error.code().message() + ")",
                        false);
    }
    end_if_stopped();
    const auto start = std::chrono::steady_clock::now();
    stream->expires_after(std::min(request.connect_timeout, request.total_timeout));
    co_await stream->async_connect(endpoints, asio::use_awaitable);
    phase = Phase::exchange;
    stream->expires_at(start + request.total_timeout);

    http::request<http::empty_body> get{http::verb::get, target_of(url), 11};
    get.set(http::field::host, url.encoded_host_and_port());
    get.set(http::field::user_agent, request.user_agent);
    get.set(http::field::accept, "text/html, */*;q=0.5");
    get.set(http::field::connection, "close");
    end_if_stopped();
    co_await http::async_write(*stream, get, asio::use_awaitable);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(request.max_body_bytes);
    end_if_stopped();
    boost::system::error_code read_error;
    co_await http::async_read(*stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, read_error));
    if (read_error == http::error::body_limit && parser.is_header_done()) {
      // The server answered, with a page too large to read to its end: the answer's status is
      // known, and recorded with the error.
      bool transient = false;
      FetchResult result = failure(describe(read_error, phase, request, &transient), transient);
      result.status = static_cast<int>(parser.get().result_int());
      result.content_type = std::string(parser.get()[http::field::content_type]);
      result.body = std::move(parser.get().body());  // what was read: at most the limit
      co_return result;
    }
    if (read_error) throw boost::system::system_error(read_error);

    auto& response = parser.get();
    FetchResult result;
    result.status = static_cast<int>(response.result_int());
    result.content_type = std::string(response[http::field::content_type]);
    result.location = std::string(response[http::field::location]);
    if (const auto it = response.find(http::field::retry_after); it != response.end()) {
      result.retry_after = parse_retry_after(it->value());
    }
    result.body = std::move(response.body());
    result.transient = result.status == 429 || result.status >= 500;
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return result;
  } catch (const boost::system::system_error& error) {
    if (stop.stop_requested()) co_return failure("cancelled", false);
    bool transient = false;
    std::string what = describe(error.code(), phase, request, &transient);
    co_return failure(std::move(what), transient);
  }
}

FetchResult fetch(const FetchRequest& request, std::stop_token stop) {
  asio::io_context io;
  FetchResult result = failure("cancelled", false);
  std::exception_ptr failed;
  asio::co_spawn(io, async_fetch(request, std::move(stop)),
                 [&](std::exception_ptr error, FetchResult fetched) {
                   failed = std::move(error);
                   result = std::move(fetched);
                 });
  io.run();
  if (failed) std::rethrow_exception(failed);
  return result;
}

}  // namespace crawler
