// Framing and bad input: line endings, split and coalesced writes, long lines, garbage.
#include <algorithm>
#include <fstream>
#include <random>
#include <thread>

#include "test_support.hpp"

namespace chat::testing {
namespace {

CONFORMANCE_TEST(Framing, CrLfAndBareLfBothEndALine) {
  IrcClient client(target.port);
  client.send_raw("NICK lf\nUSER lf 0 * :LF only\n");
  ASSERT_TRUE(client.wait_for(is_command("001"))) << "lines ending in LF alone are lines too\n"
                                                  << client.transcript();
  client.send_raw("PING :crlf\r\nPING :lf\n");
  const auto first = client.wait_for(is_command("PONG"));
  const auto second = client.wait_for(is_command("PONG"));
  ASSERT_TRUE(first && second) << client.transcript();
  EXPECT_EQ(first->text(), "crlf") << "the CR of CRLF is not part of the line";
  EXPECT_EQ(second->text(), "lf");
}

// Each byte its own send(): the server must keep the partial line between reads.
CONFORMANCE_TEST(Framing, ACommandSplitAcrossManyWritesArrivesWhole) {
  auto clients = registered_clients(target.port, 2, "s", "#split");
  ASSERT_TRUE(clients[1].sync());
  const std::string line = "PRIVMSG #split :one byte at a time, still one message\r\n";
  for (const char c : line) {
    clients[0].send_raw(std::string(1, c));
    // Not synchronisation: a pause makes it likely that each byte is a read of its own. The
    // test is right whether or not the bytes arrive together.
    std::this_thread::sleep_for(1ms);
  }
  const auto got = clients[1].wait_for(is_command("PRIVMSG"));
  ASSERT_TRUE(got) << "a line written one byte at a time was lost: keep the bytes of an "
                      "unfinished line until its LF arrives\n"
                   << clients[1].transcript();
  EXPECT_EQ(got->text(), "one byte at a time, still one message");
}

CONFORMANCE_TEST(Framing, SeveralCommandsInOneWriteAreAllHandled) {
  auto clients = registered_clients(target.port, 2, "c", "#burst");
  ASSERT_TRUE(clients[1].sync());
  std::string burst;
  for (int i = 0; i < 50; ++i) burst += "PRIVMSG #burst :message " + std::to_string(i) + "\r\n";
  ASSERT_TRUE(clients[0].send_raw(burst));
  for (int i = 0; i < 50; ++i) {
    const auto got = clients[1].wait_for(is_command("PRIVMSG"));
    ASSERT_TRUE(got) << "message " << i << " of 50 sent in one write never arrived\n"
                     << clients[1].transcript();
    EXPECT_EQ(got->text(), "message " + std::to_string(i));
  }
}

CONFORMANCE_TEST(Framing, LinesOver512BytesAreCutTo510) {
  // ngircd disconnects a client whose line is too long ("Request too long"); the course cuts
  // the line and goes on, as RFC 1459 suggests.
  if (target.ngircd()) return;
  IrcClient client(target.port);
  ASSERT_TRUE(client.register_as("cutter"));
  // "JOIN " and 45 rooms of 10 bytes with their commas fill bytes 0-499; the last room starts at
  // byte 500, so the cut at 510 leaves it '#' and 9 z. Its JOIN echo shows where the line ended.
  std::string line = "JOIN ";
  for (int i = 0; i < 45; ++i) line += "#room" + std::to_string(10000 + i) + ",";
  line += "#" + std::string(100, 'z');
  ASSERT_EQ(line.size(), 601u);
  client.send(line);
  client.send("PING :next");
  const auto answers = client.read_until(is_command("PONG"));
  ASSERT_FALSE(answers.empty()) << client.transcript();
  std::vector<std::string> joined;
  for (const auto& answer : answers) {
    if (answer.command == "JOIN") joined.push_back(answer.params.at(0));
    EXPECT_NE(answer.command, "421") << "the rest of a cut line, up to its end, is dropped";
  }
  ASSERT_EQ(joined.size(), 46u) << client.transcript();
  EXPECT_EQ(joined.back(), "#" + std::string(9, 'z'))
      << "a line keeps its first 510 bytes (512 with CRLF): the last room of this JOIN is cut to "
      << "its first 10 bytes";
  EXPECT_EQ(answers.back().text(), "next") << "the next line is handled";
}

// RFC 2812 2.3.1: NUL, CR and LF may not appear inside a message. A client that gets a NUL may
// take it for the end of the line and read the next line into this one (WeeChat does): the
// server drops such a line rather than relay it.
CONFORMANCE_TEST(Framing, ALineWithANulOrABareCrIsDropped) {
  // ngircd loses more than the line: what follows a NUL in the same read is gone too.
  if (target.ngircd()) return;
  auto clients = registered_clients(target.port, 2, "z", "#nul");
  ASSERT_TRUE(clients[1].sync());
  using std::string_literals::operator""s;
  clients[0].send_raw("PRIVMSG #nul :before\0hidden\r\n"s);
  clients[0].send_raw("PRIVMSG #nul :carriage\rhidden\r\n"s);
  clients[0].send_raw("PRIVMSG z1 :private\0hidden\r\n"s);
  clients[0].send_raw("UNKNOWN\0hidden\r\n"s);
  clients[0].send("PRIVMSG #nul :after");
  const auto got = clients[1].read_until(is_command("PRIVMSG"));
  ASSERT_FALSE(got.empty()) << clients[1].transcript();
  EXPECT_EQ(got.back().text(), "after")
      << "a line that holds a NUL or a CR before its end must be dropped whole, not relayed: "
         "the first message that reached the room was '"
      << got.back().raw << "'";
  const auto answers = clients[0].sync();
  ASSERT_TRUE(answers) << clients[0].transcript();
  for (const auto& line : *answers) {
    EXPECT_EQ(line.raw.find_first_of("\0\r"s), std::string::npos)
        << "the server sent a NUL or a CR inside a line (" << line.command
        << "): a dropped line gets no answer that echoes it";
  }
}

// The resident memory of this process (the server runs in it), from /proc/self/status.
std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(Framing, AMegabyteWithoutNewlineCostsNothing) {
  RunningServer running;
  auto clients = registered_clients(running.port(), 2, "big", "#big");
  ASSERT_TRUE(clients[1].sync());
  IrcClient flooder(running.port());
  ASSERT_TRUE(flooder.register_as("flooder"));
  const std::string megabyte(1 << 20, 'A');
  ASSERT_TRUE(flooder.send_raw(megabyte)) << "the server stopped reading";
  clients[0].send("PRIVMSG #big :meanwhile");
  const auto got = clients[1].wait_for(is_command("PRIVMSG"));
  EXPECT_TRUE(got) << "others keep chatting while one client sends a huge line\n"
                   << clients[1].transcript();
  // 64 MiB more of the same line: the server drops what passes 510 bytes as it arrives, so its
  // memory does not grow with the line.
  const auto before = resident_bytes();
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(flooder.send_raw(megabyte));
  flooder.send_raw("\r\nPING :after\r\n");
  const auto pong = flooder.wait_for(is_command("PONG"), reply_timeout() * 2);
  EXPECT_TRUE(pong) << "after the cut line ends, the next command is handled\n"
                    << flooder.transcript();
  const auto grown = static_cast<double>(resident_bytes() - std::min(before, resident_bytes()));
  EXPECT_LT(grown, 16.0 * (1 << 20))
      << "the server's memory grew by " << grown / (1 << 20) << " MiB while a client sent 64 MiB "
      << "without a newline: keep at most 512 bytes of an unfinished line";
}

TEST(Framing, BinaryGarbageGetsErrorsNotACrash) {
  RunningServer running;
  auto clients = registered_clients(running.port(), 2, "g", "#g");
  std::mt19937 random(5);
  for (const bool registered : {false, true}) {
    IrcClient garbage(running.port());
    if (registered) {
      ASSERT_TRUE(garbage.register_as("garbage"));
    }
    std::string bytes;
    for (int i = 0; i < 20000; ++i) bytes.push_back(static_cast<char>(random() % 256));
    garbage.send_raw(bytes);
    garbage.send_raw("\r\nPING :alive\r\n");
    EXPECT_TRUE(garbage.wait_for([](const Line& line) {
      return line.command == "PONG" && line.text() == "alive";
    })) << "after binary garbage the connection still answers PING\n"
        << garbage.transcript();
  }
  clients[0].send("PRIVMSG #g :still fine");
  EXPECT_TRUE(clients[1].wait_for(is_command("PRIVMSG"))) << clients[1].transcript();
}

}  // namespace
}  // namespace chat::testing
