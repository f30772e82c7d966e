// The `async_server` command: parse the arguments, start the server, wait for SIGINT or
// SIGTERM with an asio::signal_set, shut down gracefully.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <ostream>
#include <string>
#include <system_error>
#include <type_traits>

#include "async_server/server.hpp"

namespace async_server {

namespace {

constexpr const char* kUsage =
    "usage: async_server [--port P] [--threads N] [--scale S] [--seed N] [--quiet]\n"
    "  --port P     port on 127.0.0.1 (default 8080; 0 picks a free one)\n"
    "  --threads N  threads running the event loop (default 1)\n"
    "  --scale S    multiplies every operation's duration (default 1; 0: instant)\n"
    "  --seed N     seed of the random durations\n"
    "  --quiet      no log line per request\n";

// Parses a number that must be the whole argument.
template <class T>
bool parse_number(std::string_view text, T& value) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  if constexpr (std::is_floating_point_v<T>) {
    const double parsed = std::strtod(copy.c_str(), &end);
    value = static_cast<T>(parsed);
  } else {
    if (!copy.empty() && copy.front() == '-') return false;
    const unsigned long long parsed = std::strtoull(copy.c_str(), &end, 10);
    if (parsed > static_cast<unsigned long long>(std::numeric_limits<T>::max())) return false;
    value = static_cast<T>(parsed);
  }
  return !copy.empty() && errno == 0 && end == copy.c_str() + copy.size();
}

}  // namespace

int run_command_line(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  Config config;
  config.port = 8080;
  bool quiet = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto flag = args[i];
    if (flag == "--help" || flag == "-h") {
      out << kUsage;
      return 0;
    }
    if (flag == "--quiet") {
      quiet = true;
      continue;
    }
    const bool has_value = i + 1 < args.size();
    const std::string_view value = has_value ? args[i + 1] : "";
    bool ok = has_value;
    if (flag == "--port") {
      ok = ok && parse_number(value, config.port);
    } else if (flag == "--threads") {
      unsigned threads = 0;
      ok = ok && parse_number(value, threads) && threads >= 1 && threads <= 256;
      config.threads = static_cast<int>(threads);
    } else if (flag == "--scale") {
      ok = ok && parse_number(value, config.time_scale) && config.time_scale >= 0;
    } else if (flag == "--seed") {
      std::uint64_t seed = 0;
      ok = ok && parse_number(value, seed);
      config.seed = seed;
    } else {
      err << "async_server: unknown option '" << flag << "'\n" << kUsage;
      return 2;
    }
    if (!ok) {
      err << "async_server: " << flag << " needs a valid value\n" << kUsage;
      return 2;
    }
    ++i;
  }
  // The loop's threads log while this thread reports the shutdown: one lock for `err`.
  std::mutex err_mutex;
  const auto say = [&err, &err_mutex](std::string_view line) {
    const std::scoped_lock lock(err_mutex);
    err << line << '\n' << std::flush;
  };
  if (!quiet) config.log = say;

  // The signal set exists before the server's threads start, so a signal is never delivered
  // with its default action (ending the process) once the server runs.
  boost::asio::io_context signals_loop;
  boost::asio::signal_set signals(signals_loop, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait(
      [&received](const boost::system::error_code&, int signal) { received = signal; });

  Server server(config);
  try {
    server.start();
  } catch (const std::exception& e) {
    err << "async_server: cannot listen on " << config.host << ":" << config.port << ": "
        << e.what() << '\n';
    return 1;
  }
  out << "listening on http://" << config.host << ":" << server.port() << std::endl;
  signals_loop.run();
  say(std::string("async_server: ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
      ": no new connections; finishing the requests in progress");
  server.stop();
  say("async_server: stopped after " + std::to_string(server.stats().requests) + " requests");
  return 0;
}

}  // namespace async_server
