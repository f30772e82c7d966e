// The server's life: start() and its errors, stop() with an ERROR for every client, the
// counters, the log, the threads, and the `chat_server` command.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <mutex>
#include <system_error>
#include <thread>

#include "course/child_process.hpp"
#include "test_support.hpp"

namespace chat::testing {
namespace {

TEST(Server, StartReportsItsErrors) {
  RunningServer first;
  Config taken = test_config();
  taken.port = first.port();
  Server second(taken);
  EXPECT_THROW(second.start(), std::system_error) << "the port is in use";
  EXPECT_THROW(first.server.start(), std::logic_error) << "started twice";
  const auto invalid = [](auto change) {
    Config config = test_config();
    change(config);
    Server server(config);
    EXPECT_THROW(server.start(), std::invalid_argument);
  };
  invalid([](Config& c) { c.threads = 0; });
  invalid([](Config& c) { c.max_queued_lines = 0; });
  invalid([](Config& c) { c.max_queued_bytes = 0; });
  invalid([](Config& c) { c.registration_timeout = 0ms; });
  invalid([](Config& c) { c.close_timeout = 0ms; });
  invalid([](Config& c) { c.slow_consumer_timeout = 0ms; });
  invalid([](Config& c) { c.shutdown_deadline = 0ms; });
  invalid([](Config& c) { c.server_name = ""; });
}

TEST(Server, StopSendsEveryClientAnErrorAndCloses) {
  auto running = std::make_unique<RunningServer>();
  const auto port = running->port();
  auto clients = registered_clients(port, 2, "bye", "#room");
  IrcClient unregistered(port);
  ASSERT_TRUE(unregistered.sync());
  auto stopped = std::async(std::launch::async, [&running] { running->server.stop(); });
  for (auto* client : {&clients[0], &clients[1], &unregistered}) {
    const auto error = client->wait_for(is_command("ERROR"));
    ASSERT_TRUE(error) << "stop() sends every client, registered or not, an ERROR line\n"
                       << client->transcript();
    EXPECT_NE(error->text().find("shutting down"), std::string::npos) << error->raw;
    EXPECT_TRUE(client->wait_closed()) << "then closes the connection";
  }
  ASSERT_EQ(stopped.wait_for(reply_timeout()), std::future_status::ready)
      << "stop() never returned";
  EXPECT_THROW(IrcClient{port}, std::runtime_error) << "no connections after stop()";
  running->server.stop();  // a second stop() does nothing
  running.reset();         // nor does the destructor's
}

// A client whose socket is full (it reads nothing) cannot take its ERROR line: stop() gives up
// on it after Config::shutdown_deadline instead of waiting for Config::close_timeout.
TEST(Server, StopGivesUpOnAClientThatDoesNotRead) {
  Config config = test_config();
  config.shutdown_deadline = course::scaled(milliseconds(300));
  config.close_timeout = course::scaled(milliseconds(60000));
  config.max_queued_lines = 1'000'000;
  config.max_queued_bytes = 1'000'000'000;
  auto running = std::make_unique<RunningServer>(config);
  IrcClient stuck(running->port(), 4096);
  ASSERT_TRUE(stuck.register_as("stuck"));
  ASSERT_TRUE(stuck.join("#full"));
  auto talker = registered_clients(running->port(), 1, "talker", "#full");
  // 8 MiB for the stuck client: its socket and the server's buffers fill up; the rest waits in
  // its (huge) queue.
  const std::string line = "PRIVMSG #full :" + std::string(400, 'f') + "\r\n";
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += line;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(talker[0].send_raw(batch));
  ASSERT_TRUE(talker[0].sync());
  const auto started = Clock::now();
  running->server.stop();
  const auto took = Clock::now() - started;
  EXPECT_LT(took, config.shutdown_deadline + course::scaled(milliseconds(3000)))
      << "stop() took " << std::chrono::duration_cast<milliseconds>(took).count()
      << " ms with a client that reads nothing; it must give up after shutdown_deadline ("
      << config.shutdown_deadline.count() << " ms)";
}

TEST(Server, StatsCountConnectionsUsersAndRooms) {
  RunningServer running;
  auto clients = registered_clients(running.port(), 3, "st");
  IrcClient idle(running.port());
  ASSERT_TRUE(clients[0].join("#a") && clients[1].join("#a") && clients[2].join("#b"));
  auto stats = running.server.stats();
  EXPECT_EQ(stats.connections, 4u) << "Stats::connections counts open connections, registered "
                                      "or not";
  EXPECT_EQ(stats.peak_connections, 4u);
  EXPECT_EQ(stats.users, 3u) << "Stats::users counts registered users";
  EXPECT_EQ(stats.rooms, 2u);
  EXPECT_EQ(stats.slow_consumers, 0u);
  EXPECT_EQ(stats.loop_threads.size(), 1u) << "one loop thread handles every command by default";
  clients[2].send("QUIT");
  ASSERT_TRUE(clients[2].wait_closed());
  const auto deadline = Clock::now() + reply_timeout();
  while (running.server.stats().connections != 3 && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);  // polling the server's counter
  }
  stats = running.server.stats();
  EXPECT_EQ(stats.connections, 3u);
  EXPECT_EQ(stats.peak_connections, 4u) << "the peak stays";
  EXPECT_EQ(stats.users, 2u);
  EXPECT_EQ(stats.rooms, 1u) << "#b went with its only member";
}

TEST(Server, LoopThreadsAreTheConfiguredOnes) {
  RunningServer running(test_config(2));
  auto clients = registered_clients(running.port(), 8, "th", "#t");
  for (auto& client : clients) ASSERT_TRUE(client.sync());
  const auto stats = running.server.stats();
  EXPECT_GE(stats.loop_threads.size(), 1u);
  EXPECT_LE(stats.loop_threads.size(), 2u)
      << "with Config::threads = 2, commands run on the loop's 2 threads and no others";
  const auto me = std::this_thread::get_id();
  EXPECT_EQ(std::count(stats.loop_threads.begin(), stats.loop_threads.end(), me), 0)
      << "commands run on the loop's threads, not on the caller's";
}

TEST(Server, LogsConnectsRegistrationsJoinsPartsAndQuits) {
  std::mutex mutex;
  std::vector<std::string> log;
  // The first call holds its thread a while: a second call made meanwhile from the loop's other
  // thread would overlap it, which the header rules out ("never twice at once").
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  std::atomic<bool> first{true};
  Config config = test_config(2);
  config.log = [&](std::string_view line) {
    const int now = ++inside;
    int seen = most_inside.load();
    while (seen < now && !most_inside.compare_exchange_weak(seen, now)) {
    }
    if (first.exchange(false)) std::this_thread::sleep_for(course::scaled(milliseconds(200)));
    {
      const std::scoped_lock lock(mutex);
      log.emplace_back(line);
    }
    --inside;
  };
  RunningServer running(config);
  std::vector<IrcClient> crowd;
  for (int i = 0; i < 6; ++i) crowd.emplace_back(running.port());
  auto clients = registered_clients(running.port(), 1, "logger", "#logs");
  clients[0].send("PART #logs");
  ASSERT_TRUE(clients[0].wait_for(is_command("PART")));
  clients[0].send("QUIT :bye now");
  ASSERT_TRUE(clients[0].wait_closed());
  running.server.stop();
  const std::scoped_lock lock(mutex);
  std::string all;
  for (const auto& line : log) all += "\n  " + line;
  const auto has = [&](const std::string& prefix) {
    return std::any_of(log.begin(), log.end(),
                       [&](const std::string& line) { return line.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has("connect 127.0.0.1:")) << all;
  EXPECT_TRUE(has("register logger0")) << all;
  EXPECT_TRUE(has("join logger0 #logs")) << all;
  EXPECT_TRUE(has("part logger0 #logs")) << all;
  EXPECT_TRUE(has("quit logger0: bye now")) << all;
  EXPECT_EQ(most_inside.load(), 1) << "the log was called twice at once: Config::log is called "
                                      "from the loop's threads, never twice at once";
}

// ---- the command ----

const auto kTimeout = course::scaled(milliseconds(5000));

// Runs `chat_server <args>` in a child process: run_command_line, as the program's main() does.
struct Child : course::ChildProcess {
  explicit Child(std::vector<std::string> args)
      : course::ChildProcess([args = std::move(args)] {
          const std::vector<std::string_view> views(args.begin(), args.end());
          return run_command_line(views, std::cout, std::cerr);
        }) {}
};

std::uint16_t port_from(const std::string& line) {
  const auto colon = line.rfind(':');
  if (line.rfind("listening on 127.0.0.1:", 0) != 0 || colon == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(line.c_str() + colon + 1));
}

void check_graceful_exit(int signal, const char* name) {
  Child child({"--port", "0", "--quiet", "--threads", "2"});
  const auto line = child.first_line(Clock::now() + kTimeout);
  const auto port = port_from(line);
  ASSERT_NE(port, 0) << "chat_server --port 0 should print 'listening on 127.0.0.1:<port>' "
                        "first; it printed '"
                     << line << "'";
  IrcClient client(port);
  ASSERT_TRUE(client.register_as("witness")) << client.transcript();
  child.signal(signal);
  const auto error = client.wait_for(is_command("ERROR"));
  EXPECT_TRUE(error) << "at " << name << " every client gets an ERROR line\n"
                     << client.transcript();
  const auto code = child.wait_exit(Clock::now() + kTimeout);
  ASSERT_TRUE(code) << "chat_server did not exit after " << name;
  EXPECT_EQ(*code, 0) << "chat_server should exit 0 after a graceful shutdown on " << name
                      << " (handle it with an asio::signal_set)";
}

TEST(Command, SigtermShutsDownGracefully) { check_graceful_exit(SIGTERM, "SIGTERM"); }

TEST(Command, SigintShutsDownGracefully) { check_graceful_exit(SIGINT, "SIGINT"); }

TEST(Command, LogsToStderrUnlessQuiet) {
  for (const bool quiet : {false, true}) {
    std::vector<std::string> args{"--port", "0"};
    if (quiet) args.emplace_back("--quiet");
    Child child(args);
    const auto port = port_from(child.first_line(Clock::now() + kTimeout));
    ASSERT_NE(port, 0);
    {
      IrcClient client(port);
      ASSERT_TRUE(client.register_as("logged")) << client.transcript();
      ASSERT_TRUE(client.join("#log"));
    }
    child.signal(SIGTERM);
    ASSERT_TRUE(child.wait_exit(Clock::now() + kTimeout));
    const auto text = child.error_output();
    if (quiet) {
      EXPECT_EQ(text.find("join logged #log"), std::string::npos)
          << "--quiet: no log line per event; stderr was:\n"
          << text;
    } else {
      EXPECT_NE(text.find("join logged #log"), std::string::npos)
          << "chat_server logs each event to stderr; stderr was:\n"
          << text;
    }
  }
}

TEST(Command, BadArgumentsExitWithUsage) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--threads", "zero"},
                                               {"--port", "70000"},
                                               {"--threads", "0"},
                                               {"--frobnicate"}}) {
    Child child(args);
    const auto code = child.wait_exit(Clock::now() + kTimeout);
    ASSERT_TRUE(code) << "chat_server with bad arguments did not exit";
    EXPECT_EQ(*code, 2) << "bad arguments should exit 2 with a usage message";
  }
}

}  // namespace
}  // namespace chat::testing
