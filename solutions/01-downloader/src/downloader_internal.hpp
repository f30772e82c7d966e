// What the source files of the downloader share. Not part of the course's API.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "course/output_file.hpp"
#include "downloader/downloader.hpp"

namespace downloader::detail {

using Clock = std::chrono::steady_clock;

// ---- libcurl resources ----

// curl_global_init, once per process, before the first handle (it is not thread-safe to race).
void ensure_curl_initialised();

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

// ---- cancellation ----

// When to give up: a stop request, or (in a worker process, which has no stop_source of its own)
// a file descriptor that becomes readable when the parent wants the worker to stop.
struct Cancellation {
  std::stop_token token{};
  int fd = -1;

  bool requested() const;
};

// ---- one file on disk (level 2) ----

// Writes all `size` bytes to `fd`, resuming after partial writes and EINTR.
bool write_all(int fd, const char* data, std::size_t size);

// The download itself goes through course::OutputFile (course/output_file.hpp): a temporary
// file beside the destination, renamed over it only when the download succeeded; a symbolic
// link followed; a FIFO or a device written in place.

// ---- one attempt ----

struct AttemptOutcome {
  bool ok = false;
  bool retryable = false;
  int http_status = 0;
  std::uint64_t bytes = 0;
  std::optional<std::chrono::milliseconds> retry_after;
  std::string error;
};

// One transfer of a URL into a fresh course::OutputFile: an easy handle configured with the
// options' timeouts, and the file its body goes to. Pinned in memory, because libcurl keeps a
// pointer to it.
class Attempt {
 public:
  // `now` creates the part file at once. `later` leaves it to open_file(), so that an event loop
  // can send the request first and create the file while the server takes its time (or, at the
  // latest, when the first bytes arrive).
  enum class FileTiming { now, later };

  // `cancel` also ends the file's own waits: a FIFO's reader that does not come, or does not read.
  Attempt(const std::string& url, const std::filesystem::path& destination, const Options& options,
          const Cancellation& cancel, FileTiming file_timing = FileTiming::now);
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  // Empty when the attempt is ready to run, else why it cannot (no part file, no handle).
  const std::string& setup_error() const { return setup_error_; }
  CURL* easy() const { return easy_.get(); }
  // Creates the part file unless it exists; false if it cannot be created.
  bool open_file();
  // Reads the answer once libcurl has finished with `code`; commits the file on success.
  AttemptOutcome finish(CURLcode code);

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);

  std::filesystem::path destination_;
  Cancellation cancel_;
  std::optional<course::OutputFile> file_;
  std::string file_error_;
  EasyHandle easy_;
  std::string setup_error_;
  std::uint64_t bytes_ = 0;
  bool write_failed_ = false;
  char curl_error_[CURL_ERROR_SIZE] = {};
};

// ---- retries (level 3) ----

bool is_retryable(CURLcode code, int http_status);
// The wait before retry number `retry` (1, 2, ...).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry,
                                        std::optional<std::chrono::milliseconds> retry_after);
// Waits `delay` through options.sleeper, or for real until cancelled; false if cancelled.
bool wait_before_retry(const Options& options, std::chrono::milliseconds delay,
                       const Cancellation& cancel);

// ---- whole downloads ----

inline constexpr std::string_view kCancelled = "cancelled";
Result cancelled_before_start(const std::string& url, const std::filesystem::path& destination);
std::chrono::milliseconds elapsed_since(Clock::time_point start);

// Fetches one URL with retries, blocking the calling thread: what the sequential and threaded
// strategies (and each worker process) run for every URL.
Result fetch(const std::string& url, const std::filesystem::path& destination,
             const Options& options, const Cancellation& cancel);

// Reports finished URLs to Options::on_progress, one call at a time.
class ProgressReporter {
 public:
  ProgressReporter(const ProgressCallback& callback, std::size_t total)
      : callback_(callback), total_(total) {}
  void finished(std::size_t index, const Result& result);

 private:
  const ProgressCallback& callback_;
  std::mutex mutex_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::uint64_t bytes_ = 0;
};

// One call of download(), as the strategies see it.
struct Job {
  const std::vector<std::string>& urls;
  const std::vector<std::filesystem::path>& paths;
  const Options& options;
  ProgressReporter& progress;

  std::size_t size() const { return urls.size(); }
  // fetch() for URL i, reported to the progress callback.
  Result fetch_and_report(std::size_t i, const Cancellation& cancel) const;
};

std::vector<Result> download_sequential(const Job& job);
std::vector<Result> download_thread_per_url(const Job& job);
std::vector<Result> download_thread_pool(const Job& job);
std::vector<Result> download_async(const Job& job);
std::vector<Result> download_processes(const Job& job);

}  // namespace downloader::detail
