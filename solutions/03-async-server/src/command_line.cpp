// The `async_server` command: parse the arguments, start the server, wait for SIGINT or
// SIGTERM with an asio::signal_set, shut down gracefully.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include "async_server/server.hpp"

namespace async_server {

namespace {

// Reads the options into `config` and `quiet`. Returns the exit code when the program should end
// at once (--help: 0; a bad argument: 2, after the error and the usage), or nothing when the
// server should start.
std::optional<int> parse_options(std::span<const std::string_view> args, Config& config,
                                 bool& quiet, std::ostream& out, std::ostream& err) {
  CLI::App app{"The course's asynchronous HTTP server: one event loop, many connections.",
               "async_server"};
  config.port = 8080;
  app.add_option("--port", config.port, "port on 127.0.0.1 (0 picks a free one)")
      ->capture_default_str();
  app.add_option("--threads", config.threads, "threads running the event loop")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--scale", config.time_scale, "multiplies every operation's duration (0: instant)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  std::uint64_t seed = 0;
  const CLI::Option* seed_option = app.add_option("--seed", seed, "seed of the random durations");
  app.add_flag("--quiet", quiet, "no log line per request");

  // CLI11 parses an argv; the tests call this function with views, not a process's argv.
  std::vector<std::string> words{"async_server"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& word : words) argv.push_back(word.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Success&) {  // --help
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "async_server: " << e.what() << "\n" << app.help();
    return 2;
  }
  if (*seed_option) config.seed = seed;
  return std::nullopt;
}

}  // namespace

int run_command_line(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  Config config;
  bool quiet = false;
  if (const auto exit_code = parse_options(args, config, quiet, out, err)) return *exit_code;
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
