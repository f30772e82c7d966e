// One URL: a libcurl transfer into a temporary file (levels 1 and 2), retried with back-off
// (level 3). The sequential and threaded strategies run fetch() for every URL; the async
// strategy drives the same Attempt objects from its event loop.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "downloader_internal.hpp"

namespace downloader::detail {
namespace {

// A transfer that ends because of a stop request reports this (libcurl never does).
constexpr CURLcode kCancelledCode = CURLE_ABORTED_BY_CALLBACK;

// Runs one easy handle to completion inside a private multi handle, so that a stop request can
// wake the wait at once (curl_multi_wakeup) instead of at libcurl's next progress callback.
CURLcode perform_interruptibly(CURL* easy, const Cancellation& cancel) {
  const MultiHandle multi(curl_multi_init());
  if (!multi) return CURLE_OUT_OF_MEMORY;
  curl_multi_add_handle(multi.get(), easy);
  CURLcode result = kCancelledCode;
  {
    // Declared after `multi`, so it is gone before the multi handle is cleaned up.
    const std::stop_callback wake(cancel.token, [m = multi.get()] { curl_multi_wakeup(m); });
    curl_waitfd cancel_fd{.fd = cancel.fd, .events = CURL_WAIT_POLLIN, .revents = 0};
    const unsigned extra_fds = cancel.fd >= 0 ? 1U : 0U;
    for (;;) {
      int running = 0;
      curl_multi_perform(multi.get(), &running);
      int queued = 0;
      if (const CURLMsg* message = curl_multi_info_read(multi.get(), &queued);
          message != nullptr && message->msg == CURLMSG_DONE) {
        result = message->data.result;
        break;
      }
      if (cancel.requested()) break;
      curl_multi_poll(multi.get(), extra_fds > 0 ? &cancel_fd : nullptr, extra_fds, 1000, nullptr);
    }
  }
  curl_multi_remove_handle(multi.get(), easy);
  return result;
}

std::string describe_failure(CURLcode code, int http_status, const char* curl_error) {
  if (code == CURLE_OK) return "HTTP status " + std::to_string(http_status);
  std::string text = curl_easy_strerror(code);
  if (curl_error[0] != '\0') text += std::string(": ") + curl_error;
  return text;
}

Result cancelled_result(Result result, Clock::time_point first_start) {
  result.error = std::string(kCancelled) + " while downloading";
  result.bytes = 0;
  result.elapsed = elapsed_since(first_start);
  return result;
}

}  // namespace

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

bool Cancellation::requested() const {
  if (token.stop_requested()) return true;
  if (fd < 0) return false;
  pollfd watched{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&watched, 1, 0) > 0;
}

// ---- one file on disk ----

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;  // a signal interrupted it before anything was written
      return false;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

// ---- Attempt ----

Attempt::Attempt(const std::string& url, const std::filesystem::path& destination,
                 const Options& options, const Cancellation& cancel, FileTiming file_timing)
    : destination_(destination), cancel_(cancel), easy_(curl_easy_init()) {
  if (file_timing == FileTiming::now && !open_file()) {
    setup_error_ = file_error_;
    return;
  }
  if (!easy_) {
    setup_error_ = "curl_easy_init failed";
    return;
  }
  CURL* easy = easy_.get();
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  // Threads must not let libcurl use signals (SIGALRM) for its timeouts.
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "course-downloader/1.0");
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error_);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Attempt::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
}

bool Attempt::open_file() {
  if (file_) return true;
  if (!file_error_.empty()) return false;
  try {
    file_.emplace(destination_,
                  course::OutputFileOptions{.stop = cancel_.token,
                                            .cancelled = [this] { return cancel_.requested(); }});
    return true;
  } catch (const course::OutputError& error) {
    file_error_ = error.what();
    return false;
  }
}

std::size_t Attempt::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto& attempt = *static_cast<Attempt*>(self);
  const std::size_t bytes = size * count;
  long status = 0;
  curl_easy_getinfo(attempt.easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return bytes;  // an error page is not the file
  if (!attempt.open_file()) {
    attempt.write_failed_ = true;
    return CURL_WRITEFUNC_ERROR;
  }
  try {  // no exception may cross libcurl, which is C
    attempt.file_->write(std::string_view(data, bytes));
  } catch (const course::OutputError& error) {
    attempt.file_error_ = error.what();
    attempt.write_failed_ = true;
    return CURL_WRITEFUNC_ERROR;
  }
  attempt.bytes_ += bytes;
  return bytes;
}

AttemptOutcome Attempt::finish(CURLcode code) {
  AttemptOutcome outcome;
  long status = 0;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  outcome.http_status = static_cast<int>(status);
  if (code == CURLE_OK && status >= 200 && status < 300) {
    // An empty body never reached on_body, so its file may not exist yet.
    if (open_file()) {
      try {
        file_->commit();
        outcome.ok = true;
        outcome.bytes = bytes_;
      } catch (const course::OutputError& error) {
        file_error_ = error.what();
      }
    }
    if (!file_error_.empty()) outcome.error = file_error_;
    return outcome;
  }
  if (write_failed_) {
    outcome.error = file_error_.empty() ? "cannot write the downloaded data" : file_error_;
  } else {
    outcome.error = describe_failure(code, outcome.http_status, curl_error_);
  }
  // Bytes written in place (a FIFO, a device) cannot be taken back: another attempt would send
  // them twice, so such a failure is final.
  const bool sent_in_place = file_ && !file_->atomic() && bytes_ > 0;
  outcome.retryable = !write_failed_ && !sent_in_place && is_retryable(code, outcome.http_status);
  curl_off_t retry_after_s = -1;
  if (curl_easy_getinfo(easy_.get(), CURLINFO_RETRY_AFTER, &retry_after_s) == CURLE_OK &&
      retry_after_s > 0) {
    outcome.retry_after = std::chrono::seconds(retry_after_s);
  }
  return outcome;
}

// ---- retries ----

bool is_retryable(CURLcode code, int http_status) {
  switch (code) {
    case CURLE_OK:
      return http_status >= 500 || http_status == 429;
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry,
                                        std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after) return std::min(*retry_after, policy.max_backoff);
  const double factor = std::pow(policy.multiplier, std::max(0, retry - 1));
  const double delay_ms = static_cast<double>(policy.initial_backoff.count()) * factor;
  const double cap_ms = static_cast<double>(policy.max_backoff.count());
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(delay_ms, cap_ms)));
}

bool wait_before_retry(const Options& options, std::chrono::milliseconds delay,
                       const Cancellation& cancel) {
  if (options.sleeper) {
    options.sleeper(delay);
  } else if (cancel.fd >= 0) {
    pollfd watched{.fd = cancel.fd, .events = POLLIN, .revents = 0};
    ::poll(&watched, 1, static_cast<int>(delay.count()));
  } else {
    // A timed wait that a stop request ends early.
    std::mutex mutex;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mutex);
    never_notified.wait_for(lock, cancel.token, delay, [] { return false; });
  }
  return !cancel.requested();
}

// ---- whole downloads ----

std::chrono::milliseconds elapsed_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

Result cancelled_before_start(const std::string& url, const std::filesystem::path& destination) {
  return Result{.url = url,
                .path = destination,
                .bytes = 0,
                .http_status = 0,
                .attempts = 0,
                .elapsed = {},
                .error = std::string(kCancelled) + " before it started"};
}

Result fetch(const std::string& url, const std::filesystem::path& destination,
             const Options& options, const Cancellation& cancel) {
  Result result{.url = url, .path = destination};
  const Clock::time_point first_start = Clock::now();
  for (int attempt_number = 1;; ++attempt_number) {
    Attempt attempt(url, destination, options, cancel);
    if (!attempt.setup_error().empty()) {
      result.error = attempt.setup_error();
      break;
    }
    result.attempts = attempt_number;
    const CURLcode code = perform_interruptibly(attempt.easy(), cancel);
    if (code == kCancelledCode && cancel.requested()) return cancelled_result(result, first_start);
    AttemptOutcome outcome = attempt.finish(code);
    result.http_status = outcome.http_status;
    if (outcome.ok) {
      result.bytes = outcome.bytes;
      result.error.clear();
      break;
    }
    result.error = std::move(outcome.error);
    if (!outcome.retryable || attempt_number > options.retry.max_retries) break;
    const auto delay = backoff_delay(options.retry, attempt_number, outcome.retry_after);
    if (!wait_before_retry(options, delay, cancel)) return cancelled_result(result, first_start);
  }
  result.elapsed = elapsed_since(first_start);
  return result;
}

}  // namespace downloader::detail
