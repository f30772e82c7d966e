// Flow control: a client is not read while its own queue, or the queue of a client its lines
// went to, is over the mark (half of each cap). So a client's own requests never cut it, a
// flooding sender is slowed down to the pace of the members who read, and only a member that
// does not read at all is cut (after Config::slow_consumer_timeout).
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <memory>
#include <thread>

#include "test_support.hpp"

namespace chat::testing {
namespace {

constexpr std::size_t kCapLines = 64;
constexpr std::size_t kCapBytes = std::size_t{16} * 1024;
constexpr std::size_t kMarkLines = kCapLines / 2;
constexpr std::size_t kMarkBytes = kCapBytes / 2;

// Small caps, so that a few hundred lines pass them. No client of these tests is expected to be
// cut for not reading, unless the test says so: the timeout is long.
Config flow_config(int threads) {
  Config config = test_config(threads);
  config.max_queued_lines = kCapLines;
  config.max_queued_bytes = kCapBytes;
  config.slow_consumer_timeout = std::chrono::duration_cast<milliseconds>(reply_timeout() * 4);
  return config;
}

// A send() that the server does not take within the time gives up (send_raw returns false),
// so that a server that never reads again cannot hang the test.
void bound_sends(const IrcClient& client) {
  const auto limit = std::chrono::duration_cast<std::chrono::microseconds>(reply_timeout() * 4);
  timeval timeout{.tv_sec = static_cast<time_t>(limit.count() / 1'000'000),
                  .tv_usec = static_cast<suseconds_t>(limit.count() % 1'000'000)};
  ::setsockopt(client.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

void expect_nobody_cut(RunningServer& running) {
  EXPECT_EQ(running.server.stats().slow_consumers, 0u)
      << "a client that reads was cut as a slow consumer. The slow-consumer policy is for "
         "clients that do not read: stop reading from the client whose lines fill the queues "
         "(its own, or its room's) until they drain, instead of cutting the readers";
}

// 400 JOINs in one write queue 1200 lines (JOIN, 353, 366 each), 400 NAMES 800, a WHO on a room
// of 100 members 101: far past the cap of 64 lines. All of it answers the client's own requests,
// and the client reads: it must get every answer and stay connected.
void own_answers_never_cut_a_reader(int threads) {
  RunningServer running(flow_config(threads));
  auto members = registered_clients(running.port(), 100, "m", "#big");
  IrcClient asker(running.port());
  ASSERT_TRUE(asker.register_as("asker"));
  std::string joins;
  std::string names;
  for (int i = 0; i < 400; ++i) {
    joins += "JOIN #r" + std::to_string(i) + "\r\n";
    names += "NAMES #r" + std::to_string(i) + "\r\n";
  }
  ASSERT_TRUE(asker.send_raw(joins));
  ASSERT_TRUE(asker.send_raw(names));
  ASSERT_TRUE(asker.send("WHO #big"));
  std::size_t ends_of_names = 0;
  std::size_t who_lines = 0;
  const auto deadline = Clock::now() + reply_timeout() * 4;
  while (auto line = asker.read_line(deadline)) {
    if (line->command == "366") ++ends_of_names;
    if (line->command == "352") ++who_lines;
    if (line->command == "315" || line->command == "ERROR") break;
  }
  EXPECT_EQ(ends_of_names, 800u)
      << "400 JOINs and 400 NAMES in one write: every one gets its 366, however many lines that "
         "queues (the client reads them)\n"
      << asker.transcript();
  EXPECT_EQ(who_lines, 100u) << "WHO on a room of 100 members: one 352 each, though that is more "
                                "lines than the queue's cap\n"
                             << asker.transcript();
  expect_nobody_cut(running);
}

TEST(Flow, AnswersToOwnRequestsNeverCutAClientThatReads) { own_answers_never_cut_a_reader(1); }
TEST(Flow, AnswersToOwnRequestsNeverCutAClientThatReadsOnTwoThreads) {
  own_answers_never_cut_a_reader(2);
}

// One member sends 20 000 lines of 400 bytes in one go (8 MB, 500 times the byte cap) to a room of
// five members who read all the time, but more slowly than it sends (small socket buffers, a
// pause every 10 lines). The sender must be slowed down to their pace (not read while their
// queues are over the mark), and every member gets every line.
void flooding_sender_is_slowed_down(int threads) {
  RunningServer running(flow_config(threads));
  auto sender = registered_clients(running.port(), 1, "flood", "#flood");
  std::vector<IrcClient> readers;
  for (int r = 0; r < 5; ++r) {
    readers.emplace_back(running.port(), 4096);
    ASSERT_TRUE(readers.back().register_as("reader" + std::to_string(r)));
    ASSERT_TRUE(readers.back().join("#flood"));
  }
  for (auto& reader : readers) ASSERT_TRUE(reader.sync());
  ASSERT_TRUE(sender[0].sync());
  constexpr std::size_t kLines = 20000;
  std::vector<std::size_t> received(readers.size(), 0);
  {
    std::vector<std::jthread> threads_reading;
    for (std::size_t r = 0; r < readers.size(); ++r) {
      threads_reading.emplace_back([&, r] {
        const auto deadline = Clock::now() + reply_timeout() * 6;
        while (auto line = readers[r].read_line(deadline)) {
          if (line->command != "PRIVMSG") continue;
          if (line->text() == "done") break;
          // Not synchronisation: a reader slower than the sender (about 4 MB/s), the fault
          // this test is about. The test is right at any speed.
          if (++received[r] % 10 == 0) std::this_thread::sleep_for(1ms);
        }
      });
    }
    std::string flood;
    for (std::size_t i = 0; i < kLines; ++i) {
      flood += "PRIVMSG #flood :" + std::string(400, static_cast<char>('a' + i % 26)) + "\r\n";
    }
    flood += "PRIVMSG #flood :done\r\n";
    // A blocking send: it returns once the server has read it all.
    bound_sends(sender[0]);
    EXPECT_TRUE(sender[0].send_raw(flood))
        << "the server closed the sender's connection, or stopped reading it for good";
  }
  for (std::size_t r = 0; r < readers.size(); ++r) {
    EXPECT_EQ(received[r], kLines)
        << "reader" << r << " got " << received[r] << " of the " << kLines
        << " lines one member sent in one burst, though it read all the time";
  }
  expect_nobody_cut(running);
}

TEST(Flow, AFloodingSenderIsSlowedDownNotItsReaders) { flooding_sender_is_slowed_down(1); }
TEST(Flow, AFloodingSenderIsSlowedDownNotItsReadersOnTwoThreads) {
  flooding_sender_is_slowed_down(2);
}

// A client sends 5000 PINGs and reads none of its PONGs for a while: once its own queue is over
// the mark (33 lines), the server stops reading it. Its queue never holds more than the mark
// plus one line, and once it reads, every PONG arrives.
TEST(Flow, AClientIsNotReadWhileItsOwnQueueIsOverTheMark) {
  RunningServer running(flow_config(1));
  IrcClient asker(running.port(), 4096);  // a small window: the server's writes block soon
  ASSERT_TRUE(asker.register_as("asker"));
  bound_sends(asker);
  constexpr int kPings = 5000;
  std::string pings;
  for (int i = 0; i < kPings; ++i) pings += "PING :" + std::to_string(i) + "\r\n";
  std::atomic<bool> sent{false};
  std::jthread sending([&] {
    asker.send_raw(pings);
    sent = true;
  });
  // The bound from below: the queue fills up to the mark before the server stops reading.
  const auto filled_by = Clock::now() + reply_timeout() * 4;
  while (Clock::now() < filled_by && running.server.stats().peak_queued_lines < kMarkLines) {
    std::this_thread::sleep_for(5ms);  // polling the server's counter
  }
  EXPECT_GE(running.server.stats().peak_queued_lines, kMarkLines)
      << "a client that does not read its answers had at most "
      << running.server.stats().peak_queued_lines << " lines queued; the mark is " << kMarkLines
      << " (half the cap): stop reading it once its queue is over the mark, not before";
  // Not synchronisation: a window in which a server that reads on regardless queues far past
  // the mark. A server that stops reading is right whatever the wait.
  const auto window_end = Clock::now() + course::scaled(milliseconds(500));
  while (Clock::now() < window_end && running.server.stats().peak_queued_lines <= kMarkLines + 1) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_LE(running.server.stats().peak_queued_lines, kMarkLines + 1)
      << "a client that does not read its answers had " << running.server.stats().peak_queued_lines
      << " lines queued; the mark is " << kMarkLines
      << ": stop reading a client (after the line in hand) while its own queue is over the mark";
  int pongs = 0;
  const auto deadline = Clock::now() + reply_timeout() * 4;
  while (pongs < kPings) {
    const auto line = asker.read_line(deadline);
    if (!line) break;
    if (line->command == "PONG") ++pongs;
  }
  EXPECT_EQ(pongs, kPings) << "once the client reads, every answer comes\n" << asker.transcript();
  sending.join();
  EXPECT_TRUE(sent);
  expect_nobody_cut(running);
}

// One member reads nothing. The talker is held back while that member's queue is over the mark,
// so the queue never passes the mark by more than a line; after slow_consumer_timeout the member
// is cut (and leaves after close_timeout), and the talker and the members who read go on.
TEST(Flow, AMemberThatDoesNotReadIsCutAfterTheSlowConsumerTimeout) {
  Config config = flow_config(1);
  config.slow_consumer_timeout = course::scaled(milliseconds(300));
  config.close_timeout = course::scaled(milliseconds(300));
  RunningServer running(config);
  IrcClient sloth(running.port(), 4096);
  ASSERT_TRUE(sloth.register_as("sloth"));
  ASSERT_TRUE(sloth.join("#slow"));
  auto talker = registered_clients(running.port(), 1, "talker", "#slow");
  auto listener = registered_clients(running.port(), 1, "listener", "#slow");
  ASSERT_TRUE(listener[0].sync());
  ASSERT_TRUE(talker[0].sync());
  std::size_t sent = 0;
  std::size_t heard = 0;
  const std::string text(400, 'z');
  const auto deadline = Clock::now() + reply_timeout() * 4;
  // 32 lines at a time, each batch heard whole by the listener before the next, until the
  // server has cut the sloth. 40 000 lines (16 MiB) is far past any socket buffer.
  while (running.server.stats().slow_consumers == 0 && Clock::now() < deadline && sent < 40'000) {
    std::string batch;
    for (int i = 0; i < 32; ++i) batch += "PRIVMSG #slow :" + text + "\r\n";
    ASSERT_TRUE(talker[0].send_raw(batch));
    sent += 32;
    while (heard < sent) {
      const auto line = listener[0].read_line(deadline);
      ASSERT_TRUE(line) << "the listener, which reads, stopped getting the talker's lines\n"
                        << listener[0].transcript();
      if (line->command == "PRIVMSG") ++heard;
    }
  }
  const auto stats = running.server.stats();
  ASSERT_EQ(stats.slow_consumers, 1u)
      << "a member that reads nothing must be cut once its queue has been over the mark for "
         "slow_consumer_timeout; "
      << sent << " lines of 400 bytes were sent to it";
  EXPECT_LE(stats.peak_queued_lines, kMarkLines + 1)
      << "the silent member's queue reached " << stats.peak_queued_lines << " lines (mark "
      << kMarkLines << "): the one sender must be held back as soon as its line takes a queue "
      << "over the mark, not go on until the cap cuts the member";
  // Lines of 400 bytes reach the byte mark (8 KiB, about 19 of them) before the line mark.
  EXPECT_LE(stats.peak_queued_bytes, kMarkBytes + 512)
      << "the silent member's queue reached " << stats.peak_queued_bytes << " bytes (mark "
      << kMarkBytes << "): the byte mark holds the sender back too, whichever mark comes first";
  EXPECT_TRUE(listener[0].wait_for([](const Line& line) {
    return line.command == "QUIT" && line.source_nick() == "sloth";
  })) << "the cut member leaves the room (its QUIT) within close_timeout\n"
      << listener[0].transcript();
  talker[0].send("PRIVMSG #slow :after");
  EXPECT_TRUE(listener[0].wait_for([](const Line& line) {
    return line.command == "PRIVMSG" && line.text() == "after";
  })) << "once the silent member is cut, the talker is read again\n"
      << listener[0].transcript();
}

// Server::stop() while a talker is held back by a member that reads nothing: every wait of flow
// control ends with the close, so stop() returns long before its deadline, and the talker gets
// its ERROR line.
TEST(Flow, StopEndsTheWaitOfAHeldBackSender) {
  Config config = flow_config(1);
  config.close_timeout = course::scaled(milliseconds(300));  // the silent member goes quickly
  config.shutdown_deadline = course::scaled(milliseconds(20'000));
  auto running = std::make_unique<RunningServer>(config);
  IrcClient sloth(running->port(), 4096);
  ASSERT_TRUE(sloth.register_as("sloth"));
  auto talker = registered_clients(running->port(), 1, "talker");
  bound_sends(talker[0]);
  // Private lines to the silent member until its queue is over the mark and the talker is held
  // (its PING is then not answered).
  const std::string text(400, 'h');
  bool held = false;
  for (int batch = 0; batch < 400 && !held; ++batch) {
    std::string lines;
    for (int i = 0; i < 32; ++i) lines += "PRIVMSG sloth :" + text + "\r\n";
    ASSERT_TRUE(talker[0].send_raw(lines + "PING :batch\r\n"));
    held = !talker[0].wait_for(is_command("PONG"), course::scaled(milliseconds(200)));
  }
  ASSERT_TRUE(held) << "the talker was never held back by the member that reads nothing";
  const auto start = Clock::now();
  running->server.stop();
  const auto took = Clock::now() - start;
  EXPECT_LT(took, config.shutdown_deadline / 2)
      << "stop() took " << std::chrono::duration_cast<milliseconds>(took).count()
      << " ms with a sender held back by flow control: a close must end that wait (the "
         "session then ends, and stop() need not wait for its deadline)";
  EXPECT_TRUE(talker[0].wait_for([](const Line& line) {
    return line.command == "ERROR" && line.text().find("shutting down") != std::string::npos;
  })) << talker[0].transcript();
}

}  // namespace
}  // namespace chat::testing
