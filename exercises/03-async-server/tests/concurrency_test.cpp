// One thread, many connections: the notes' asyncio model. Concurrency is proved structurally
// (the server's peak of handlers in flight, the threads that ran them); wall-clock time only as
// ratios and bounds with wide margins, scaled by course::time_scale().
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace async_server::testing {
namespace {

Clock::duration slow_max(const Config& config) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(
      static_cast<double>(config.slow.max.count()) * config.time_scale));
}

std::string summarise_failures(const std::vector<HttpResponse>& responses) {
  std::size_t failed = 0;
  std::string first;
  for (const auto& response : responses) {
    if (response.status == 200) continue;
    if (failed++ == 0)
      first = response.complete() ? std::to_string(response.status) : response.error;
  }
  return std::to_string(failed) + " of " + std::to_string(responses.size()) +
         " requests failed (first: " + first + ")";
}

TEST(EventLoop, ServesTwoHundredSlowRequestsAtOnce) {
  raise_open_file_limit(1024);
  const Config config = test_config();
  RunningServer running(config);
  const auto one_slow = slow_max(config);
  const auto start = Clock::now();
  const auto responses = get_concurrently(running.port(), "/slow", 200, 10 * one_slow + 5s);
  const auto took = Clock::now() - start;
  const auto ok = std::count_if(responses.begin(), responses.end(),
                                [](const HttpResponse& r) { return r.status == 200; });
  ASSERT_EQ(ok, 200) << summarise_failures(responses);
  // All 200 wait at the same time, so together they take about one slow operation; one at a
  // time they would take 200 of them.
  const auto bound = 3 * one_slow + course::scaled(milliseconds(500));
  EXPECT_LE(took, bound) << course::kTimingMark << "200 concurrent /slow requests (each at most "
                         << describe(one_slow) << ") took " << describe(took)
                         << "; concurrently they take about one "
                         << "slow duration (bound " << describe(bound)
                         << "). Their lifetimes should overlap: wait on timers, not in a sleep.";
}

TEST(EventLoop, OneThreadHoldsTwoHundredHandlers) {
  raise_open_file_limit(1024);
  const Config config = test_config();
  RunningServer running(config);
  const auto responses = get_concurrently(running.port(), "/slow", 200, 10 * slow_max(config) + 5s);
  running.server.stop();  // waits for the last request to be counted
  const auto stats = running.server.stats();
  EXPECT_EQ(std::count_if(responses.begin(), responses.end(),
                          [](const HttpResponse& r) { return r.status == 200; }),
            200)
      << summarise_failures(responses);
  EXPECT_GE(stats.peak_in_flight, 200u)
      << "at most " << stats.peak_in_flight << " of 200 /slow handlers were alive at the same "
      << "time: their lifetimes should all overlap, each waiting on its timer while the event "
      << "loop runs the others";
  ASSERT_EQ(stats.handler_threads.size(), 1u)
      << "with Config::threads = 1 every handler runs on the event loop's one thread (the "
         "asyncio model); "
      << stats.handler_threads.size() << " threads ran handlers";
  EXPECT_NE(stats.handler_threads.front(), std::this_thread::get_id())
      << "handlers should run on the server's loop thread, not on the caller's";
  EXPECT_EQ(stats.requests, 200u);
}

TEST(EventLoop, FastAnswersWhileSlowRequestsWait) {
  raise_open_file_limit(1024);
  Config config = test_config();
  RunningServer running(config);
  const auto one_slow = slow_max(config);
  // 50 /slow requests start waiting on the loop...
  std::vector<Connection> slow;
  for (int i = 0; i < 50; ++i) {
    slow.emplace_back(running.port());
    slow.back().send(request_text("/slow"));
  }
  // ...and a /fast request sent meanwhile must not wait for them.
  for (int attempt = 0; attempt < 100 && running.server.stats().in_flight < 50; ++attempt) {
    std::this_thread::sleep_for(5ms);  // polling the server's counter, not synchronising it
  }
  const double fast_max = static_cast<double>(config.fast.max.count()) * config.time_scale;
  const auto bound = std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double, std::milli>(fast_max)) +
                     course::scaled(milliseconds(150));
  // A free loop answers within `bound`; a blocked one only after the /slow requests, so give
  // up after a few slow durations.
  const auto fast = get(running.port(), "/fast", 3 * one_slow + 1s);
  const auto latency = fast.complete() ? fast.latency : 3 * one_slow + 1s;
  EXPECT_EQ(fast.status, 200) << course::kTimingMark << "/fast got no answer: " << fast.error;
  EXPECT_LE(latency, bound)
      << course::kTimingMark << "/fast took " << (fast.complete() ? "" : "more than ")
      << describe(latency) << " while 50 /slow requests were pending; "
      << "on its own it takes at most " << fast_max << " ms (bound " << describe(bound) << "). "
      << "The event loop was blocked: this is the notes' pitfall of calling time.sleep inside "
         "an async def. A blocking std::this_thread::sleep_for (or any blocking call) in a "
         "handler stops every other coroutine on the loop; wait with co_await on an "
         "asio::steady_timer instead.";
  // The slow ones all finish too.
  const auto deadline = Clock::now() + 2 * one_slow + 1s;
  std::size_t answered = 0;
  for (auto& connection : slow) answered += connection.read_response(deadline).status == 200;
  EXPECT_EQ(answered, 50u) << "only " << answered << " of the 50 /slow requests were answered";
}

TEST(Timing, MixedTakesAboutTheLongest) {
  RunningServer running;
  const auto response = get(running.port(), "/mixed", 20s);
  ASSERT_EQ(response.status, 200) << response.error;
  const auto operations = json_operations(response.body);
  ASSERT_EQ(operations.size(), 3u) << "/mixed reports its three operations: " << response.body;
  double sum = 0;
  double longest = 0;
  for (const auto& [name, took] : operations) {
    sum += took;
    longest = std::max(longest, took);
  }
  const double total = ms(response.latency);
  EXPECT_GE(total, longest * 0.99) << "/mixed answered before its slowest operation ended";
  EXPECT_LT(total, 0.75 * sum)
      << course::kTimingMark << "/mixed took " << total << " ms for operations of "
      << operations[0].second << ", " << operations[1].second << " and " << operations[2].second
      << " ms (sum " << sum
      << " ms): it ran them one after the other. Run them concurrently (like asyncio.gather: a "
         "parallel group or the && awaitable operator) so that it takes about the longest one ("
      << longest << " ms).";
}

TEST(Timing, SequentialTakesAboutTheSum) {
  RunningServer running;
  const auto response = get(running.port(), "/sequential", 20s);
  ASSERT_EQ(response.status, 200) << response.error;
  const auto operations = json_operations(response.body);
  ASSERT_EQ(operations.size(), 3u) << response.body;
  EXPECT_EQ(operations[0].first, "fast");
  EXPECT_EQ(operations[1].first, "medium");
  EXPECT_EQ(operations[2].first, "slow");
  double sum = 0;
  for (const auto& [name, took] : operations) sum += took;
  const double total = ms(response.latency);
  EXPECT_GE(total, sum * 0.99) << "/sequential runs its operations one after the other: it "
                                  "cannot take less than their sum ("
                               << sum << " ms); it took " << total << " ms";
  EXPECT_LE(total, 1.5 * sum + ms(course::scaled(milliseconds(200))))
      << course::kTimingMark << "/sequential took " << total << " ms for operations summing " << sum
      << " ms";
}

// The threads of this process (their ids in /proc/self/task).
std::set<long> thread_ids() {
  std::set<long> ids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    ids.insert(std::stol(entry.path().filename().string()));
  }
  return ids;
}

// Every endpoint waits without blocking the loop, not only /slow: while requests to one of them
// are pending, /fast answers in about its own time.
TEST(EventLoop, NoEndpointBlocksTheLoop) {
  const Config config = test_config();
  const double fast_max = static_cast<double>(config.fast.max.count()) * config.time_scale;
  const auto bound = std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double, std::milli>(fast_max)) +
                     course::scaled(milliseconds(150));
  for (const char* path : {"/medium", "/mixed", "/sequential"}) {
    SCOPED_TRACE(path);
    RunningServer running(config);
    std::vector<Connection> pending;
    for (int i = 0; i < 8; ++i) {
      pending.emplace_back(running.port());
      pending.back().send(request_text(path));
    }
    for (int attempt = 0; attempt < 100 && running.server.stats().in_flight < 8; ++attempt) {
      std::this_thread::sleep_for(5ms);  // polling the server's counter, not synchronising it
    }
    const auto fast = get(running.port(), "/fast", 10 * slow_max(config) + 1s);
    EXPECT_EQ(fast.status, 200) << "/fast got no answer: " << fast.error;
    EXPECT_LE(fast.latency, bound)
        << "/fast took " << describe(fast.latency) << " while 8 " << path << " requests were "
        << "pending; on its own it takes at most " << fast_max << " ms (bound " << describe(bound)
        << "). The handler of " << path << " blocked the event loop: every operation it waits "
        << "for must be a co_await on a timer, never a sleep.";
  }
}

// /mixed runs its three operations at once. With the three ranges made equal (400 ms each),
// running any two of them one after the other would take 800 ms.
TEST(Timing, MixedOverlapsEveryOperation) {
  Config config = test_config();
  config.time_scale = course::time_scale();
  config.fast = config.medium = config.slow = {400ms, 400ms};
  RunningServer running(config);
  const auto response = get(running.port(), "/mixed", 20s);
  ASSERT_EQ(response.status, 200) << response.error;
  const auto operations = json_operations(response.body);
  ASSERT_EQ(operations.size(), 3u) << response.body;
  const double one = 400.0 * config.time_scale;
  for (const auto& [name, took] : operations) {
    EXPECT_GE(took, one * 0.99) << name << " reported " << took << " ms; its range is exactly "
                                << one << " ms (Config range x time_scale)";
  }
  const double total = ms(response.latency);
  EXPECT_LT(total, 1.9 * one)
      << course::kTimingMark << "/mixed took " << total << " ms for three operations of " << one
      << " ms each: at "
      << "least two of them ran one after the other. Start all three before awaiting any (a "
         "parallel group, or a && b && c).";
  const auto reported = json_field(response.body, "total_ms");
  ASSERT_TRUE(reported) << "the answer reports total_ms: " << response.body;
  EXPECT_GE(std::stod(*reported), one * 0.99) << response.body;
  EXPECT_LE(std::stod(*reported), total + 1.0)
      << "total_ms cannot be more than the client measured (" << total << " ms)";
}

// Durations are drawn in [min, max] x time_scale; time_scale 0 makes every operation instant.
TEST(Timing, OperationsLastWhatTheirRangeSays) {
  Config config = test_config();
  config.time_scale = 2.0 * course::time_scale();
  config.fast = {50ms, 60ms};
  config.medium = {80ms, 90ms};
  config.slow = {100ms, 110ms};
  {
    RunningServer running(config);
    const auto response = get(running.port(), "/sequential", 20s);
    ASSERT_EQ(response.status, 200) << response.error;
    const auto operations = json_operations(response.body);
    ASSERT_EQ(operations.size(), 3u) << response.body;
    const std::vector<DurationRange> ranges = {config.fast, config.medium, config.slow};
    for (std::size_t i = 0; i < 3; ++i) {
      const double low = static_cast<double>(ranges[i].min.count()) * config.time_scale;
      EXPECT_GE(operations[i].second, low * 0.99)
          << operations[i].first << " took " << operations[i].second << " ms, less than its "
          << "range's minimum x time_scale (" << low << " ms)";
    }
  }
  config.time_scale = 0;
  RunningServer instant(config);
  const auto response = get(instant.port(), "/sequential", 20s);
  ASSERT_EQ(response.status, 200) << response.error;
  for (const auto& [name, took] : json_operations(response.body)) {
    EXPECT_LT(took, ms(course::scaled(milliseconds(50))))
        << course::kTimingMark << "with time_scale 0 every operation is instant; " << name
        << " took " << took << " ms";
  }
}

TEST(EventLoop, SeveralThreadsServeToo) {
  raise_open_file_limit(1024);
  Config config = test_config();
  config.threads = 4;
  // The log is called from the loop's threads but never twice at once. Its first call stays
  // inside until a second one comes in or 300 ms (scaled) pass, so unserialised calls show.
  auto log_inside = std::make_shared<std::atomic<int>>(0);
  auto log_most = std::make_shared<std::atomic<int>>(0);
  auto log_mutex = std::make_shared<std::mutex>();
  auto log_entered = std::make_shared<std::condition_variable>();
  auto log_calls = std::make_shared<std::size_t>(0);
  config.log = [=](std::string_view) {
    const int now = log_inside->fetch_add(1) + 1;
    int seen = log_most->load();
    while (now > seen && !log_most->compare_exchange_weak(seen, now)) {
    }
    {
      std::unique_lock lock(*log_mutex);
      if (++*log_calls == 1) {
        log_entered->wait_for(lock, course::scaled(milliseconds(300)),
                              [&] { return log_inside->load() > 1; });
      }
    }
    log_entered->notify_all();
    log_inside->fetch_sub(1);
  };
  const auto before = thread_ids();
  RunningServer running(config);
  const auto during = thread_ids();
  std::size_t added = 0;
  for (const long id : during) added += before.contains(id) ? 0 : 1;
  EXPECT_GE(added, 4u) << "with Config::threads = 4 the server runs its event loop on 4 threads "
                       << "(io_context::run on each), but the process gained " << added
                       << " threads when it started";
  const auto responses =
      get_concurrently(running.port(), "/mixed", 100, 10 * slow_max(config) + 5s);
  EXPECT_EQ(std::count_if(responses.begin(), responses.end(),
                          [](const HttpResponse& r) { return r.status == 200; }),
            100)
      << summarise_failures(responses);
  const auto stats = running.server.stats();
  EXPECT_GE(stats.peak_in_flight, 100u);
  EXPECT_LE(stats.handler_threads.size(), 4u);
  EXPECT_EQ(log_most->load(), 1) << "Config::log ran " << log_most->load() << " times at once "
                                 << "on the loop's 4 threads: it must never run twice at once "
                                    "(serialise the calls, for example with a mutex)";
}

}  // namespace
}  // namespace async_server::testing
