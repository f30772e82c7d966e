// Exercise 01: a concurrent downloader.
//
// This header belongs to the course: the tests, the `downloader` command and the benchmark are
// written against it, so keep it as it is. Your code goes in the files under src/.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace downloader {

// How download() runs the transfers. Each strategy is a level of the exercise.
enum class Strategy {
  sequential,      // level 1 (given): one transfer after the other
  thread_per_url,  // level 4: one std::jthread per URL, all in flight at once
  thread_pool,     // level 5: L worker threads take URLs from a shared queue
  async,           // level 6: one thread drives up to L transfers with libcurl's multi interface
  processes,       // level 7 (optional): L worker processes
};

inline constexpr std::array<Strategy, 5> kAllStrategies = {
    Strategy::sequential, Strategy::thread_per_url, Strategy::thread_pool, Strategy::async,
    Strategy::processes};

// "sequential", "threads", "pool", "async", "processes": the names the command line uses.
constexpr std::string_view to_string(Strategy strategy) {
  switch (strategy) {
    case Strategy::sequential:
      return "sequential";
    case Strategy::thread_per_url:
      return "threads";
    case Strategy::thread_pool:
      return "pool";
    case Strategy::async:
      return "async";
    case Strategy::processes:
      return "processes";
  }
  return "?";
}

constexpr std::optional<Strategy> parse_strategy(std::string_view name) {
  for (const Strategy strategy : kAllStrategies) {
    if (to_string(strategy) == name) return strategy;
  }
  return std::nullopt;
}

// How a worker waits before a retry. The same type as course::Sleeper, so tests pass a
// course::FakeSleeper's sleeper(), which records the delay and returns at once.
using Sleeper = std::function<void(std::chrono::milliseconds)>;

// Retries with exponential back-off. A failed attempt is retried when the server answered 5xx or
// 429, or when the transfer failed for a transient network reason (connection refused or reset,
// timeout, connection closed before the whole body arrived). Any other status, 4xx included, is
// final at once: 404 is never retried.
struct RetryPolicy {
  int max_retries = 3;  // retries after the first attempt (0: never retry), >= 0
  // Retry r (1, 2, ...) waits initial_backoff × multiplier^(r-1), at most max_backoff.
  std::chrono::milliseconds initial_backoff{200};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{10'000};
  // When the failed answer carries Retry-After (seconds or an HTTP date), that delay replaces the
  // exponential one, still capped at max_backoff.
};

struct Progress {
  std::size_t index = 0;         // the URL that just finished (its position in `urls`)
  std::size_t files_done = 0;    // URLs finished so far, successful or not (1, 2, ... files_total)
  std::size_t files_total = 0;   // urls.size()
  std::uint64_t bytes_done = 0;  // bytes written by the successful downloads so far
};

// Called once per URL when it finishes (successfully or not). Calls come from any thread the
// strategy uses, but never two at once, so the callback needs no lock of its own.
using ProgressCallback = std::function<void(const Progress&)>;

struct Options {
  Strategy strategy = Strategy::thread_pool;
  // L: the most transfers in flight at once, >= 1. Sequential runs one at a time, and
  // thread_per_url starts every URL at once, so neither uses it.
  std::size_t max_concurrency = 8;
  // Per attempt, counted from the moment the attempt starts: time spent waiting in a queue for a
  // free worker or slot does not count. Both > 0.
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};
  RetryPolicy retry{};
  // Waits before each retry. Empty: wait for real, and stop waiting when a stop is requested.
  // When set, every strategy calls it with each back-off delay instead of waiting itself (the
  // async strategy calls it on its loop thread, so it must return promptly: it is meant for
  // tests that record the delays). Under the processes strategy it runs in the worker process.
  Sleeper sleeper{};
  ProgressCallback on_progress{};
  // A stop request ends every transfer promptly: download() then returns, every unfinished URL
  // has an error that starts with "cancelled", and no file of an unfinished URL is left behind.
  std::stop_token stop{};
};

struct Result {
  std::string url{};
  // dest_dir / file name (see plan_destinations), whether or not the download succeeded. A
  // failed download writes nothing there: a file that was there before stays as it was.
  std::filesystem::path path{};
  std::uint64_t bytes = 0;  // bytes written to `path` (0 when it failed)
  int http_status = 0;      // status of the last answer, 0 when no answer came
  int attempts = 0;         // transfers tried, 0 when it never started (cancelled first)
  // From the start of the first attempt to the end of the last, back-off included; time spent
  // queued before the first attempt is not counted.
  std::chrono::milliseconds elapsed{0};
  std::string error{};  // empty on success, else what went wrong

  bool ok() const { return error.empty(); }
};

// Downloads every URL into dest_dir (created when missing) and returns one result per URL, in the
// order of `urls`. A URL that fails does not stop the others. Every file is written atomically:
// to a temporary file in dest_dir whose name starts with '.', renamed to its final name once
// complete, so no reader ever sees half a file and a failure leaves none. A destination that is
// a symbolic link is followed (its target is replaced, the link stays); one that is a FIFO or a
// device is written in place (course/output_file.hpp).
// Throws std::invalid_argument for max_concurrency < 1, timeouts <= 0 or max_retries < 0, and
// std::logic_error for a strategy that is not implemented yet.
std::vector<Result> download(const std::vector<std::string>& urls,
                             const std::filesystem::path& dest_dir, const Options& options = {});

// ---- File names (level 2) ----

// The file name for a URL, by the notes' rule made safe:
//  1. take the URL's path (after "scheme://host:port", before any '?' or '#');
//  2. take its last segment, after the last '/' (the notes' `url.split("/")[-1]`);
//  3. percent-decode it once ("%20" becomes a space, "%2F" a slash);
//  4. replace every byte that is not an ASCII letter, digit, '.', '-' or '_' by '_';
//  5. drop leading dots (no hidden files, no "." or "..");
//  6. shorten it to at most kMaxNameBytes bytes, keeping an extension of up to 16 bytes (its
//     dot included);
//  7. use "download" if nothing is left.
// So "http://h/img/cat.jpg?size=2" gives "cat.jpg", "http://h/a/..%2F..%2Fetc%2Fpasswd" gives
// "_.._etc_passwd", and "http://h/dir/" gives "download". No name it returns can leave a
// directory: it contains no '/' and is never "." or "..".
inline constexpr std::size_t kMaxNameBytes = 200;
std::string file_name_for(std::string_view url);

// The destination of every URL, in input order: dest_dir / file_name_for(url), where a name
// already given to an earlier URL becomes "stem-1.ext", then "stem-2.ext", ... (the first of
// those not yet given; the extension is what follows the name's last '.', if that is not its
// first character). So a.txt, a.txt, a-1.txt, a.txt give a.txt, a-1.txt, a-1-1.txt, a-2.txt.
// Files already in dest_dir do not count: a download replaces them.
std::vector<std::filesystem::path> plan_destinations(const std::vector<std::string>& urls,
                                                     const std::filesystem::path& dest_dir);

}  // namespace downloader
