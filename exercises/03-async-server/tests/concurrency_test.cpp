// One thread, many connections: the notes' asyncio model. Concurrency is proved structurally
// (the server's peak of handlers in flight, the threads that ran them); wall-clock time only as
// ratios and bounds with wide margins, scaled by course::time_scale().
#include <algorithm>
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
  EXPECT_LE(took, bound) << "200 concurrent /slow requests (each at most " << describe(one_slow)
                         << ") took " << describe(took) << "; concurrently they take about one "
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
  EXPECT_EQ(fast.status, 200) << "/fast got no answer: " << fast.error;
  EXPECT_LE(latency, bound)
      << "/fast took " << (fast.complete() ? "" : "more than ") << describe(latency)
      << " while 50 /slow requests were pending; "
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
      << "/mixed took " << total << " ms for operations of " << operations[0].second << ", "
      << operations[1].second << " and " << operations[2].second << " ms (sum " << sum
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
      << "/sequential took " << total << " ms for operations summing " << sum << " ms";
}

TEST(EventLoop, SeveralThreadsServeToo) {
  raise_open_file_limit(1024);
  Config config = test_config();
  config.threads = 4;
  RunningServer running(config);
  const auto responses =
      get_concurrently(running.port(), "/mixed", 100, 10 * slow_max(config) + 5s);
  EXPECT_EQ(std::count_if(responses.begin(), responses.end(),
                          [](const HttpResponse& r) { return r.status == 200; }),
            100)
      << summarise_failures(responses);
  const auto stats = running.server.stats();
  EXPECT_GE(stats.peak_in_flight, 100u);
  EXPECT_LE(stats.handler_threads.size(), 4u);
}

}  // namespace
}  // namespace async_server::testing
