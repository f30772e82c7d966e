// Fan-out: every room message reaches each other member exactly once, in order, and nothing
// crosses from one room to another. Clients are driven from the test's threads all at once.
#include <algorithm>
#include <map>
#include <thread>

#include "test_support.hpp"

namespace chat::testing {
namespace {

struct Received {
  std::map<std::string, std::vector<int>> by_sender;  // sender -> sequence numbers, in order
  std::vector<std::string> order;                     // "sender:seq", in arrival order
  std::vector<std::string> stray;                     // messages from another room
};

// Reads PRIVMSGs until `expected` of them came from `room`, or the deadline.
Received receive(IrcClient& client, const std::string& room, std::size_t expected) {
  Received got;
  std::size_t n = 0;
  const auto deadline = Clock::now() + reply_timeout() * 2;
  while (n < expected) {
    const auto line = client.read_line(deadline);
    if (!line) break;
    if (line->command != "PRIVMSG") continue;
    if (line->params.at(0) != room) {
      got.stray.push_back(line->raw);
      continue;
    }
    const auto text = line->text();
    got.by_sender[line->source_nick()].push_back(std::stoi(text.substr(text.find(' ') + 1)));
    got.order.push_back(line->source_nick() + ":" + text);
    ++n;
  }
  return got;
}

// R rooms of M members; each member sends S numbered messages to its room, all members at once.
void check_exactly_once(int threads) {
  constexpr int kRooms = 3;
  constexpr int kMembers = 4;
  constexpr int kMessages = 25;
  RunningServer running(test_config(threads));
  std::vector<std::vector<IrcClient>> rooms;
  for (int r = 0; r < kRooms; ++r) {
    rooms.push_back(registered_clients(running.port(), kMembers, "r" + std::to_string(r) + "m",
                                       "#room" + std::to_string(r)));
  }
  for (auto& room : rooms) {
    for (auto& member : room) ASSERT_TRUE(member.sync()) << member.transcript();
  }
  std::vector<Received> results(static_cast<std::size_t>(kRooms) * kMembers);
  {
    std::vector<std::jthread> threads_of_clients;
    for (int r = 0; r < kRooms; ++r) {
      for (int m = 0; m < kMembers; ++m) {
        threads_of_clients.emplace_back([&, r, m] {
          auto& me = rooms[r][m];
          const std::string room = "#room" + std::to_string(r);
          std::string all;
          for (int s = 0; s < kMessages; ++s) {
            all += "PRIVMSG " + room + " :msg " + std::to_string(s) + "\r\n";
          }
          me.send_raw(all);
          results[r * kMembers + m] =
              receive(me, room, static_cast<std::size_t>(kMembers - 1) * kMessages);
        });
      }
    }
  }
  for (int r = 0; r < kRooms; ++r) {
    for (int m = 0; m < kMembers; ++m) {
      const auto& got = results[r * kMembers + m];
      const std::string me = "r" + std::to_string(r) + "m" + std::to_string(m);
      EXPECT_TRUE(got.stray.empty())
          << me << " got messages from another room, e.g. " << got.stray.front();
      EXPECT_FALSE(got.by_sender.contains(me)) << me << " got its own messages back";
      for (int other = 0; other < kMembers; ++other) {
        if (other == m) continue;
        const std::string sender = "r" + std::to_string(r) + "m" + std::to_string(other);
        const auto it = got.by_sender.find(sender);
        const auto n = it == got.by_sender.end() ? 0 : it->second.size();
        ASSERT_EQ(n, static_cast<std::size_t>(kMessages))
            << me << " got " << n << " of " << sender << "'s " << kMessages
            << " messages: every member gets each message of its room exactly once\n"
            << rooms[r][m].transcript();
        std::vector<int> expected(kMessages);
        for (int s = 0; s < kMessages; ++s) expected[s] = s;
        EXPECT_EQ(it->second, expected)
            << me << " got " << sender << "'s messages out of order: a sender's messages "
            << "arrive in the order they were sent";
      }
    }
  }
  // After everyone has everything, nothing more arrives: no duplicates.
  for (auto& room : rooms) {
    for (auto& member : room) {
      const auto rest = member.sync();
      ASSERT_TRUE(rest) << member.transcript();
      for (const auto& line : *rest) {
        EXPECT_NE(line.command, "PRIVMSG") << "a duplicate delivery: " << line.raw;
      }
    }
  }
}

TEST(Fanout, ExactlyOnceInEveryRoom) { check_exactly_once(1); }

TEST(Fanout, ExactlyOnceOnTwoThreads) { check_exactly_once(2); }

// Four senders at once, three listeners: all listeners see the room's messages in one order.
TEST(Fanout, EveryMemberSeesTheSameOrder) {
  constexpr int kSenders = 4;
  constexpr int kListeners = 3;
  constexpr int kMessages = 100;
  RunningServer running(test_config(2));
  auto senders = registered_clients(running.port(), kSenders, "snd", "#order");
  auto listeners = registered_clients(running.port(), kListeners, "lst", "#order");
  for (auto& client : senders) ASSERT_TRUE(client.sync());
  for (auto& client : listeners) ASSERT_TRUE(client.sync());
  std::vector<Received> heard(kListeners);
  {
    std::vector<std::jthread> threads;
    for (int s = 0; s < kSenders; ++s) {
      threads.emplace_back([&, s] {
        for (int i = 0; i < kMessages; ++i) {
          senders[s].send("PRIVMSG #order :n " + std::to_string(i));
        }
      });
    }
    for (int l = 0; l < kListeners; ++l) {
      threads.emplace_back([&, l] {
        heard[l] = receive(listeners[l], "#order", static_cast<std::size_t>(kSenders) * kMessages);
      });
    }
  }
  for (int l = 0; l < kListeners; ++l) {
    ASSERT_EQ(heard[l].order.size(), static_cast<std::size_t>(kSenders * kMessages))
        << listeners[l].transcript();
  }
  for (int l = 1; l < kListeners; ++l) {
    const auto& a = heard[0].order;
    const auto& b = heard[l].order;
    const auto diverge = std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin();
    EXPECT_TRUE(a == b) << "lst0 and lst" << l << " saw the room's messages in different orders "
                        << "(first difference at message " << diverge << ": " << a[diverge]
                        << " vs " << b[diverge] << "). With several threads, queue a broadcast "
                        << "for every member while holding the room's lock (or inside the room's "
                        << "actor), so that one message is queued everywhere before the next";
  }
}

// A member leaves while others keep talking: after its own PART echo, it gets nothing of the
// room's.
TEST(Fanout, NothingArrivesAfterTheOwnPartEcho) {
  RunningServer running(test_config(2));
  auto talkers = registered_clients(running.port(), 2, "talk", "#busy");
  IrcClient leaver(running.port());
  ASSERT_TRUE(leaver.register_as("leaver"));
  ASSERT_TRUE(leaver.join("#busy"));
  {
    std::jthread chatter([&] {
      for (int i = 0; i < 300; ++i) talkers[0].send("PRIVMSG #busy :n " + std::to_string(i));
    });
    ASSERT_TRUE(leaver.wait_for(is_command("PRIVMSG"))) << leaver.transcript();
    leaver.send("PART #busy");
    ASSERT_TRUE(leaver.wait_for(is_command("PART"))) << leaver.transcript();
  }
  ASSERT_TRUE(talkers[0].sync());  // its 300 messages were all handled before its PING
  const auto after = leaver.sync();
  ASSERT_TRUE(after) << leaver.transcript();
  for (const auto& line : *after) {
    EXPECT_NE(line.command, "PRIVMSG")
        << "a message of #busy arrived after the PART echo: " << line.raw;
  }
}

}  // namespace
}  // namespace chat::testing
