// Scale on one loop thread: a crowded room, and many idle connections. Also churn on two
// threads: joins, parts and quits while messages fly.
#include <poll.h>

#include <random>
#include <thread>

#include "test_support.hpp"

namespace chat::testing {
namespace {

TEST(Scale, TwoHundredClientsInOneRoom) {
  raise_open_file_limit(1024);
  RunningServer running;
  constexpr std::size_t kClients = 200;
  constexpr std::size_t kSenders = 5;
  constexpr std::size_t kMessages = 4;
  auto clients = registered_clients(running.port(), kClients, "crowd", "#crowd");
  for (auto& client : clients) ASSERT_TRUE(client.sync()) << client.transcript();
  for (std::size_t s = 0; s < kSenders; ++s) {
    for (std::size_t m = 0; m < kMessages; ++m) {
      clients[s].send("PRIVMSG #crowd :m" + std::to_string(m));
    }
  }
  for (std::size_t c = 0; c < kClients; ++c) {
    const auto expected = kSenders * kMessages - (c < kSenders ? kMessages : 0);
    std::size_t got = 0;
    while (got < expected && clients[c].wait_for(is_command("PRIVMSG"))) ++got;
    ASSERT_EQ(got, expected) << "crowd" << c << " of 200 got " << got << " of " << expected
                             << " messages\n"
                             << clients[c].transcript();
  }
}

TEST(Scale, AThousandIdleConnectionsOnOneThread) {
  constexpr std::size_t kIdle = 1000;
  if (raise_open_file_limit(2 * kIdle + 200) < 2 * kIdle + 100) {
    GTEST_SKIP() << "the open-file limit is below " << 2 * kIdle + 100;
  }
  RunningServer running;
  std::vector<IrcClient> idle;
  idle.reserve(kIdle);
  for (std::size_t i = 0; i < kIdle; ++i) idle.emplace_back(running.port());
  auto active = registered_clients(running.port(), 2, "active", "#a");
  active[0].send("PRIVMSG #a :hello among the idle");
  EXPECT_TRUE(active[1].wait_for(is_command("PRIVMSG")))
      << "with 1000 idle connections open, two clients still chat\n"
      << active[1].transcript();
  // Every idle connection is still served: each answers PING.
  for (auto& client : idle) client.send("PING :idle");
  for (std::size_t i = 0; i < kIdle; ++i) {
    ASSERT_TRUE(idle[i].wait_for(is_command("PONG"))) << "idle connection " << i << " got no PONG\n"
                                                      << idle[i].transcript();
  }
  EXPECT_GE(running.server.stats().peak_connections, kIdle + 2);
}

TEST(Churn, JoinsPartsAndQuitsWhileBroadcasting) {
  RunningServer running(test_config(2));
  constexpr int kWorkers = 6;
  constexpr int kSteps = 60;
  std::vector<std::jthread> workers;
  std::atomic<int> healthy{0};
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 random(static_cast<unsigned>(w));
      const std::string rooms[] = {"#a", "#b", "#c"};
      auto client = std::make_unique<IrcClient>(running.port());
      int generation = 0;
      const auto nick = [&] { return "w" + std::to_string(w) + "g" + std::to_string(generation); };
      client->register_as(nick());
      for (int step = 0; step < kSteps; ++step) {
        const auto& room = rooms[random() % 3];
        switch (random() % 6) {
          case 0:
            client->send("JOIN " + room);
            break;
          case 1:
            client->send("PART " + room);
            break;
          case 2:  // quit, or drop without a word, then come back
            if (random() % 2 == 0) client->send("QUIT :churn");
            client = std::make_unique<IrcClient>(running.port());
            ++generation;
            client->register_as(nick());
            break;
          default:
            client->send("PRIVMSG " + room + " :step " + std::to_string(step));
            break;
        }
      }
      if (client->sync()) ++healthy;
    });
  }
  workers.clear();
  EXPECT_EQ(healthy.load(), kWorkers)
      << "after the churn every client still gets an answer to PING";
  IrcClient probe(running.port());
  EXPECT_TRUE(probe.register_as("probe")) << probe.transcript();
}

}  // namespace
}  // namespace chat::testing
