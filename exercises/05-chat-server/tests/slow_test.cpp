// Slow consumers: a client that stops reading must not slow the others down or grow the
// server's memory. Its bounded queue fills, and the server disconnects it.
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "course/waits.hpp"
#include "test_support.hpp"

namespace chat::testing {
namespace {

constexpr std::size_t kCapLines = 64;
constexpr std::size_t kCapBytes = std::size_t{16} * 1024;

Config slow_config(int threads) {
  Config config = test_config(threads);
  config.max_queued_lines = kCapLines;
  config.max_queued_bytes = kCapBytes;
  return config;
}

struct SlowRun {
  std::size_t sent = 0;
  std::vector<std::size_t> received;  // per listener
};

// Two listeners read everything; the test's slow client (a tiny receive buffer) reads nothing.
// The talker sends batches smaller than the cap and waits until both listeners have each batch,
// so a listener is never a slow consumer. It goes on until the server has dropped the slow
// client (or a hard limit), then sends a final marker.
SlowRun run_with_a_slow_consumer(RunningServer& running,
                                 std::vector<IrcClient>* keep_listeners = nullptr) {
  constexpr std::size_t kBatch = kCapLines / 2;
  auto talker = registered_clients(running.port(), 1, "talker", "#slow");
  auto listeners = registered_clients(running.port(), 2, "listener", "#slow");
  for (auto& client : listeners) EXPECT_TRUE(client.sync());
  EXPECT_TRUE(talker[0].sync());
  SlowRun run;
  run.received.resize(listeners.size());
  std::mutex mutex;
  std::condition_variable progressed;
  const std::string text(400, 'z');
  {
    std::vector<std::jthread> readers;
    for (std::size_t l = 0; l < listeners.size(); ++l) {
      readers.emplace_back([&, l] {
        const auto deadline = Clock::now() + reply_timeout() * 6;
        while (auto line = listeners[l].read_line(deadline)) {
          if (line->command != "PRIVMSG") continue;
          if (line->text() == "done") break;
          const std::scoped_lock lock(mutex);
          ++run.received[l];
          progressed.notify_all();
        }
      });
    }
    // At most 16 MiB: far past any kernel buffer (4 MiB here), so an unbounded queue is caught.
    constexpr std::size_t kHardLimit = 40'000;
    while (run.sent < kHardLimit && running.server.stats().slow_consumers == 0) {
      std::string batch;
      for (std::size_t i = 0; i < kBatch; ++i) batch += "PRIVMSG #slow :" + text + "\r\n";
      if (!talker[0].send_raw(batch)) break;
      run.sent += kBatch;
      std::unique_lock lock(mutex);
      const bool kept_up = progressed.wait_for(lock, reply_timeout(), [&] {
        return std::all_of(run.received.begin(), run.received.end(),
                           [&](std::size_t n) { return n >= run.sent; });
      });
      if (!kept_up) break;  // the listeners were held up: the test reports it below
    }
    talker[0].send("PRIVMSG #slow :done");
  }
  if (keep_listeners != nullptr) *keep_listeners = std::move(listeners);
  return run;
}

TEST(SlowConsumer, OthersKeepReceivingEverything) {
  RunningServer running(slow_config(1));
  IrcClient slow(running.port(), 4096);
  ASSERT_TRUE(slow.register_as("sloth"));
  ASSERT_TRUE(slow.join("#slow"));
  const auto run = run_with_a_slow_consumer(running);
  for (std::size_t l = 0; l < run.received.size(); ++l) {
    EXPECT_EQ(run.received[l], run.sent)
        << "listener" << l << " got " << run.received[l] << " of " << run.sent
        << " messages while one member of the room read nothing: the others must not wait for "
           "a slow client (write to each client from its own queue, never to a socket while "
           "holding a lock)";
  }
  EXPECT_EQ(running.server.stats().slow_consumers, 1u)
      << "a client that reads nothing while " << run.sent
      << " lines of 400 bytes are sent to it must be disconnected (Stats::slow_consumers)";
}

TEST(SlowConsumer, TheSlowClientGetsErrorThenClose) {
  RunningServer running(slow_config(2));
  IrcClient slow(running.port(), 4096);
  ASSERT_TRUE(slow.register_as("sloth"));
  ASSERT_TRUE(slow.join("#slow"));
  const auto run = run_with_a_slow_consumer(running);
  // The slow client reads now: what was written before the drop, then ERROR, then the end.
  std::size_t before = 0;
  std::optional<Line> error;
  const auto deadline = Clock::now() + reply_timeout() * 2;
  while (auto line = slow.read_line(deadline)) {
    if (line->command == "ERROR") {
      error = line;
      break;
    }
    if (line->command == "PRIVMSG") ++before;
  }
  ASSERT_TRUE(error) << "after " << run.sent << " lines of 400 bytes the slow client should be "
                     << "dropped with 'ERROR :Closing link: slow consumer'; it read " << before
                     << " messages and no ERROR\n"
                     << slow.transcript();
  EXPECT_NE(error->text().find("slow consumer"), std::string::npos) << error->raw;
  EXPECT_LT(before, run.sent) << "the slow client was dropped, so it cannot have everything";
  EXPECT_TRUE(slow.wait_closed()) << "after the ERROR line the connection closes";
}

TEST(SlowConsumer, TheQueueNeverPassesItsCaps) {
  RunningServer running(slow_config(1));
  IrcClient slow(running.port(), 4096);
  ASSERT_TRUE(slow.register_as("sloth"));
  ASSERT_TRUE(slow.join("#slow"));
  run_with_a_slow_consumer(running);
  const auto stats = running.server.stats();
  EXPECT_EQ(stats.slow_consumers, 1u);
  EXPECT_LE(stats.peak_queued_lines, kCapLines)
      << "a client's queue held " << stats.peak_queued_lines << " lines; the cap is " << kCapLines;
  EXPECT_LE(stats.peak_queued_bytes, kCapBytes)
      << "a client's queue held " << stats.peak_queued_bytes << " bytes; the cap is " << kCapBytes;
  EXPECT_GT(stats.peak_queued_lines, 1u)
      << "Stats::peak_queued_lines must report the queue's real peak (it filled up here)";
}

// Flow control holds each sender back once its line takes a queue over the mark, but 40 senders
// that each send one more line before they are held take a silent client's queue past its byte
// cap: the caps still hold, and it is cut by them (its timeout is far away).
TEST(SlowConsumer, ManySendersAtOnceCannotTakeAQueuePastItsCaps) {
  Config config = slow_config(1);
  config.slow_consumer_timeout = std::chrono::duration_cast<milliseconds>(reply_timeout() * 20);
  RunningServer running(config);
  IrcClient slow(running.port(), 4096);
  ASSERT_TRUE(slow.register_as("sloth"));
  auto senders = registered_clients(running.port(), 40, "s");
  const std::string text(400, 'q');
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "PRIVMSG sloth :" + text + "\r\n";
  for (auto& sender : senders) ASSERT_TRUE(sender.send_raw(lines));
  const auto deadline = Clock::now() + reply_timeout();
  while (running.server.stats().slow_consumers == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);  // polling Stats: the server offers no event to wait on
  }
  const auto stats = running.server.stats();
  EXPECT_EQ(stats.slow_consumers, 1u)
      << "40 clients sent 1600 lines of 400 bytes to one that reads nothing: the lines from "
         "others must never take its queue past a cap (16 KiB here); cut it when one would";
  EXPECT_LE(stats.peak_queued_lines, kCapLines);
  EXPECT_LE(stats.peak_queued_bytes, kCapBytes)
      << "a client's queue held " << stats.peak_queued_bytes << " bytes; the cap is " << kCapBytes;
}

// The server offers no event to wait on for its Stats: the tests poll them.
using course::eventually;

// The caps' edge: a queue may hold exactly its cap of lines from others, and the line that would
// pass it cuts the client. Flow control holds a sender back once its line takes the queue over
// the mark, so the queue is filled from the mark to the cap by fresh senders, one line each (a
// fresh sender's first line is always read). Every sender's nick has 3 characters, so every
// relayed line has the same size and the byte cap can be set to exactly 64 of them.
enum class Cap { lines, bytes };

void expect_a_queue_holds_exactly_its_cap(Cap cap) {
  constexpr std::size_t kCap = 64;
  const std::string text(400, 'c');
  const auto nick = [](char stem, std::size_t i) {
    return std::string(1, stem) + (i < 10 ? "0" : "") + std::to_string(i);
  };
  // The size of one relayed line, as "ruler" (5 characters, like "sloth") receives it.
  std::size_t line_bytes = 0;
  {
    RunningServer probe(test_config(1));
    IrcClient ruler(probe.port());
    IrcClient from(probe.port());
    ASSERT_TRUE(ruler.register_as("ruler"));
    ASSERT_TRUE(from.register_as("f00"));
    ASSERT_TRUE(from.send("PRIVMSG ruler :" + text));
    const auto got = ruler.wait_for(is_command("PRIVMSG"));
    ASSERT_TRUE(got) << ruler.transcript();
    line_bytes = got->raw.size() + 2;
  }
  Config config = test_config(1);
  config.max_queued_lines = cap == Cap::lines ? kCap : 1'000'000;
  config.max_queued_bytes = cap == Cap::bytes ? kCap * line_bytes : std::size_t{64} << 20;
  config.slow_consumer_timeout = std::chrono::duration_cast<milliseconds>(reply_timeout() * 20);
  RunningServer running(config);
  IrcClient slow(running.port(), 4096);
  ASSERT_TRUE(slow.register_as("sloth"));
  IrcClient filler(running.port());
  ASSERT_TRUE(filler.register_as("f00"));
  // A bounded send: the server stops reading the filler once it is held back.
  const timeval send_timeout{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(filler.fd(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  std::vector<IrcClient> senders;
  for (std::size_t i = 0; i < 80; ++i) {
    senders.emplace_back(running.port());
    ASSERT_TRUE(senders.back().register_as(nick('s', i)));
  }
  const auto queued = [&] {
    const Stats stats = running.server.stats();
    return cap == Cap::lines ? stats.peak_queued_lines : stats.peak_queued_bytes / line_bytes;
  };
  // 1. The filler sends until the kernel's buffers are full and the queue is over its mark: the
  //    server then stops reading it.
  const std::string line = "PRIVMSG sloth :" + text + "\r\n";
  std::string chunk;
  for (int i = 0; i < 64; ++i) chunk += line;
  const auto fill_deadline = Clock::now() + reply_timeout() * 4;
  while (queued() <= kCap / 2 && Clock::now() < fill_deadline) {
    if (!filler.send_raw(chunk)) break;
  }
  ASSERT_TRUE(eventually([&] { return queued() > kCap / 2; }))
      << "the silent client's queue never went over its mark (" << kCap / 2 << ")";
  // 2. One line from each fresh sender, until the queue has held kCap lines or a sender ran out.
  std::size_t used = 0;
  while (used < senders.size() && running.server.stats().slow_consumers == 0) {
    const std::size_t before = queued();
    ASSERT_TRUE(senders[used++].send("PRIVMSG sloth :" + text));
    eventually([&] { return queued() > before || running.server.stats().slow_consumers > 0; },
               std::chrono::milliseconds(300));
  }
  const Stats stats = running.server.stats();
  const char* unit = cap == Cap::lines ? "lines" : "lines' worth of bytes";
  EXPECT_EQ(queued(), kCap) << "the silent client's queue peaked at " << queued() << " " << unit
                            << " before it was "
                            << "cut, with a cap of " << kCap
                            << ": a queue may hold exactly its cap, and only the line "
                            << "that would pass it cuts the client (compare with >, not >=)";
  EXPECT_EQ(stats.slow_consumers, 1U)
      << used << " fresh senders each sent one line to a client whose queue was over its mark: "
      << "the line that would take its queue past the cap (" << kCap << " " << unit
      << ") must cut it";
}

TEST(SlowConsumer, AQueueHoldsExactlyItsLineCap) {
  expect_a_queue_holds_exactly_its_cap(Cap::lines);
}
TEST(SlowConsumer, AQueueHoldsExactlyItsByteCap) {
  expect_a_queue_holds_exactly_its_cap(Cap::bytes);
}

// A dropped client that never reads again cannot take its ERROR line: after
// Config::close_timeout the server cuts it off anyway, and it leaves (its QUIT reaches the room).
TEST(SlowConsumer, AClientThatNeverReadsIsCutOffAfterTheCloseTimeout) {
  Config config = slow_config(1);
  config.close_timeout = course::scaled(milliseconds(300));
  std::mutex mutex;
  std::vector<std::string> log;
  config.log = [&](std::string_view line) {
    const std::scoped_lock lock(mutex);
    log.emplace_back(line);
  };
  RunningServer running(config);
  IrcClient slow(running.port(), 4096);
  ASSERT_TRUE(slow.register_as("sloth"));
  ASSERT_TRUE(slow.join("#slow"));
  std::vector<IrcClient> listeners;
  run_with_a_slow_consumer(running, &listeners);
  ASSERT_EQ(running.server.stats().slow_consumers, 1u);
  ASSERT_FALSE(listeners.empty());
  const auto quit = listeners[0].wait_for(
      [](const Line& line) { return line.command == "QUIT" && line.source_nick() == "sloth"; });
  EXPECT_TRUE(quit) << "the slow client, which reads nothing, must be gone within "
                       "Config::close_timeout of its drop (its QUIT never came): bound the "
                       "write of a closing client with a timer\n"
                    << listeners[0].transcript();
  const std::scoped_lock lock(mutex);
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
    return line.rfind("quit sloth: ", 0) == 0;
  })) << "a slow consumer's departure is logged as 'quit sloth: <reason>'";
}

}  // namespace
}  // namespace chat::testing
