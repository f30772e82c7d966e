// Level 3: retries with exponential back-off. These tests use the given sequential strategy and
// a course::FakeSleeper, which records every back-off delay and returns at once.
#include <string>
#include <vector>

#include "test_support.hpp"

namespace downloader::testing {
namespace {

Options retrying_options(course::FakeSleeper& sleeper, int max_retries) {
  Options options = test_options(Strategy::sequential, 1);
  options.retry = {
      .max_retries = max_retries, .initial_backoff = 100ms, .multiplier = 2.0, .max_backoff = 10s};
  options.sleeper = sleeper.sleeper();
  return options;
}

std::string delays_text(const std::vector<milliseconds>& delays) {
  std::string out = "[";
  for (const auto delay : delays) {
    out += (out.size() > 1 ? ", " : "") + std::to_string(delay.count()) + " ms";
  }
  return out + "]";
}

TEST(Retries, TransientFailuresSucceedAfterRetries) {
  World world;
  world.server.add({.path = "/503.bin", .body_size = 1000, .fail_first = 2, .fail_status = 503});
  world.server.add({.path = "/500.bin", .body_size = 2000, .fail_first = 1, .fail_status = 500});
  world.server.add({.path = "/429.bin", .body_size = 3000, .fail_first = 2, .fail_status = 429});
  const std::vector<std::string> urls = {world.server.url("/503.bin"), world.server.url("/500.bin"),
                                         world.server.url("/429.bin")};
  course::FakeSleeper sleeper;

  const Outcome run = run_download(world.server, urls, world.dest, retrying_options(sleeper, 3));
  ASSERT_TRUE(completed(run, urls.size()));
  const std::vector<int> attempts = {3, 2, 3};
  const std::vector<std::string> paths = {"/503.bin", "/500.bin", "/429.bin"};
  const std::vector<std::size_t> sizes = {1000, 2000, 3000};
  for (std::size_t i = 0; i < urls.size(); ++i) {
    EXPECT_TRUE(saved_intact(run.results[i], paths[i], sizes[i]))
        << paths[i] << " fails " << attempts[i] - 1 << " time(s) with a 5xx or 429 and then "
        << "succeeds: with max_retries 3 it must be retried until it does";
    EXPECT_EQ(run.results[i].attempts, attempts[i]) << describe(run.results[i]);
    EXPECT_EQ(world.server.hits(paths[i]), static_cast<std::size_t>(attempts[i]));
  }
  EXPECT_EQ(sleeper.delays(), (std::vector<milliseconds>{100ms, 200ms, 100ms, 100ms, 200ms}))
      << "the back-off delays went to options.sleeper as " << delays_text(sleeper.delays())
      << ": retry r of a URL waits initial_backoff x multiplier^(r-1), and every wait goes "
         "through options.sleeper when it is set";
}

TEST(Retries, BackoffDoublesUpToTheCap) {
  World world;
  world.server.add({.path = "/down.bin", .body_size = 1000, .fail_first = 100, .fail_status = 503});
  course::FakeSleeper sleeper;
  Options options = retrying_options(sleeper, 5);
  options.retry.max_backoff = 500ms;

  const Outcome run =
      run_download(world.server, {world.server.url("/down.bin")}, world.dest, options);
  ASSERT_TRUE(completed(run, 1));
  const Result& result = run.results[0];
  EXPECT_FALSE(result.ok()) << "a URL that keeps failing must fail in the end: "
                            << describe(result);
  EXPECT_EQ(result.attempts, 6) << "1 attempt + max_retries 5 retries: " << describe(result);
  EXPECT_EQ(result.http_status, 503) << describe(result);
  EXPECT_EQ(world.server.hits("/down.bin"), 6U);
  EXPECT_EQ(sleeper.delays(), (std::vector<milliseconds>{100ms, 200ms, 400ms, 500ms, 500ms}))
      << "got " << delays_text(sleeper.delays())
      << ": each retry waits twice as long as the one before, never more than max_backoff";
  EXPECT_FALSE(fs::exists(result.path)) << "a failed download must leave no file";
}

// The multiplier and the cap are the caller's: not only the default 2.0. Delays follow the
// formula of the retry's number, whatever the previous delay was (a Retry-After does not become
// the base of the next one), and max_backoff is a bound at, below and above.
TEST(Retries, BackoffFollowsAnyMultiplierAndCountsFromTheRetrysNumber) {
  World world;
  world.server.add({.path = "/x3.bin", .body_size = 100, .fail_first = 100});
  world.server.add({.path = "/flat.bin", .body_size = 100, .fail_first = 100});
  world.server.add({.path = "/after.bin",
                    .body_size = 1200,
                    .fail_first = 3,
                    .retry_after_s = 3,
                    .retry_after_first = 1});
  world.server.add({.path = "/capped.bin", .body_size = 100, .fail_first = 1, .retry_after_s = 5});
  world.server.add({.path = "/many.bin", .body_size = 100, .fail_first = 1000});

  const auto delays_of = [&](const std::string& path, RetryPolicy policy) {
    course::FakeSleeper sleeper;
    Options options = test_options(Strategy::sequential, 1);
    options.retry = policy;
    options.sleeper = sleeper.sleeper();
    const Outcome run = run_download(world.server, {world.server.url(path)}, world.dest, options);
    EXPECT_TRUE(completed(run, 1)) << path;
    return sleeper.delays();
  };
  const auto triple = delays_of(
      "/x3.bin",
      {.max_retries = 4, .initial_backoff = 100ms, .multiplier = 3.0, .max_backoff = 900ms});
  EXPECT_EQ(triple, (std::vector<milliseconds>{100ms, 300ms, 900ms, 900ms}))
      << "multiplier 3.0, initial_backoff 100 ms, max_backoff 900 ms: retry r waits 100 ms x "
         "3^(r-1), at most 900 ms, so 100, 300, 900 (exactly the cap), 900 (2700 capped); got "
      << delays_text(triple) << ". Use the multiplier from RetryPolicy, not a fixed 2.";
  const auto flat = delays_of(
      "/flat.bin",
      {.max_retries = 3, .initial_backoff = 250ms, .multiplier = 1.0, .max_backoff = 10s});
  EXPECT_EQ(flat, (std::vector<milliseconds>{250ms, 250ms, 250ms}))
      << "multiplier 1.0: every retry waits initial_backoff; got " << delays_text(flat);
  const auto after = delays_of(
      "/after.bin",
      {.max_retries = 3, .initial_backoff = 100ms, .multiplier = 2.0, .max_backoff = 10s});
  EXPECT_EQ(after, (std::vector<milliseconds>{3000ms, 200ms, 400ms}))
      << "/after.bin answers 429 with Retry-After: 3, then 503 twice: retry 1 waits the 3 s "
         "asked for, retries 2 and 3 wait 100 ms x 2^(r-1) = 200 and 400 ms. The exponential "
         "delay is the formula of the retry's number, not the previous delay times the "
         "multiplier; got "
      << delays_text(after);
  const auto capped = delays_of(
      "/capped.bin",
      {.max_retries = 1, .initial_backoff = 100ms, .multiplier = 2.0, .max_backoff = 1500ms});
  EXPECT_EQ(capped, std::vector<milliseconds>{1500ms})
      << "Retry-After: 5 with max_backoff 1500 ms: the wait is capped at max_backoff too; got "
      << delays_text(capped);
  const auto many = delays_of(
      "/many.bin",
      {.max_retries = 70, .initial_backoff = 100ms, .multiplier = 2.0, .max_backoff = 1s});
  std::vector<milliseconds> expected = {100ms, 200ms, 400ms, 800ms};
  expected.resize(70, 1000ms);
  EXPECT_EQ(many, expected)
      << "70 retries, 100 ms x 2^(r-1) capped at 1 s: 2^69 x 100 ms overflows any integer, so cap "
         "the delay before converting it (compute in double, or stop multiplying at the cap); "
         "got "
      << delays_text(many);
}

// max_retries is a bound: a URL that fails exactly max_retries times succeeds on its last
// attempt; max_retries 0 never retries.
TEST(Retries, MaxRetriesIsExact) {
  World world;
  world.server.add({.path = "/three.bin", .body_size = 700, .fail_first = 3});
  world.server.add({.path = "/once.bin", .body_size = 700, .fail_first = 1});
  course::FakeSleeper sleeper;
  const Outcome run = run_download(world.server, {world.server.url("/three.bin")}, world.dest,
                                   retrying_options(sleeper, 3));
  ASSERT_TRUE(completed(run, 1));
  EXPECT_TRUE(saved_intact(run.results[0], "/three.bin", 700))
      << "/three.bin fails 3 times, then answers: max_retries 3 allows exactly those 3 retries. "
      << describe(run.results[0]);
  EXPECT_EQ(run.results[0].attempts, 4) << describe(run.results[0]);

  course::FakeSleeper never;
  const Outcome none = run_download(world.server, {world.server.url("/once.bin")}, world.dest,
                                    retrying_options(never, 0));
  ASSERT_TRUE(completed(none, 1));
  EXPECT_FALSE(none.results[0].ok())
      << "max_retries 0: the first failure is final. " << describe(none.results[0]);
  EXPECT_EQ(none.results[0].attempts, 1) << describe(none.results[0]);
  EXPECT_EQ(none.results[0].http_status, 503) << describe(none.results[0]);
  EXPECT_EQ(world.server.hits("/once.bin"), 1U);
  EXPECT_EQ(never.delays(), std::vector<milliseconds>{}) << "no retry, no back-off";
}

TEST(Retries, HonoursRetryAfter) {
  World world;
  world.server.add({.path = "/busy.bin", .body_size = 1500, .fail_first = 1, .retry_after_s = 2});
  course::FakeSleeper sleeper;

  const Outcome run = run_download(world.server, {world.server.url("/busy.bin")}, world.dest,
                                   retrying_options(sleeper, 3));
  ASSERT_TRUE(completed(run, 1));
  EXPECT_TRUE(saved_intact(run.results[0], "/busy.bin", 1500)) << describe(run.results[0]);
  EXPECT_EQ(run.results[0].attempts, 2) << describe(run.results[0]);
  EXPECT_EQ(sleeper.delays(), std::vector<milliseconds>{2000ms})
      << "the server answered 429 with \"Retry-After: 2\", so the retry must wait 2000 ms "
         "(got "
      << delays_text(sleeper.delays()) << "). libcurl reads the header for you: "
      << "CURLINFO_RETRY_AFTER.";
  EXPECT_LT(run.wall, course::scaled(milliseconds(1500)))
      << "the download took " << course::format_duration(run.wall)
      << ": with options.sleeper set, do not sleep yourself";
}

TEST(Retries, NeverRetriesClientErrors) {
  World world;
  world.server.add({.path = "/forbidden.bin", .status = 403, .body = "no"});
  world.server.add({.path = "/bad-request.bin", .status = 400, .body = "no"});
  world.server.add({.path = "/flaky.bin", .body_size = 800, .fail_first = 1});
  const std::vector<std::string> urls = {
      world.server.url("/missing.bin"), world.server.url("/forbidden.bin"),
      world.server.url("/bad-request.bin"), world.server.url("/flaky.bin")};
  course::FakeSleeper sleeper;

  const Outcome run = run_download(world.server, urls, world.dest, retrying_options(sleeper, 3));
  ASSERT_TRUE(completed(run, urls.size()));
  for (const std::string path : {"/missing.bin", "/forbidden.bin", "/bad-request.bin"}) {
    EXPECT_EQ(world.server.hits(path), 1U)
        << path << " was requested " << world.server.hits(path) << " times. A 4xx answer "
        << "(other than 429) means the request itself is wrong: asking again gives the same "
        << "answer, so it is never retried.";
  }
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(run.results[i].ok()) << describe(run.results[i]);
    EXPECT_EQ(run.results[i].attempts, 1) << describe(run.results[i]);
  }
  EXPECT_EQ(run.results[0].http_status, 404);
  EXPECT_TRUE(saved_intact(run.results[3], "/flaky.bin", 800))
      << "/flaky.bin answers 503 once, then 200: a 5xx is retried";
  EXPECT_EQ(sleeper.delays(), std::vector<milliseconds>{100ms})
      << "only /flaky.bin's retry waits: " << delays_text(sleeper.delays());
}

TEST(Retries, TransientNetworkErrorsAreRetried) {
  World world;
  world.server.add({.path = "/cut.bin", .body_size = 100'000, .close_mid_body = true});
  world.server.add({.path = "/hang.bin", .hang = true});
  const std::string refused =
      "http://127.0.0.1:" + std::to_string(course::free_port()) + "/refused.bin";
  const std::vector<std::string> urls = {refused, world.server.url("/cut.bin"),
                                         world.server.url("/hang.bin")};
  course::FakeSleeper sleeper;
  Options options = retrying_options(sleeper, 2);
  options.total_timeout = course::scaled(milliseconds(300));

  const Outcome run = run_download(world.server, urls, world.dest, options);
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_EQ(run.results[0].attempts, 3)
      << "a refused connection is a transient network error (the server may be restarting): "
      << "retry it. " << describe(run.results[0]);
  EXPECT_EQ(run.results[1].attempts, 3)
      << "a connection closed before the whole body arrived is a transient network error: "
      << "retry it. " << describe(run.results[1]);
  EXPECT_EQ(world.server.hits("/cut.bin"), 3U);
  EXPECT_EQ(run.results[2].attempts, 3)
      << "a transfer that timed out is a transient network error (the server may be busy): "
      << "retry it. " << describe(run.results[2]);
  EXPECT_EQ(world.server.hits("/hang.bin"), 3U);
  for (const Result& result : run.results) EXPECT_FALSE(result.ok()) << describe(result);
  EXPECT_EQ(files_below(world.dest), std::vector<std::string>{});
}

TEST(Retries, StopInterruptsTheBackoff) {
  World world;
  world.server.add({.path = "/down.bin", .body_size = 1000, .fail_first = 100});
  Options options = test_options(Strategy::sequential, 1);
  // No sleeper: the back-off really waits, 10 s, unless a stop request ends it.
  options.retry = {.max_retries = 3, .initial_backoff = 10s, .multiplier = 2.0, .max_backoff = 60s};

  BackgroundDownload background(world.server, {world.server.url("/down.bin")}, world.dest, options);
  // Once the first attempt has been answered, the downloader is waiting to retry.
  const auto first_answered = [&] {
    return world.server.hits("/down.bin") >= 1 && world.server.in_flight() == 0;
  };
  while (!first_answered() && !background.wait_for(5ms)) {
  }
  const auto stop_time = std::chrono::steady_clock::now();
  background.request_stop();
  const bool stopped = background.wait_for(1s);
  const auto took = std::chrono::steady_clock::now() - stop_time;
  const Outcome run = background.finish(20s);
  ASSERT_TRUE(completed(run, 1));
  EXPECT_TRUE(stopped) << course::kTimingMark << "a stop request during a 10 s back-off took "
                       << course::format_duration(took)
                       << " to end the download: wait in a way a stop request interrupts (for "
                          "example condition_variable_any::wait_for with the stop_token)";
  EXPECT_EQ(run.results[0].error.rfind("cancelled", 0), 0U) << describe(run.results[0]);
  EXPECT_EQ(world.server.hits("/down.bin"), 1U);
}

}  // namespace
}  // namespace downloader::testing
