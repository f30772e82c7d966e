// A real IRC client on the exercise's server: WeeChat (weechat-headless, no terminal needed)
// connects, joins a room and talks with the scripted client. Worth 0 points (tag "oracle");
// skipped when WeeChat is not installed.
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "course/child_process.hpp"
#include "course/temp_dir.hpp"
#include "test_support.hpp"

namespace chat::testing {
namespace {

std::string weechat_binary() {
  for (const char* path : {"/usr/bin/weechat-headless", "/usr/local/bin/weechat-headless"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// WeeChat in a private home, connected to the server as "weechat": it joins #room and says
// "hello from weechat" (the server's `command`, run in order on its connection once registered).
// Its logger writes each line of #room to `log()` at once.
class Weechat {
 public:
  Weechat(const std::string& binary, std::uint16_t port) {
    const auto dir = home_.path().string();
    const std::vector<std::string> commands{
        "/set logger.file.flush_delay 0",
        "/set irc.server_default.nicks \"weechat\"",
        "/server add course 127.0.0.1/" + std::to_string(port) + " -notls",
        "/set irc.server.course.command \"/join #room\\;/msg #room hello from weechat\"",
        "/connect course",
    };
    // "\\;" separates the two commands inside the option; each --run-command is one command.
    process_.emplace([&binary, &dir, &commands] {
      std::vector<const char*> argv{binary.c_str(), "--dir", dir.c_str()};
      for (const auto& command : commands) {
        argv.push_back("--run-command");
        argv.push_back(command.c_str());
      }
      argv.push_back(nullptr);
      ::execv(binary.c_str(), const_cast<char* const*>(argv.data()));
      return 127;
    });
  }
  std::string log() const {
    return read_file(home_.path() / "logs" / "irc.course.#room.weechatlog");
  }
  // Polls WeeChat's log (it offers nothing to wait on) until it shows `text`; false at the
  // deadline.
  bool log_shows(std::string_view text) const {
    const auto deadline = Clock::now() + reply_timeout();
    while (log().find(text) == std::string::npos && Clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    return log().find(text) != std::string::npos;
  }

 private:
  course::TempDir home_{"weechat"};
  std::optional<course::ChildProcess> process_;
};

// A server, the scripted client "tester" in #room, and WeeChat, which joins #room and speaks.
// Skipped when WeeChat is not installed.
class RealClient : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto binary = weechat_binary();
    if (binary.empty()) {
      GTEST_SKIP()
          << "weechat-headless is not installed (grader/install-deps --extras installs it)";
    }
    ASSERT_TRUE(tester.register_as("tester"));
    ASSERT_TRUE(tester.join("#room"));
    weechat.emplace(binary, running.port());
    const auto joined = tester.wait_for(
        [](const Line& line) { return line.command == "JOIN" && line.source_nick() == "weechat"; });
    ASSERT_TRUE(joined) << "WeeChat did not join #room\n" << tester.transcript();
    const auto said = tester.wait_for(is_command("PRIVMSG"));
    ASSERT_TRUE(said) << tester.transcript();
    EXPECT_EQ(said->source_nick(), "weechat");
    EXPECT_EQ(said->params.at(0), "#room");
    EXPECT_EQ(said->text(), "hello from weechat");
  }

  RunningServer running;
  IrcClient tester{running.port()};
  std::optional<Weechat> weechat;
};

TEST_F(RealClient, WeechatJoinsARoomAndChats) {
  // The other way: WeeChat's log of #room shows what the scripted client says.
  tester.send("PRIVMSG #room :hello, weechat");
  EXPECT_TRUE(weechat->log_shows("hello, weechat"))
      << "WeeChat's log of #room does not show the scripted client's message:\n"
      << weechat->log();
}

// A message with a NUL inside, if relayed, ends WeeChat's line at the NUL and glues the next
// line the server sends onto it: that line is lost. The server drops the line with the NUL.
TEST_F(RealClient, WeechatGetsEveryLineAfterAMessageWithANul) {
  using std::string_literals::operator""s;
  tester.send_raw("PRIVMSG #room :before\0hidden\r\nPRIVMSG #room :the line after\r\n"s);
  tester.send("PRIVMSG #room :the last line");
  ASSERT_TRUE(weechat->log_shows("the last line")) << weechat->log();
  const auto log = weechat->log();
  EXPECT_NE(log.find("the line after"), std::string::npos)
      << "WeeChat lost the line that followed a message with a NUL inside: a line holding a NUL "
         "must be dropped, not relayed (RFC 2812 2.3.1). WeeChat's log of #room:\n"
      << log;
  EXPECT_EQ(log.find("hidden"), std::string::npos) << log;
}

}  // namespace
}  // namespace chat::testing
