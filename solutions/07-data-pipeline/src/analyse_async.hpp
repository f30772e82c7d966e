// Exercise 07, level 6: the same analysis on one thread, the notes' asyncio version.
//
// Each stage is a coroutine (parse is `workers` coroutines), and the queues between them are
// Asio channels of capacity options.capacity: `co_await channel.async_send(...)` suspends while
// the channel is full, as `await queue.put(...)` does, and `async_receive` while it is empty.
// The end of the stream is the notes' `None` sentinel, an empty std::optional, and not
// channel.close(): in Boost 1.81 closing a channel throws away the messages still buffered in it.
// Everything runs on the calling thread, so no state here needs a lock: the stages' lifetimes
// overlap (concurrency) but never execute at the same instant (no parallelism).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "logpipe/api.hpp"
#include "logpipe/log.hpp"

namespace logpipe {

namespace async_detail {

namespace asio = boost::asio;

// A channel of values, or of the end-of-stream marker (std::nullopt). An error code means the run
// is stopping.
template <class T>
using Channel = asio::experimental::channel<void(boost::system::error_code, std::optional<T>)>;

// co_await op(asio::as_tuple(asio::use_awaitable)) gives (error_code, value) instead of throwing.
constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);

struct NumberedLine {
  std::uint64_t sequence = 0;
  Line line;
};

// What the coroutines of one run share. One thread: no mutex.
class AsyncRun {
 public:
  AsyncRun(asio::io_context& io, const AnalyseOptions& options)
      : options_(options),
        lines_(io, options.capacity),
        records_(io, options.capacity),
        parsers_running_(options.workers) {}

  const AnalyseOptions& options() const { return options_; }
  Channel<NumberedLine>& lines() { return lines_; }
  Channel<LogRecord>& records() { return records_; }
  Report& report() { return report_; }
  std::uint64_t& lines_read() { return lines_read_; }
  bool stopping() const { return stopping_; }

  // A stop from outside: every coroutine ends at its next channel operation.
  void stop() {
    stopped_ = true;
    halt();
  }

  // A parse error. True if the run goes on (skip, within the budget).
  bool line_failed(std::uint64_t sequence, const std::exception& error) {
    if (options_.policy == ErrorPolicy::skip) {
      ++failed_;
      // Only the first ones are kept: memory must not grow with the number of bad lines.
      if (dead_letters_.size() < options_.dead_letter_limit) {
        dead_letters_.push_back(DeadLetter{sequence, "parse", error.what()});
      }
      if (failed_ <= options_.error_budget) return true;
      fail(std::make_exception_ptr(ErrorBudgetExceeded(std::to_string(failed_) +
                                                       " lines were malformed, more than the error "
                                                       "budget of " +
                                                       std::to_string(options_.error_budget) +
                                                       "; the last: " + error.what())));
      return false;
    }
    fail(std::current_exception());
    return false;
  }

  // Any other error (a file that cannot be read): the run stops and analyse_async throws it.
  void fail(const std::exception_ptr& error) {
    if (first_error_ == nullptr && !stopping_) first_error_ = error;
    halt();
  }

  // True for the last parser to end: it sends the end of the stream on, once.
  bool last_parser_done() { return --parsers_running_ == 0; }

  Analysis result() {
    if (first_error_ != nullptr) std::rethrow_exception(first_error_);
    report_.lines = lines_read_;
    report_.malformed = failed_;
    RunResult run;
    run.outcome = stopped_ ? Outcome::stopped : Outcome::completed;
    run.dead_letters = std::move(dead_letters_);
    run.failed = failed_;
    return Analysis{std::move(report_), std::move(run)};
  }

 private:
  // Ends every stage: a waiting send or receive completes with an error, and a closed channel
  // refuses the next one (and drops what it holds, which is what a stop wants).
  void halt() {
    stopping_ = true;
    lines_.cancel();
    lines_.close();
    records_.cancel();
    records_.close();
  }

  const AnalyseOptions& options_;
  Channel<NumberedLine> lines_;
  Channel<LogRecord> records_;
  std::size_t parsers_running_;
  Report report_;
  std::uint64_t lines_read_ = 0;
  std::vector<DeadLetter> dead_letters_;
  std::uint64_t failed_ = 0;
  std::exception_ptr first_error_;
  bool stopping_ = false;
  bool stopped_ = false;
};

// The course's LogReader reads each file: a line longer than kMaxLineBytes is cut (parse then
// refuses it), and a file truncated while it is read is an error. try_next() never waits: when a
// named pipe has nothing yet, this coroutine sleeps on a timer and tries again, so that the loop
// goes on parsing what was read (a blocking wait here would stop every coroutine: the notes'
// time.sleep in a coroutine), and a stop ends the wait.
inline asio::awaitable<void> read_lines(AsyncRun& run,
                                        const std::vector<std::filesystem::path>& logs) {
  std::uint64_t sequence = 0;
  asio::steady_timer retry(co_await asio::this_coro::executor);
  for (const auto& path : logs) {
    if (run.stopping()) co_return;
    LogReader file(path);
    Line line{&path, 0, {}};
    while (!run.stopping()) {
      std::string_view text;
      const LogReader::Read read = file.try_next(text);
      if (read == LogReader::Read::end) break;
      if (read == LogReader::Read::wait) {
        retry.expires_after(std::chrono::milliseconds(20));
        co_await retry.async_wait(as_tuple);
        continue;
      }
      line.text.assign(text);
      ++line.number;
      ++run.lines_read();
      // A named value, moved in: g++ 12 destroys a temporary argument of a co_await too early.
      std::optional<NumberedLine> numbered = NumberedLine{sequence++, line};
      const std::tuple<boost::system::error_code> sent =
          co_await run.lines().async_send({}, std::move(numbered), as_tuple);
      if (std::get<0>(sent)) co_return;  // the run is stopping
    }
  }
  // The end of the stream: one marker per parser, since each parser stops at the first it gets.
  for (std::size_t i = 0; i < run.options().workers; ++i) {
    std::optional<NumberedLine> end;
    const std::tuple<boost::system::error_code> sent =
        co_await run.lines().async_send({}, std::move(end), as_tuple);
    if (std::get<0>(sent)) co_return;
  }
}

inline asio::awaitable<void> parse_lines(AsyncRun& run) {
  for (;;) {
    // g++ 12 miscompiles a co_await inside a loop's condition: receive first, then test.
    // (g++ 12 also mishandles structured bindings of a co_await's result: use std::get.)
    std::tuple<boost::system::error_code, std::optional<NumberedLine>> received =
        co_await run.lines().async_receive(as_tuple);
    if (std::get<0>(received)) co_return;  // the run is stopping
    if (!std::get<1>(received)) break;     // the end of the stream
    const NumberedLine& numbered = *std::get<1>(received);
    std::optional<LogRecord> record;
    try {
      record = parse_line(numbered.line);
      if (run.options().on_record) run.options().on_record(*record);
    } catch (const std::exception& e) {
      // Fail fast, or over the budget: the run is stopping.
      if (!run.line_failed(numbered.sequence, e)) co_return;
      continue;
    }
    const std::tuple<boost::system::error_code> sent =
        co_await run.records().async_send({}, std::move(record), as_tuple);
    if (std::get<0>(sent)) co_return;
  }
  if (run.last_parser_done()) {
    std::optional<LogRecord> end;
    co_await run.records().async_send({}, std::move(end), as_tuple);
  }
}

inline asio::awaitable<void> aggregate(AsyncRun& run) {
  for (;;) {
    std::tuple<boost::system::error_code, std::optional<LogRecord>> received =
        co_await run.records().async_receive(as_tuple);
    // An error: the run is stopping. No value: the end of the stream.
    if (std::get<0>(received) || !std::get<1>(received)) co_return;
    const LogRecord& record = *std::get<1>(received);
    if (run.options().filter.matches(record)) run.report().add(record);
  }
}

}  // namespace async_detail

// The same contract as analyse() (src/analyse.hpp), on the calling thread alone.
inline Analysis analyse_async(const std::vector<std::filesystem::path>& logs,
                              const AnalyseOptions& options, const std::stop_token& stop = {}) {
  namespace asio = boost::asio;
  if (options.workers == 0)
    throw std::invalid_argument("analyse_async: workers must be at least 1");
  if (options.capacity == 0)
    throw std::invalid_argument("analyse_async: capacity must be at least 1");
  asio::io_context io(1);
  async_detail::AsyncRun run(io, options);
  // Any coroutine that ends with an exception stops the run with it.
  const auto when_done = [&run](const std::exception_ptr& error) {
    if (error != nullptr) run.fail(error);
  };
  asio::co_spawn(io, async_detail::read_lines(run, logs), when_done);
  for (std::size_t i = 0; i < options.workers; ++i) {
    asio::co_spawn(io, async_detail::parse_lines(run), when_done);
  }
  asio::co_spawn(io, async_detail::aggregate(run), when_done);
  // A stop from another thread is posted to the loop, which alone touches the run.
  const std::stop_callback on_stop(stop, [&] { asio::post(io, [&run] { run.stop(); }); });
  io.run();
  return run.result();
}

}  // namespace logpipe
