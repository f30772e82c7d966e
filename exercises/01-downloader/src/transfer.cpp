// One URL: a libcurl transfer into its file. Given for level 1; level 2 makes the write atomic
// (OutputFile: or use the kit's course::OutputFile, course/output_file.hpp, which is atomic and
// never destroys a link, a FIFO or a device), level 3 adds retries with back-off (fetch and the
// functions after "retries").
// The sequential strategy runs fetch() for every URL; your threaded strategies can too, and
// your async loop can drive the same Attempt objects itself.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "downloader_internal.hpp"

namespace downloader::detail {
namespace {

std::string system_error_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

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

// ---- OutputFile ----

OutputFile::OutputFile(const std::filesystem::path& destination)
    : destination_(destination),
      fd_(::open(destination.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
  if (fd_ < 0) {
    open_error_ = system_error_text("cannot create " + destination.string());
    return;
  }
  created_ = true;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (created_ && !committed_) ::unlink(destination_.c_str());
}

bool OutputFile::write(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd_, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

bool OutputFile::commit(std::string& error) {
  if (::close(std::exchange(fd_, -1)) != 0) {
    error = system_error_text("cannot write " + destination_.string());
    return false;
  }
  committed_ = true;
  return true;
}

// ---- Attempt ----

Attempt::Attempt(const std::string& url, const std::filesystem::path& destination,
                 const Options& options)
    : file_(destination), easy_(curl_easy_init()) {
  if (!file_.is_open()) {
    setup_error_ = file_.open_error();
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

std::size_t Attempt::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto& attempt = *static_cast<Attempt*>(self);
  const std::size_t bytes = size * count;
  long status = 0;
  curl_easy_getinfo(attempt.easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return bytes;  // an error page is not the file
  if (!attempt.file_.write(data, bytes)) {
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
    outcome.ok = file_.commit(outcome.error);
    if (outcome.ok) outcome.bytes = bytes_;
    return outcome;
  }
  outcome.error = write_failed_ ? "cannot write the downloaded data"
                                : describe_failure(code, outcome.http_status, curl_error_);
  outcome.retryable = false;  // level 3: !write_failed_ && is_retryable(code, status)
  curl_off_t retry_after_s = -1;
  if (curl_easy_getinfo(easy_.get(), CURLINFO_RETRY_AFTER, &retry_after_s) == CURLE_OK &&
      retry_after_s > 0) {
    outcome.retry_after = std::chrono::seconds(retry_after_s);
  }
  return outcome;
}

// ---- retries (level 3) ----

bool is_retryable(CURLcode /*code*/, int /*http_status*/) {
  throw std::logic_error("is_retryable is not implemented yet (level 3 of 01-downloader)");
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& /*policy*/, int /*retry*/,
                                        std::optional<std::chrono::milliseconds> /*retry_after*/) {
  throw std::logic_error("backoff_delay is not implemented yet (level 3 of 01-downloader)");
}

bool wait_before_retry(const Options& /*options*/, std::chrono::milliseconds /*delay*/,
                       const Cancellation& /*cancel*/) {
  throw std::logic_error("wait_before_retry is not implemented yet (level 3 of 01-downloader)");
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
  const Clock::time_point start = Clock::now();
  Attempt attempt(url, destination, options);
  if (!attempt.setup_error().empty()) {
    result.error = attempt.setup_error();
    return result;
  }
  result.attempts = 1;
  const CURLcode code = perform_interruptibly(attempt.easy(), cancel);
  if (code == kCancelledCode && cancel.requested()) return cancelled_result(result, start);
  AttemptOutcome outcome = attempt.finish(code);
  result.http_status = outcome.http_status;
  if (outcome.ok) {
    result.bytes = outcome.bytes;
  } else {
    // Level 3: when outcome.retryable, wait backoff_delay(...) through wait_before_retry and try
    // again, up to options.retry.max_retries times.
    result.error = std::move(outcome.error);
  }
  result.elapsed = elapsed_since(start);
  return result;
}

}  // namespace downloader::detail
