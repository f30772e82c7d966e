#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "course/child_process.hpp"
#include "course/net.hpp"
#include "course/temp_dir.hpp"

namespace chat::testing {

std::string Line::source_nick() const { return prefix.substr(0, prefix.find('!')); }

Line parse_line(std::string raw) {
  Line line;
  line.raw = std::move(raw);
  std::string_view rest = line.raw;
  const auto word = [&rest] {
    const auto end = std::min(rest.find(' '), rest.size());
    const auto w = rest.substr(0, end);
    rest.remove_prefix(end);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return std::string(w);
  };
  if (!rest.empty() && rest.front() == ':') {
    rest.remove_prefix(1);
    line.prefix = word();
  }
  line.command = word();
  while (!rest.empty()) {
    if (rest.front() == ':') {
      line.params.emplace_back(rest.substr(1));
      break;
    }
    line.params.push_back(word());
  }
  return line;
}

LinePredicate is_command(std::string command) {
  return [command = std::move(command)](const Line& line) { return line.command == command; };
}

LinePredicate is_command_with(std::string command, std::string param0) {
  return [command = std::move(command), param0 = std::move(param0)](const Line& line) {
    return line.command == command && !line.params.empty() && line.params[0] == param0;
  };
}

Clock::duration reply_timeout() { return course::scaled(milliseconds(5000)); }

std::optional<Line> IrcClient::read_line(Clock::time_point deadline) {
  for (;;) {
    auto& received = buffer();
    const auto end = received.find('\n');
    if (end != std::string::npos) {
      std::string raw = received.substr(0, end);
      received.erase(0, end + 1);
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      recent_.push_back(raw);
      if (recent_.size() > 30) recent_.erase(recent_.begin());
      return parse_line(std::move(raw));
    }
    if (!receive(deadline)) return std::nullopt;
  }
}

std::optional<Line> IrcClient::wait_for(const LinePredicate& matches, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = read_line(deadline)) {
    if (matches(*line)) return line;
  }
  return std::nullopt;
}

std::vector<Line> IrcClient::read_until(const LinePredicate& matches, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<Line> lines;
  while (auto line = read_line(deadline)) {
    lines.push_back(*line);
    if (matches(*line)) return lines;
  }
  return {};
}

std::optional<std::vector<Line>> IrcClient::sync(Clock::duration timeout) {
  const std::string token = "sync-" + std::to_string(++next_token_);
  if (!send("PING :" + token)) return std::nullopt;
  auto lines = read_until(
      [&token](const Line& line) { return line.command == "PONG" && line.text() == token; },
      timeout);
  if (lines.empty()) return std::nullopt;
  lines.pop_back();
  return lines;
}

bool IrcClient::register_as(std::string_view nick) {
  send("NICK " + std::string(nick));
  send("USER " + std::string(nick) + " 0 * :Test user " + std::string(nick));
  return wait_for([](const Line& line) { return line.command == "422" || line.command == "376"; })
      .has_value();
}

bool IrcClient::join(std::string_view room) {
  send("JOIN " + std::string(room));
  return wait_for(is_command("366")).has_value();
}

std::string IrcClient::transcript() const {
  std::string text = "last lines received (" + std::to_string(recent_.size()) + "):";
  for (const auto& line : recent_) text += "\n  << " + line;
  if (closed()) text += "\n  (the server closed the connection)";
  return text;
}

Config test_config(int threads) {
  Config config;
  config.threads = threads;
  config.server_name = "chat.test";
  config.registration_timeout = course::scaled(milliseconds(10000));
  config.close_timeout = course::scaled(milliseconds(10000));
  // Long enough that a client the test reads is never taken for one that does not read, even on
  // a loaded machine; short enough that the tests with a silent client do not wait long.
  config.slow_consumer_timeout = course::scaled(milliseconds(2000));
  config.shutdown_deadline = course::scaled(milliseconds(5000));
  return config;
}

RunningServer::RunningServer(Config config) : server(std::move(config)) { server.start(); }

std::vector<std::pair<std::string, Scenario>>& conformance_scenarios() {
  static std::vector<std::pair<std::string, Scenario>> scenarios;
  return scenarios;
}

bool register_scenario(const char* name, Scenario scenario) {
  conformance_scenarios().emplace_back(name, scenario);
  return true;
}

void run_on_the_course_server(Scenario scenario) {
  RunningServer running;
  scenario(Target{running.port(), test_config().server_name, &running.server});
}

struct NgircdServer::Impl {
  course::TempDir directory{"ngircd"};
  std::optional<course::ChildProcess> process;
};

std::string NgircdServer::binary() {
  for (const char* path : {"/usr/sbin/ngircd", "/usr/bin/ngircd", "/usr/local/sbin/ngircd"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

NgircdServer::NgircdServer() : impl_(std::make_unique<Impl>()), port_(course::free_port()) {
  std::ifstream in(std::string(COURSE_TEST_DATA_DIR) + "/ngircd.conf.in");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) throw std::runtime_error("cannot read tests/ngircd.conf.in");
  const auto fill = [&text](const std::string& key, const std::string& value) {
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), value);
    }
  };
  fill("@PORT@", std::to_string(port_));
  fill("@DIR@", impl_->directory.path().string());
  const auto config = impl_->directory.file("ngircd.conf").string();
  std::ofstream(config) << text;
  const auto program = binary();
  impl_->process.emplace([&program, &config] {
    // ngircd logs every connection: its output goes nowhere, so that no pipe fills up.
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::execl(program.c_str(), program.c_str(), "--nodaemon", "--config", config.c_str(),
            static_cast<char*>(nullptr));
    return 127;
  });
  const auto deadline = Clock::now() + reply_timeout();
  while (Clock::now() < deadline) {
    try {
      IrcClient probe(port_);
      return;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(20ms);  // polling: ngircd is starting
    }
  }
  throw std::runtime_error("ngircd did not listen on 127.0.0.1:" + std::to_string(port_));
}

NgircdServer::~NgircdServer() = default;

std::vector<IrcClient> registered_clients(std::uint16_t port, std::size_t n, std::string_view stem,
                                          std::string_view room) {
  std::vector<IrcClient> clients;
  clients.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    clients.emplace_back(port);
    const auto nick = std::string(stem) + std::to_string(i);
    EXPECT_TRUE(clients.back().register_as(nick))
        << nick << " did not get the end of its welcome (422)\n"
        << clients.back().transcript();
    if (!room.empty()) {
      EXPECT_TRUE(clients.back().join(room))
          << nick << " joined " << room << " but got no 366 (end of NAMES)\n"
          << clients.back().transcript();
    }
  }
  return clients;
}

}  // namespace chat::testing
