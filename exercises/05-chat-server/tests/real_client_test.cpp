// A real IRC client on the exercise's server: WeeChat (weechat-headless, no terminal needed)
// connects, joins a room and talks with the scripted client. Worth 0 points (tag "oracle");
// skipped when WeeChat is not installed.
#include <unistd.h>

#include <fstream>
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

TEST(RealClient, WeechatJoinsARoomAndChats) {
  const auto weechat = weechat_binary();
  if (weechat.empty()) {
    GTEST_SKIP() << "weechat-headless is not installed (grader/install-deps --extras installs it)";
  }
  RunningServer running;
  IrcClient tester(running.port());
  ASSERT_TRUE(tester.register_as("tester"));
  ASSERT_TRUE(tester.join("#room"));
  const course::TempDir home("weechat");
  // WeeChat runs the server's `command` once registered, in order on one connection: the JOIN
  // is handled before the PRIVMSG, so no wait is needed ("\\;" separates the two commands
  // inside the option; each --run-command is one command). The logger writes each line at once.
  const auto dir = home.path().string();
  const std::vector<std::string> commands{
      "/set logger.file.flush_delay 0",
      "/set irc.server_default.nicks \"weechat\"",
      "/server add course 127.0.0.1/" + std::to_string(running.port()) + " -notls",
      "/set irc.server.course.command \"/join #room\\;/msg #room hello from weechat\"",
      "/connect course",
  };
  course::ChildProcess client([&weechat, &dir, &commands] {
    std::vector<const char*> argv{weechat.c_str(), "--dir", dir.c_str()};
    for (const auto& command : commands) {
      argv.push_back("--run-command");
      argv.push_back(command.c_str());
    }
    argv.push_back(nullptr);
    ::execv(weechat.c_str(), const_cast<char* const*>(argv.data()));
    return 127;
  });
  const auto joined = tester.wait_for(
      [](const Line& line) { return line.command == "JOIN" && line.source_nick() == "weechat"; });
  ASSERT_TRUE(joined) << "WeeChat did not join #room\n" << tester.transcript();
  const auto said = tester.wait_for(is_command("PRIVMSG"));
  ASSERT_TRUE(said) << tester.transcript();
  EXPECT_EQ(said->source_nick(), "weechat");
  EXPECT_EQ(said->params.at(0), "#room");
  EXPECT_EQ(said->text(), "hello from weechat");
  // The other way: WeeChat's log of #room shows what the scripted client says.
  tester.send("PRIVMSG #room :hello, weechat");
  const auto log = home.path() / "logs" / "irc.course.#room.weechatlog";
  const auto deadline = Clock::now() + reply_timeout();
  while (read_file(log).find("hello, weechat") == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling WeeChat's log file
  }
  EXPECT_NE(read_file(log).find("hello, weechat"), std::string::npos)
      << "WeeChat's log of #room does not show the scripted client's message:\n"
      << read_file(log);
}

}  // namespace
}  // namespace chat::testing
