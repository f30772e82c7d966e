// The `chat_server` command: parse the arguments, start the server, wait for SIGINT or SIGTERM
// with an asio::signal_set, shut down gracefully.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "chat/server.hpp"

namespace chat {

namespace {

// Reads the options into `config` and `quiet`. Returns the exit code when the program should end
// at once (--help: 0; a bad argument: 2, after the error and the usage), or nothing when the
// server should start.
std::optional<int> parse_options(std::span<const std::string_view> args, Config& config,
                                 bool& quiet, std::ostream& out, std::ostream& err) {
  CLI::App app{"The course's chat server: rooms over a small subset of IRC.", "chat_server"};
  config.port = 6667;
  app.add_option("--port", config.port, "port on 127.0.0.1 (0 picks a free one)")
      ->capture_default_str();
  app.add_option("--threads", config.threads, "threads running the event loop")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--quiet", quiet, "no log line per event");

  // CLI11 parses an argv; the tests call this function with views, not a process's argv.
  std::vector<std::string> words{"chat_server"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& word : words) argv.push_back(word.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Success&) {  // --help
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "chat_server: " << e.what() << "\n" << app.help();
    return 2;
  }
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
    err << "chat_server: " << e.what() << '\n';
    return 1;
  }
  out << "listening on " << config.host << ":" << server.port() << std::endl;
  signals_loop.run();
  say(std::string("chat_server: ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
      ": closing every connection");
  server.stop();
  say("chat_server: stopped");
  return 0;
}

}  // namespace chat
