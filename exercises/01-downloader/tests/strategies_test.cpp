// Levels 4 to 7: the concurrent strategies. Every strategy must save every file intact, keep one
// URL's failure from stopping the others, really overlap its downloads (a rendezvous of k
// requests at the server), respect its limit L, take about ceil(N/L) latencies, and stop promptly.
#include <atomic>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace downloader::testing {
namespace {

// How many transfers a strategy runs at once for n URLs at limit `limit`.
std::size_t in_flight_for(Strategy strategy, std::size_t n, std::size_t limit) {
  if (strategy == Strategy::sequential) return 1;
  if (strategy == Strategy::thread_per_url) return n;
  return std::min(n, limit);
}

std::string limit_text(Strategy strategy, std::size_t limit) {
  if (strategy == Strategy::thread_per_url) return "one thread per URL";
  return "L=" + std::to_string(limit);
}

// ---- correctness ----

void expect_every_file_intact(Strategy strategy) {
  World world;
  // Sizes from empty to a few hundred KiB; the first URLs answer last, so a strategy that
  // returns results in completion order gets them in the wrong order.
  const std::vector<std::size_t> sizes = {0, 1, 1000, 4096, 65'536, 300'000, 17, 123'457, 2, 9999};
  std::vector<std::string> urls;
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::string path = "/files/" + std::to_string(i) + ".bin";
    const auto latency = milliseconds(10 * (sizes.size() - i));
    world.server.add({.path = path, .body_size = sizes[i], .latency = latency});
    urls.push_back(world.server.url(path));
    paths.push_back(path);
  }
  ProgressLog progress;
  Options options = test_options(strategy, 4);
  options.on_progress = progress.callback();

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));

  std::uint64_t total = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const Result& result = run.results[i];
    EXPECT_EQ(result.url, urls[i]) << "result " << i << " belongs to another URL: results must "
                                   << "come in the order of the input, not in the order the "
                                   << "downloads finished. Store result i in slot i.";
    EXPECT_EQ(result.path, world.dest / (std::to_string(i) + ".bin"));
    EXPECT_TRUE(saved_intact(result, paths[i], sizes[i]));
    EXPECT_EQ(result.http_status, 200) << describe(result);
    EXPECT_EQ(result.attempts, 1) << describe(result);
    total += sizes[i];
  }
  std::vector<std::string> expected_files;
  for (std::size_t i = 0; i < urls.size(); ++i)
    expected_files.push_back(std::to_string(i) + ".bin");
  std::sort(expected_files.begin(), expected_files.end());
  EXPECT_EQ(files_below(world.dest), expected_files)
      << "dest_dir should hold exactly the downloaded files, no temporary file left behind";

  const auto calls = progress.calls();
  ASSERT_EQ(calls.size(), urls.size()) << "the progress callback must be called once per URL";
  std::set<std::size_t> indices;
  std::uint64_t bytes_so_far = 0;
  for (std::size_t c = 0; c < calls.size(); ++c) {
    EXPECT_EQ(calls[c].files_done, c + 1) << "files_done counts the finished URLs: 1, 2, 3, ...";
    EXPECT_EQ(calls[c].files_total, urls.size());
    ASSERT_LT(calls[c].index, urls.size()) << "Progress::index is a position in `urls`";
    indices.insert(calls[c].index);
    bytes_so_far += sizes[calls[c].index];
    EXPECT_EQ(calls[c].bytes_done, bytes_so_far)
        << "call " << c + 1 << " reports URL " << calls[c].index << " done: bytes_done must be "
        << "the bytes of every URL reported so far, this one included (" << bytes_so_far << ")";
  }
  EXPECT_EQ(indices.size(), urls.size()) << "each URL's index must be reported exactly once";
  EXPECT_EQ(calls.back().bytes_done, total) << "bytes_done must end at the total saved";
  EXPECT_EQ(progress.most_at_once(), 1U)
      << "the progress callback ran " << progress.most_at_once()
      << " times at once: report progress under a lock so that calls never overlap";
}

void expect_errors_isolated(Strategy strategy) {
  World world;
  auto& server = world.server;
  server.add({.path = "/ok/first.bin", .body_size = 5000});
  server.add({.path = "/bad/broken.bin", .status = 500, .body = "boom"});
  server.add({.path = "/bad/hang.bin", .hang = true});
  server.add({.path = "/bad/cut.bin", .body_size = 100'000, .close_mid_body = true});
  server.add({.path = "/ok/last.bin", .body_size = 7000, .latency = 50ms});
  const std::vector<std::string> urls = {
      server.url("/ok/first.bin"),
      server.url("/bad/missing.bin"),  // no route: 404
      server.url("/bad/broken.bin"),
      "http://127.0.0.1:" + std::to_string(course::free_port()) + "/refused.bin",
      server.url("/bad/hang.bin"),
      "http://127.0.0.1:99999/invalid.bin",  // port out of range: not a valid URL
      server.url("/bad/cut.bin"),
      server.url("/ok/last.bin"),
  };
  Options options = test_options(strategy, 4);
  options.connect_timeout = course::scaled(milliseconds(1000));
  options.total_timeout = course::scaled(milliseconds(600));

  const Outcome run = run_download(server, urls, world.dest, options, 6s);
  if (!run.finished_in_time) {
    FAIL() << "download() was still running after 6 s (scaled): the request to /bad/hang.bin "
              "never ends by itself, because this server holds it forever. Give every transfer "
              "a timeout (CURLOPT_TIMEOUT_MS from options.total_timeout, "
           << options.total_timeout.count()
           << " ms here) so that one silent server cannot stall the whole download.\n"
           << describe(run.results);
  }
  ASSERT_TRUE(completed(run, urls.size()));
  const auto& results = run.results;
  EXPECT_TRUE(saved_intact(results[0], "/ok/first.bin", 5000));
  EXPECT_TRUE(saved_intact(results[7], "/ok/last.bin", 7000));
  const auto expect_failed = [&](std::size_t i, const char* why) {
    EXPECT_FALSE(results[i].ok()) << why
                                  << " must be reported as a failure: " << describe(results[i]);
    const std::string name = urls[i].substr(urls[i].rfind('/') + 1);
    EXPECT_EQ(results[i].path, world.dest / name)
        << "Result::path is dest_dir / the file's name, whether or not the download succeeded";
    EXPECT_EQ(results[i].bytes, 0U) << "Result::bytes is 0 when the download failed";
    EXPECT_FALSE(fs::exists(results[i].path))
        << "a failed download must leave no file, but " << results[i].path << " exists";
  };
  expect_failed(1, "a 404");
  EXPECT_EQ(results[1].http_status, 404) << describe(results[1]);
  expect_failed(2, "a 500");
  EXPECT_EQ(results[2].http_status, 500) << describe(results[2]);
  expect_failed(3, "a refused connection");
  EXPECT_EQ(results[3].http_status, 0) << describe(results[3]);
  expect_failed(4, "a request that times out");
  expect_failed(5, "an invalid URL");
  expect_failed(6, "a body cut short (the server closed the connection mid-body)");
  EXPECT_EQ(files_below(world.dest), (std::vector<std::string>{"first.bin", "last.bin"}))
      << "only the two good downloads may leave files";
}

// ---- concurrency ----

void expect_rendezvous(Strategy strategy, std::size_t k) {
  World world;
  world.server.rendezvous(k, 1s);
  const auto urls = world.add_files("meet", k, 1000, 0ms, /*rendezvous=*/true);
  const Options options = test_options(strategy, k);

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(returned(run, urls.size()));
  const bool all_ok =
      std::all_of(run.results.begin(), run.results.end(), [](const Result& r) { return r.ok(); });
  course::save_trace_for_report(world.server.trace());
  EXPECT_TRUE(all_ok)
      << "The server answers these " << k << " URLs only once all " << k
      << " requests are in flight at the same time (a rendezvous); otherwise it answers 504 "
         "after 1 s. With "
      << limit_text(strategy, k) << " the " << strategy_name(options)
      << " strategy must have all of them in flight together.\n"
      << lateness(run) << describe(run.results)
      << course::explain_overlap(world.server.trace(), k, "downloads");
}

// Round of n URLs at limit `limit` where the server answers in groups of in_flight_for(...):
// the peak must reach that number and never exceed it.
void expect_peak(World& world, Strategy strategy, std::size_t n, std::size_t limit,
                 const std::string& prefix) {
  const std::size_t expected = in_flight_for(strategy, n, limit);
  world.server.reset_counters();
  world.server.rendezvous(expected, 1s);
  // Each group of answers stays in flight a while after it forms (the latency comes after the
  // rendezvous): a downloader that ignores its limit has its other requests arrive meanwhile,
  // even when a loaded machine starts its threads a few milliseconds apart. With no latency a
  // group could finish before the next request arrived, and the peak would hide the excess.
  const auto urls = world.add_files(prefix, n, 2000, 50ms, /*rendezvous=*/true);
  const Options options = test_options(strategy, limit);

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(returned(run, urls.size()));
  const std::size_t peak = world.server.peak_in_flight();
  course::save_trace_for_report(world.server.trace());
  EXPECT_LE(peak, expected) << n << " URLs with " << limit_text(strategy, limit)
                            << ": the server saw " << peak << " requests in flight at once, but "
                            << "at most " << expected << " may be.\n"
                            << course::explain_limit(world.server.trace(), expected, "downloads");
  const bool all_ok =
      std::all_of(run.results.begin(), run.results.end(), [](const Result& r) { return r.ok(); });
  EXPECT_TRUE(all_ok && peak >= expected)
      << n << " URLs with " << limit_text(strategy, limit) << ": the server answers in groups of "
      << expected << " requests in flight together (504 when a group never forms), and saw at "
      << "most " << peak << " at once. Keep " << expected << " transfers in flight while "
      << "URLs remain.\n"
      << lateness(run) << describe(run.results)
      << course::explain_overlap(world.server.trace(), expected, "downloads");
}

// ---- timing ----

void expect_rounds(Strategy strategy, std::size_t n, std::size_t limit, milliseconds latency) {
  World world;
  const auto urls = world.add_files("timed", n, 1000, latency);
  const Options options = test_options(strategy, limit);
  const std::size_t at_once = in_flight_for(strategy, n, limit);
  const std::size_t whole_rounds = (n + at_once - 1) / at_once;  // rounded up
  const auto rounds = static_cast<double>(whole_rounds);
  const double d_ms = static_cast<double>(course::scaled(latency).count());
  const double ideal_ms = rounds * d_ms;
  const double upper_ms = 1.5 * ideal_ms + static_cast<double>(course::scaled(150ms).count());

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  const double took_ms = std::chrono::duration<double, std::milli>(run.wall).count();
  course::save_trace_for_report(world.server.trace());
  for (const Result& result : run.results) EXPECT_TRUE(result.ok()) << describe(result);
  const std::string setting = std::to_string(n) + " downloads of " +
                              std::to_string(static_cast<int>(d_ms)) + " ms with " +
                              limit_text(strategy, limit);
  EXPECT_GE(took_ms, ideal_ms * 0.98)
      << setting << " took " << took_ms << " ms, less than the " << ideal_ms << " ms that "
      << rounds << " rounds of at most " << at_once << " downloads need: more than " << at_once
      << " were in flight at once.\n"
      << world.server.trace().timeline();
  EXPECT_LE(took_ms, upper_ms) << course::kTimingMark << setting << " took " << took_ms
                               << " ms. With " << at_once << " in flight at once they "
                               << "need ceil(" << n << "/" << at_once << ") = " << rounds
                               << " rounds, about " << ideal_ms
                               << " ms (allowed up to 1.5x + slack = " << upper_ms
                               << " ms). Their lifetimes did not "
                               << "overlap as much as they should.\n"
                               << course::explain_overlap(world.server.trace(), at_once,
                                                          "downloads");
}

void expect_queue_time_not_counted(Strategy strategy) {
  World world;
  constexpr std::size_t kUrls = 6;
  constexpr std::size_t kLimit = 2;
  const auto urls = world.add_files("queued", kUrls, 1000, 300ms);
  Options options = test_options(strategy, kLimit);
  options.total_timeout = course::scaled(milliseconds(700));

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  for (std::size_t i = 0; i < kUrls; ++i) {
    EXPECT_TRUE(run.results[i].ok())
        << course::kTimingMark << "Each request takes about 300 ms and may take "
        << options.total_timeout.count() << " ms, but with L=" << kLimit << " URL " << i
        << " waits for a free slot first. That "
        << "wait must not count: start a transfer's clock (add its easy handle, or call "
           "curl_easy_perform) only when a slot is free.\n"
        << describe(run.results[i]);
  }
}

// ---- cancellation ----

void expect_prompt_stop(Strategy strategy) {
  World world;
  constexpr std::size_t kUrls = 6;
  constexpr std::size_t kLimit = 3;
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < kUrls; ++i) {
    const std::string path = "/stuck/" + std::to_string(i) + ".bin";
    world.server.add({.path = path, .hang = true});
    urls.push_back(world.server.url(path));
  }
  const Options options = test_options(strategy, kLimit);  // a 15 s timeout: only stop ends them
  const std::size_t expected = in_flight_for(strategy, kUrls, kLimit);

  BackgroundDownload background(world.server, urls, world.dest, options);
  const bool started = wait_for_in_flight(world.server, background, expected, 3s);
  const auto stop_time = std::chrono::steady_clock::now();
  background.request_stop();
  const bool stopped = background.wait_for(1s);
  const auto took = std::chrono::steady_clock::now() - stop_time;
  const Outcome run = background.finish(1s);

  ASSERT_TRUE(run.exception.empty()) << "download() threw " << run.exception;
  EXPECT_TRUE(started) << course::kTimingMark << "only " << world.server.in_flight() << " of the "
                       << expected << " expected requests were in flight";
  EXPECT_TRUE(stopped) << course::kTimingMark << "download() had not returned "
                       << course::scaled(1000ms).count()
                       << " ms after the stop request; it returned "
                       << course::format_duration(took) << " after it (or not at all). Every "
                       << "worker must notice options.stop promptly, even in the middle of a "
                          "transfer (a std::stop_callback can wake what waits).\n";
  ASSERT_TRUE(completed(run, urls.size()));
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const Result& result = run.results[i];
    EXPECT_EQ(result.error.rfind("cancelled", 0), 0U)
        << "an unfinished URL's error must start with \"cancelled\": " << describe(result);
    if (world.server.hits("/stuck/" + std::to_string(i) + ".bin") == 0) {
      EXPECT_EQ(result.attempts, 0) << "this URL was still queued when the stop came: it never "
                                    << "started, so attempts is 0. " << describe(result);
    }
  }
  EXPECT_EQ(files_below(world.dest), std::vector<std::string>{})
      << "a stop request must leave no file behind, not even a temporary one";
}

// ---- the async strategy's one thread ----

void expect_io_on_one_thread() {
  World world;
  constexpr std::size_t kUrls = 8;
  // thread_ids() leaves out the test server's threads: any new thread is the downloader's.
  // Each request stays in flight 400 ms: long enough to count the threads while all are.
  const auto urls = world.add_files("one", kUrls, 20'000, 400ms);
  const Options options = test_options(Strategy::async, kUrls);

  const std::set<long> before = thread_ids();
  BackgroundDownload background(world.server, urls, world.dest, options);
  const bool all_in_flight = wait_for_in_flight(world.server, background, kUrls, 3s);
  const std::set<long> during = thread_ids();
  const Outcome run = background.finish(10s);

  ASSERT_TRUE(completed(run, urls.size()));
  std::vector<long> added;
  std::set_difference(during.begin(), during.end(), before.begin(), before.end(),
                      std::back_inserter(added));
  EXPECT_TRUE(all_in_flight) << "the " << kUrls << " downloads were never in flight together\n"
                             << describe(run.results);
  // One new thread runs download() for the test; the strategy may add one for its loop.
  EXPECT_LE(added.size(), 2U)
      << "While its " << kUrls << " downloads were in flight, the process had " << added.size()
      << " threads it did not have before: the test's own thread that called download(), and "
      << added.size() - 1 << " started by the async strategy. The notes' asyncio version runs "
      << "every transfer on one thread, the event loop: drive them all from one thread with "
         "curl_multi_perform and curl_multi_poll (threads are levels 4 and 5).";
  for (const Result& result : run.results) EXPECT_TRUE(result.ok()) << describe(result);
}

void expect_async_retries() {
  World world;
  world.server.add({.path = "/flaky.bin", .body_size = 3000, .fail_first = 2});
  const auto steady = world.add_files("steady", 3, 1000, 100ms);
  std::vector<std::string> urls = {world.server.url("/flaky.bin")};
  urls.insert(urls.end(), steady.begin(), steady.end());
  course::FakeSleeper sleeper;
  Options options = test_options(Strategy::async, 4);
  options.retry = {
      .max_retries = 3, .initial_backoff = 100ms, .multiplier = 2.0, .max_backoff = 10s};
  options.sleeper = sleeper.sleeper();

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_TRUE(saved_intact(run.results[0], "/flaky.bin", 3000))
      << "/flaky.bin answers 503 twice, then 200: retry it";
  EXPECT_EQ(run.results[0].attempts, 3) << describe(run.results[0]);
  EXPECT_EQ(world.server.hits("/flaky.bin"), 3U);
  EXPECT_EQ(sleeper.delays(), (std::vector<milliseconds>{100ms, 200ms}))
      << "the async loop must report each back-off delay to options.sleeper when one is set "
         "(and otherwise wait on its own clock, never in a sleep that blocks the loop)";
  for (std::size_t i = 1; i < urls.size(); ++i) {
    EXPECT_TRUE(run.results[i].ok()) << describe(run.results[i]);
    EXPECT_EQ(run.results[i].attempts, 1) << describe(run.results[i]);
  }
}

// A retry's back-off waits on the loop's clock: while /retry.bin waits 1 s for its second
// attempt, the other URLs go on through the free slot. A loop that sleeps through the back-off
// sends the last of them only after /retry.bin's second attempt.
void expect_backoff_on_the_loops_clock() {
  World world;
  world.server.add({.path = "/retry.bin", .body_size = 100, .fail_first = 1});
  const auto steady = world.add_files("steady", 4, 100, 50ms);
  std::vector<std::string> urls = {world.server.url("/retry.bin")};
  urls.insert(urls.end(), steady.begin(), steady.end());
  Options options = test_options(Strategy::async, 2);
  options.retry = {.max_retries = 1,
                   .initial_backoff = course::scaled(milliseconds(1000)),
                   .multiplier = 2.0,
                   .max_backoff = 60s};

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  for (const Result& result : run.results) EXPECT_TRUE(result.ok()) << describe(result);
  const auto retries = world.server.arrivals("/retry.bin");
  ASSERT_EQ(retries.size(), 2U) << "/retry.bin fails once, then succeeds";
  for (std::size_t i = 0; i < steady.size(); ++i) {
    const auto arrived = world.server.arrivals("/steady/" + std::to_string(i) + ".bin");
    ASSERT_EQ(arrived.size(), 1U);
    EXPECT_LT(arrived[0], retries[1])
        << "/steady/" << i << ".bin reached the server "
        << course::format_duration(arrived[0] - retries[1])
        << " after /retry.bin's second attempt, although a slot was free during its 1 s "
           "back-off. The loop slept through the back-off, and every transfer waited with it "
           "(the notes' time.sleep inside a coroutine). Give the retry a due time, and let "
           "curl_multi_poll wait at most until then.\n"
        << world.server.trace().timeline();
  }
}

// connect_timeout ends a connection that never completes, long before total_timeout would.
void expect_connect_timeout(Strategy strategy) {
  World world;
  const SilentPort silent;
  const auto steady = world.add_files("steady", 1, 100);
  const std::vector<std::string> urls = {silent.url("/silent.bin"), steady[0]};
  Options options = test_options(strategy, 2);
  options.connect_timeout = course::scaled(milliseconds(300));
  options.total_timeout = course::scaled(milliseconds(20'000));

  const Outcome run = run_download(world.server, urls, world.dest, options, 8s);
  ASSERT_TRUE(run.finished_in_time)
      << "download() was still running after 8 s (scaled): the connection to " << urls[0]
      << " never completes (the server's queue is full), and only connect_timeout ("
      << options.connect_timeout.count() << " ms) can end it (CURLOPT_CONNECTTIMEOUT_MS)";
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_FALSE(run.results[0].ok()) << describe(run.results[0]);
  EXPECT_EQ(run.results[0].http_status, 0) << "no answer came: " << describe(run.results[0]);
  EXPECT_LT(run.results[0].elapsed, course::scaled(milliseconds(5000)))
      << "connect_timeout is " << options.connect_timeout.count()
      << " ms: the connection attempt must give up then, not at total_timeout. "
      << describe(run.results[0]);
  EXPECT_TRUE(run.results[1].ok()) << describe(run.results[1]);
}

// ---- level 3 under every strategy: retries, back-off, and the figures a result reports ----

std::string delays_text(std::vector<milliseconds> delays) {
  std::sort(delays.begin(), delays.end());
  std::string out = "[";
  for (const auto delay : delays)
    out += (out.size() > 1 ? ", " : "") + std::to_string(delay.count());
  return out + "] ms";
}

// URLs that each take another retry path, at once: one that succeeds on its third attempt, two
// 429s with Retry-After (one past max_backoff), one that uses up its retry budget, and a 404.
void expect_retries(Strategy strategy) {
  World world;
  auto& server = world.server;
  server.add({.path = "/flaky.bin", .body_size = 3000, .fail_first = 2, .fail_status = 500});
  server.add({.path = "/busy.bin", .body_size = 1500, .fail_first = 1, .retry_after_s = 1});
  server.add({.path = "/down.bin", .body_size = 1000, .fail_first = 100, .fail_status = 503});
  server.add({.path = "/later.bin", .body_size = 500, .fail_first = 1, .retry_after_s = 5});
  // 429 with Retry-After: 1, then 503 twice: retries 2 and 3 follow the formula of their number.
  server.add({.path = "/after.bin",
              .body_size = 700,
              .fail_first = 3,
              .retry_after_s = 1,
              .retry_after_first = 1});
  const std::vector<std::string> urls = {server.url("/flaky.bin"), server.url("/busy.bin"),
                                         server.url("/down.bin"),  server.url("/missing.bin"),
                                         server.url("/later.bin"), server.url("/after.bin")};
  course::FakeSleeper sleeper;
  Options options = test_options(strategy, 4);
  // A multiplier other than the default: each strategy must use the policy's.
  options.retry = {
      .max_retries = 3, .initial_backoff = 100ms, .multiplier = 3.0, .max_backoff = 1500ms};
  options.sleeper = sleeper.sleeper();

  const Outcome run = run_download(server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  const auto& results = run.results;
  EXPECT_TRUE(saved_intact(results[0], "/flaky.bin", 3000))
      << "/flaky.bin answers 500 twice, then 200: the " << strategy_name(options)
      << " strategy must retry it like the sequential one";
  EXPECT_EQ(results[0].attempts, 3) << describe(results[0]);
  EXPECT_TRUE(saved_intact(results[1], "/busy.bin", 1500)) << describe(results[1]);
  EXPECT_EQ(results[1].attempts, 2) << describe(results[1]);
  EXPECT_FALSE(results[2].ok()) << "/down.bin always answers 503: after 1 + max_retries (3) "
                                << "attempts it fails. " << describe(results[2]);
  EXPECT_EQ(results[2].attempts, 4) << "the retry budget is max_retries = 3 retries after the "
                                    << "first attempt: " << describe(results[2]);
  EXPECT_EQ(results[2].http_status, 503) << "http_status is the status of the last answer";
  EXPECT_FALSE(fs::exists(results[2].path)) << "a failed download must leave no file";
  EXPECT_EQ(results[3].attempts, 1) << "a 404 is final at once: " << describe(results[3]);
  EXPECT_EQ(results[3].http_status, 404) << describe(results[3]);
  EXPECT_EQ(server.hits("/flaky.bin"), 3U);
  EXPECT_EQ(server.hits("/busy.bin"), 2U);
  EXPECT_EQ(server.hits("/down.bin"), 4U);
  EXPECT_EQ(server.hits("/missing.bin"), 1U);
  EXPECT_TRUE(saved_intact(results[4], "/later.bin", 500)) << describe(results[4]);
  EXPECT_TRUE(saved_intact(results[5], "/after.bin", 700)) << describe(results[5]);
  EXPECT_EQ(results[5].attempts, 4) << describe(results[5]);
  if (strategy == Strategy::processes) return;  // the sleeper runs in the worker processes
  auto delays = sleeper.delays();
  std::sort(delays.begin(), delays.end());
  EXPECT_EQ(delays, (std::vector<milliseconds>{100ms, 100ms, 300ms, 300ms, 300ms, 900ms, 900ms,
                                               1000ms, 1000ms, 1500ms}))
      << "the back-off delays given to options.sleeper, sorted, were " << delays_text(delays)
      << ". With initial_backoff 100 ms and multiplier 3.0, expected /flaky.bin's 100 and 300, "
      << "/down.bin's 100, 300 and 900, /busy.bin's Retry-After of 1 s (1000), /later.bin's "
      << "Retry-After of 5 s capped at max_backoff (1500), and /after.bin's Retry-After of 1 s "
      << "then 300 and 900 (retries 2 and 3 follow 100 ms x 3^(r-1), not the previous delay "
      << "times the multiplier): every wait of every strategy goes through options.sleeper when "
      << "it is set, with the policy's multiplier";
}

// Result::elapsed runs from the start of the first attempt to the end of the last, back-off
// included, queue time excluded. With L = 1, the second URL cannot start before the first one's
// 400 ms are over, so its elapsed time is at most the whole run minus those 400 ms: no clock
// needs to be fast for that to hold.
void expect_elapsed(Strategy strategy) {
  World world;
  auto& server = world.server;
  server.add({.path = "/first.bin", .body_size = 100, .latency = 400ms});
  server.add({.path = "/second.bin", .body_size = 100, .latency = 100ms});
  server.add({.path = "/retried.bin", .body_size = 100, .fail_first = 1});
  const std::vector<std::string> urls = {server.url("/first.bin"), server.url("/second.bin"),
                                         server.url("/retried.bin")};
  const bool queues = strategy != Strategy::thread_per_url;
  Options options = test_options(strategy, 1);
  // No sleeper: the back-off is a real wait of 300 ms, and it counts in elapsed.
  options.retry = {.max_retries = 1,
                   .initial_backoff = course::scaled(milliseconds(300)),
                   .multiplier = 2.0,
                   .max_backoff = 10s};

  const Outcome run = run_download(server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  for (const Result& result : run.results) ASSERT_TRUE(result.ok()) << describe(result);
  const auto wall = std::chrono::duration_cast<milliseconds>(run.wall);
  const auto at_least = [](milliseconds d) { return course::scaled(d) * 95 / 100; };
  EXPECT_GE(run.results[0].elapsed, at_least(400ms))
      << "the server took 400 ms to answer " << describe(run.results[0])
      << ": Result::elapsed is the time from the start of the first attempt to the end of the "
         "last, in milliseconds";
  EXPECT_GE(run.results[2].elapsed, at_least(300ms))
      << "/retried.bin failed once and waited a back-off of "
      << course::scaled(milliseconds(300)).count()
      << " ms before its second attempt: elapsed includes the back-off. "
      << describe(run.results[2]);
  for (const Result& result : run.results) {
    EXPECT_LE(result.elapsed, wall) << "no download can take longer than the whole call ("
                                    << wall.count() << " ms): " << describe(result);
  }
  if (queues) {
    EXPECT_LE(run.results[1].elapsed, wall - at_least(400ms))
        << "with L = 1, /second.bin waited for /first.bin (400 ms) before its first attempt. "
        << "That wait does not count: start its clock when its first attempt starts. "
        << describe(run.results[1]) << " in a call of " << wall.count() << " ms";
  }
}

// A stop request during a real back-off ends it at once, under every strategy.
void expect_stop_during_backoff(Strategy strategy) {
  World world;
  world.server.add({.path = "/down.bin", .body_size = 1000, .fail_first = 100});
  const auto steady = world.add_files("steady", 1, 1000);
  const std::vector<std::string> urls = {world.server.url("/down.bin"), steady[0]};
  Options options = test_options(strategy, 2);
  // No sleeper: the back-off really waits, 10 s, unless a stop request ends it.
  options.retry = {.max_retries = 3, .initial_backoff = 10s, .multiplier = 2.0, .max_backoff = 60s};

  // The steady URL counts as finished once its progress is reported: only then is it certain
  // that a stop request finds it done rather than still being collected.
  std::atomic<bool> steady_done{false};
  options.on_progress = [&steady_done](const Progress& progress) {
    if (progress.index == 1) steady_done = true;
  };
  BackgroundDownload background(world.server, urls, world.dest, options);
  const auto waiting_to_retry = [&] {
    return world.server.hits("/down.bin") >= 1 && steady_done && world.server.in_flight() == 0;
  };
  while (!waiting_to_retry() && !background.wait_for(5ms)) {
  }
  const auto stop_time = std::chrono::steady_clock::now();
  background.request_stop();
  const bool stopped = background.wait_for(1s);
  const auto took = std::chrono::steady_clock::now() - stop_time;
  const Outcome run = background.finish(20s);
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_TRUE(stopped) << course::kTimingMark << "a stop request during a 10 s back-off took "
                       << course::format_duration(took) << " to end the " << strategy_name(options)
                       << " strategy's download: wait in a way a stop request interrupts "
                          "(condition_variable_any::wait_for with the stop_token, or a due time "
                          "on the event loop's clock that curl_multi_wakeup interrupts)";
  EXPECT_EQ(run.results[0].error.rfind("cancelled", 0), 0U) << describe(run.results[0]);
  EXPECT_EQ(run.results[0].attempts, 1) << describe(run.results[0]);
  EXPECT_TRUE(run.results[1].ok())
      << "a URL that finished before the stop keeps its file: " << describe(run.results[1]);
  EXPECT_EQ(world.server.hits("/down.bin"), 1U);
}

// download() checks its options before it starts anything, whatever the strategy.
void expect_invalid_options_refused(Strategy strategy) {
  World world;
  const auto urls = world.add_files("never", 2, 100);
  const auto refused = [&](const char* what, auto&& change) {
    Options options = test_options(strategy, 2);
    change(options);
    try {
      (void)download(urls, world.dest, options);
    } catch (const std::invalid_argument&) {
      return;
    } catch (const std::exception& error) {
      ADD_FAILURE() << what << ": download() must throw std::invalid_argument, it threw "
                    << error.what();
      return;
    }
    ADD_FAILURE() << what << ": download() must throw std::invalid_argument, it returned";
  };
  refused("max_concurrency = 0", [](Options& o) { o.max_concurrency = 0; });
  refused("connect_timeout = 0", [](Options& o) { o.connect_timeout = 0ms; });
  refused("total_timeout = -1 ms", [](Options& o) { o.total_timeout = -1ms; });
  refused("max_retries = -1", [](Options& o) { o.retry.max_retries = -1; });
  // Each bound from both sides: 0 and -1 ms are refused for both timeouts.
  refused("connect_timeout = -1 ms", [](Options& o) { o.connect_timeout = -1ms; });
  refused("total_timeout = 0", [](Options& o) { o.total_timeout = 0ms; });
  EXPECT_EQ(world.server.hits("/never/0.bin") + world.server.hits("/never/1.bin"), 0U)
      << "refused options must be refused before any request is made";
  // And valid options at the bounds are accepted: the same URLs download with one transfer at a
  // time and no retry.
  Options smallest = test_options(strategy, 1);
  smallest.retry.max_retries = 0;
  const Outcome run = run_download(world.server, urls, world.dest, smallest);
  ASSERT_TRUE(completed(run, urls.size()));
  for (const Result& result : run.results) EXPECT_TRUE(result.ok()) << describe(result);
}

// ---- the processes level really uses processes ----

// The live child processes of this process: every thread's /proc/self/task/<tid>/children.
std::size_t child_processes() {
  std::size_t count = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream children(task.path() / "children");
    long pid = 0;
    while (children >> pid) ++count;
  }
  return count;
}

void expect_worker_processes() {
  World world;
  constexpr std::size_t kUrls = 8;
  constexpr std::size_t kLimit = 4;
  const auto urls = world.add_files("forked", kUrls, 1000, 400ms);
  BackgroundDownload background(world.server, urls, world.dest,
                                test_options(Strategy::processes, kLimit));
  const bool in_flight = wait_for_in_flight(world.server, background, kLimit, 3s);
  const std::size_t children = child_processes();
  const Outcome run = background.finish(10s);
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_TRUE(in_flight) << "the " << kLimit << " transfers were never in flight together";
  EXPECT_GE(children, kLimit)
      << "while " << kLimit << " transfers were in flight, this process had " << children
      << " child processes. The processes level runs its transfers in L forked worker "
         "processes (the notes' ProcessPoolExecutor); threads are levels 4 and 5.";
}

// ---- the tests ----

TEST(ThreadPerUrl, DownloadsEveryFileIntactInInputOrder) {
  expect_every_file_intact(Strategy::thread_per_url);
}
TEST(ThreadPerUrl, PerUrlErrorsDoNotStopTheOthers) {
  expect_errors_isolated(Strategy::thread_per_url);
}
TEST(ThreadPerUrl, RequestsOverlap) { expect_rendezvous(Strategy::thread_per_url, 6); }
TEST(ThreadPerUrl, StartsEveryUrlAtOnce) {
  World world;
  expect_peak(world, Strategy::thread_per_url, 12, 4, "all");
}
TEST(ThreadPerUrl, TakesAboutOneLatency) { expect_rounds(Strategy::thread_per_url, 12, 4, 300ms); }
TEST(ThreadPerUrl, StopEndsEveryWorkerPromptly) { expect_prompt_stop(Strategy::thread_per_url); }
TEST(ThreadPerUrl, HonoursConnectTimeout) { expect_connect_timeout(Strategy::thread_per_url); }
TEST(ThreadPerUrl, RetriesWithBackoff) { expect_retries(Strategy::thread_per_url); }
TEST(ThreadPerUrl, ReportsElapsedTime) { expect_elapsed(Strategy::thread_per_url); }
TEST(ThreadPerUrl, StopInterruptsTheBackoff) {
  expect_stop_during_backoff(Strategy::thread_per_url);
}
TEST(ThreadPerUrl, RefusesInvalidOptions) {
  expect_invalid_options_refused(Strategy::thread_per_url);
}

TEST(ThreadPool, DownloadsEveryFileIntactInInputOrder) {
  expect_every_file_intact(Strategy::thread_pool);
}
TEST(ThreadPool, PerUrlErrorsDoNotStopTheOthers) { expect_errors_isolated(Strategy::thread_pool); }
TEST(ThreadPool, RequestsOverlap) { expect_rendezvous(Strategy::thread_pool, 6); }
TEST(ThreadPool, PeakInFlightIsTheLimit) {
  World world;
  expect_peak(world, Strategy::thread_pool, 12, 4, "many");
  expect_peak(world, Strategy::thread_pool, 3, 8, "few");
  expect_peak(world, Strategy::thread_pool, 5, 5, "equal");  // the bound itself: N = L
  // For contrast, the given sequential baseline on the same server: one at a time.
  expect_peak(world, Strategy::sequential, 6, 4, "baseline");
}
TEST(ThreadPool, TakesCeilNOverLRounds) { expect_rounds(Strategy::thread_pool, 12, 4, 150ms); }
TEST(ThreadPool, TimeoutDoesNotCountTimeQueued) {
  expect_queue_time_not_counted(Strategy::thread_pool);
}
TEST(ThreadPool, StopEndsEveryWorkerPromptly) { expect_prompt_stop(Strategy::thread_pool); }
TEST(ThreadPool, HonoursConnectTimeout) { expect_connect_timeout(Strategy::thread_pool); }
TEST(ThreadPool, RetriesWithBackoff) { expect_retries(Strategy::thread_pool); }
TEST(ThreadPool, ReportsElapsedTime) { expect_elapsed(Strategy::thread_pool); }
TEST(ThreadPool, StopInterruptsTheBackoff) { expect_stop_during_backoff(Strategy::thread_pool); }
TEST(ThreadPool, RefusesInvalidOptions) { expect_invalid_options_refused(Strategy::thread_pool); }

TEST(Async, DownloadsEveryFileIntactInInputOrder) { expect_every_file_intact(Strategy::async); }
TEST(Async, PerUrlErrorsDoNotStopTheOthers) { expect_errors_isolated(Strategy::async); }
TEST(Async, RequestsOverlap) { expect_rendezvous(Strategy::async, 6); }
TEST(Async, PeakInFlightIsTheLimit) {
  World world;
  expect_peak(world, Strategy::async, 12, 4, "many");
  expect_peak(world, Strategy::async, 3, 8, "few");
  expect_peak(world, Strategy::async, 5, 5, "equal");  // the bound itself: N = L
}
TEST(Async, TakesCeilNOverLRounds) { expect_rounds(Strategy::async, 12, 4, 150ms); }
TEST(Async, TimeoutDoesNotCountTimeQueued) { expect_queue_time_not_counted(Strategy::async); }
TEST(Async, StopEndsEveryWorkerPromptly) { expect_prompt_stop(Strategy::async); }
TEST(Async, DoesItsIoOnOneThread) { expect_io_on_one_thread(); }
TEST(Async, RetriesWithoutBlockingItsLoop) { expect_async_retries(); }
TEST(Async, BackoffWaitsOnTheLoopsClock) { expect_backoff_on_the_loops_clock(); }
TEST(Async, HonoursConnectTimeout) { expect_connect_timeout(Strategy::async); }
TEST(Async, RetriesWithBackoff) { expect_retries(Strategy::async); }
TEST(Async, ReportsElapsedTime) { expect_elapsed(Strategy::async); }
TEST(Async, StopInterruptsTheBackoff) { expect_stop_during_backoff(Strategy::async); }
TEST(Async, RefusesInvalidOptions) { expect_invalid_options_refused(Strategy::async); }

TEST(Processes, DownloadsEveryFileIntactInInputOrder) {
  expect_every_file_intact(Strategy::processes);
}
TEST(Processes, PerUrlErrorsDoNotStopTheOthers) { expect_errors_isolated(Strategy::processes); }
TEST(Processes, RequestsOverlap) { expect_rendezvous(Strategy::processes, 4); }
TEST(Processes, PeakInFlightIsTheLimit) {
  World world;
  expect_peak(world, Strategy::processes, 12, 4, "many");
  expect_peak(world, Strategy::processes, 3, 8, "few");
  expect_peak(world, Strategy::processes, 5, 5, "equal");  // the bound itself: N = L
}
TEST(Processes, TakesCeilNOverLRounds) { expect_rounds(Strategy::processes, 12, 4, 150ms); }
TEST(Processes, TimeoutDoesNotCountTimeQueued) {
  expect_queue_time_not_counted(Strategy::processes);
}
TEST(Processes, StopEndsEveryWorkerPromptly) { expect_prompt_stop(Strategy::processes); }
TEST(Processes, RetriesWithBackoff) { expect_retries(Strategy::processes); }
TEST(Processes, ReportsElapsedTime) { expect_elapsed(Strategy::processes); }
TEST(Processes, StopInterruptsTheBackoff) { expect_stop_during_backoff(Strategy::processes); }
TEST(Processes, RunsInWorkerProcesses) { expect_worker_processes(); }

}  // namespace
}  // namespace downloader::testing
