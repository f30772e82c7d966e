// Level 6: asynchronous on one thread, the notes' asyncio version. The calling thread runs an
// event loop around libcurl's multi interface: it keeps up to L transfers in flight, sleeps in
// curl_multi_poll until one of them has news, and never blocks on a single transfer. A retry
// waits on the loop's clock, not in a sleep, so the other transfers keep going meanwhile.
//
// Everything the loop does runs one thing at a time, file system work included (creating a part
// file, renaming it into place). So the loop sends requests first and does that work while they
// wait for their server: the exec segments hide in the wait segments instead of delaying them.
#include <algorithm>
#include <deque>
#include <map>

#include "downloader_internal.hpp"

namespace downloader::detail {
namespace {

class AsyncLoop {
 public:
  explicit AsyncLoop(const Job& job) : job_(job), multi_(curl_multi_init()), results_(job.size()) {
    for (std::size_t i = 0; i < job.size(); ++i) {
      queued_.push_back({.index = i, .attempt = 1, .first_start = {}, .due = {}});
    }
  }
  AsyncLoop(const AsyncLoop&) = delete;
  AsyncLoop& operator=(const AsyncLoop&) = delete;
  ~AsyncLoop() {
    // The easy handles must leave the multi handle before either is cleaned up.
    for (const auto& [easy, transfer] : running_) curl_multi_remove_handle(multi_.get(), easy);
  }

  std::vector<Result> run() {
    // A stop request wakes the loop at once instead of at its next timeout.
    const std::stop_callback wake(job_.options.stop, [m = multi_.get()] { curl_multi_wakeup(m); });
    while (!job_.options.stop.stop_requested()) {
      start_what_fits();
      if (running_.empty() && queued_.empty() && retrying_.empty()) return std::move(results_);
      perform();
      open_new_files();  // while the requests just sent wait for their server
      std::vector<Finished> finished = take_finished();
      if (finished.empty()) {
        curl_multi_poll(multi_.get(), nullptr, 0, poll_timeout_ms(), nullptr);
        continue;
      }
      // The successors' requests go out before the finished files are renamed into place.
      start_what_fits();
      perform();
      for (Finished& done : finished) conclude(done.running, done.code);
    }
    cancel_everything();
    return std::move(results_);
  }

 private:
  // A URL between attempts: queued for its first one, or waiting for a retry.
  struct Pending {
    std::size_t index;
    int attempt;
    Clock::time_point first_start;  // of the first attempt; unset while only queued
    Clock::time_point due;          // when a retry may start
  };
  struct Running {
    Pending pending;
    std::unique_ptr<Attempt> attempt;
  };
  struct Finished {
    Running running;
    CURLcode code;
  };

  const Options& options() const { return job_.options; }

  // Fills free slots: retries whose back-off is over first, then new URLs. Starting a transfer
  // here, not earlier, keeps queued time out of its timeout.
  void start_what_fits() {
    while (running_.size() < options().max_concurrency) {
      const auto due = std::find_if(retrying_.begin(), retrying_.end(),
                                    [](const Pending& p) { return p.due <= Clock::now(); });
      if (due != retrying_.end()) {
        const Pending pending = *due;
        retrying_.erase(due);
        start(pending);
      } else if (!queued_.empty()) {
        Pending pending = queued_.front();
        queued_.pop_front();
        pending.first_start = Clock::now();
        start(pending);
      } else {
        return;
      }
    }
  }

  void start(const Pending& pending) {
    const std::size_t i = pending.index;
    auto attempt = std::make_unique<Attempt>(job_.urls[i], job_.paths[i], options(),
                                             Cancellation{.token = options().stop},
                                             Attempt::FileTiming::later);
    if (!attempt->setup_error().empty()) {
      Result result{.url = job_.urls[i], .path = job_.paths[i]};
      result.attempts = pending.attempt - 1;
      result.error = attempt->setup_error();
      result.elapsed = elapsed_since(pending.first_start);
      finish(i, std::move(result));
      return;
    }
    curl_multi_add_handle(multi_.get(), attempt->easy());
    CURL* easy = attempt->easy();
    running_.emplace(easy, Running{.pending = pending, .attempt = std::move(attempt)});
    unopened_.push_back(easy);
  }

  void perform() {
    int still_running = 0;
    curl_multi_perform(multi_.get(), &still_running);
  }

  // A file that cannot be created here fails its transfer when the first bytes arrive.
  void open_new_files() {
    for (CURL* easy : unopened_) {
      if (const auto node = running_.find(easy); node != running_.end()) {
        node->second.attempt->open_file();
      }
    }
    unopened_.clear();
  }

  // Takes the finished transfers out of the multi handle, leaving their files for conclude().
  std::vector<Finished> take_finished() {
    std::vector<Finished> finished;
    int queued_messages = 0;
    while (const CURLMsg* message = curl_multi_info_read(multi_.get(), &queued_messages)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      const auto node = running_.find(easy);
      if (node == running_.end()) continue;
      curl_multi_remove_handle(multi_.get(), easy);
      finished.push_back({.running = std::move(node->second), .code = code});
      running_.erase(node);
    }
    return finished;
  }

  // One attempt is over: keep its result, or plan its retry.
  void conclude(Running& done, CURLcode code) {
    const Pending& pending = done.pending;
    const std::size_t i = pending.index;
    AttemptOutcome outcome = done.attempt->finish(code);
    done.attempt.reset();
    if (!outcome.ok && outcome.retryable && pending.attempt <= options().retry.max_retries) {
      const auto delay = backoff_delay(options().retry, pending.attempt, outcome.retry_after);
      Pending retry = pending;
      ++retry.attempt;
      retry.due = Clock::now();
      // Never sleep on the loop: an injected sleeper only records the delay; otherwise the
      // retry waits on the loop's clock while the other transfers go on.
      if (options().sleeper) {
        options().sleeper(delay);
      } else {
        retry.due += delay;
      }
      retrying_.push_back(retry);
      return;
    }
    Result result{.url = job_.urls[i], .path = job_.paths[i]};
    result.http_status = outcome.http_status;
    result.attempts = pending.attempt;
    result.elapsed = elapsed_since(pending.first_start);
    if (outcome.ok) {
      result.bytes = outcome.bytes;
    } else {
      result.error = std::move(outcome.error);
    }
    finish(i, std::move(result));
  }

  void finish(std::size_t i, Result result) {
    results_[i] = std::move(result);
    job_.progress.finished(i, results_[i]);
  }

  // Until the next retry is due, at most a second (a stop request wakes the poll anyway).
  int poll_timeout_ms() const {
    auto timeout = std::chrono::milliseconds(1000);
    const auto now = Clock::now();
    for (const Pending& retry : retrying_) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(retry.due - now);
      timeout = std::clamp(until, std::chrono::milliseconds(0), timeout);
    }
    return static_cast<int>(timeout.count());
  }

  void cancel_everything() {
    for (auto& [easy, running] : running_) {
      curl_multi_remove_handle(multi_.get(), easy);
      Result result{.url = job_.urls[running.pending.index],
                    .path = job_.paths[running.pending.index]};
      result.attempts = running.pending.attempt;
      result.elapsed = elapsed_since(running.pending.first_start);
      result.error = std::string(kCancelled) + " while downloading";
      running.attempt.reset();  // removes its part file
      finish(running.pending.index, std::move(result));
    }
    running_.clear();
    unopened_.clear();
    for (const Pending& retry : retrying_) {
      Result result{.url = job_.urls[retry.index], .path = job_.paths[retry.index]};
      result.attempts = retry.attempt - 1;
      result.elapsed = elapsed_since(retry.first_start);
      result.error = std::string(kCancelled) + " while waiting to retry";
      finish(retry.index, std::move(result));
    }
    retrying_.clear();
    for (const Pending& queued : queued_) {
      finish(queued.index,
             cancelled_before_start(job_.urls[queued.index], job_.paths[queued.index]));
    }
    queued_.clear();
  }

  const Job& job_;
  MultiHandle multi_;
  std::vector<Result> results_;
  std::deque<Pending> queued_;
  std::vector<Pending> retrying_;
  std::map<CURL*, Running> running_;
  std::vector<CURL*> unopened_;  // started, part file not created yet
};

}  // namespace

std::vector<Result> download_async(const Job& job) {
  AsyncLoop loop(job);
  return loop.run();
}

}  // namespace downloader::detail
