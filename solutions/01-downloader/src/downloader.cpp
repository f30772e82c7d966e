// download(): checks the options, plans the file names and hands the job to a strategy.
// Level 1, the sequential strategy, is the baseline the other strategies are measured against.
#include <stdexcept>

#include "downloader_internal.hpp"

namespace downloader {
namespace detail {
namespace {

void check_options(const Options& options) {
  if (options.max_concurrency < 1) {
    throw std::invalid_argument("download: max_concurrency must be at least 1");
  }
  if (options.connect_timeout <= std::chrono::milliseconds{0} ||
      options.total_timeout <= std::chrono::milliseconds{0}) {
    throw std::invalid_argument("download: timeouts must be positive");
  }
  if (options.retry.max_retries < 0) {
    throw std::invalid_argument("download: max_retries must not be negative");
  }
}

}  // namespace

void ProgressReporter::finished(std::size_t index, const Result& result) {
  // Under the lock, so that the callback sees counts in order and never runs twice at once.
  const std::scoped_lock lock(mutex_);
  ++done_;
  bytes_ += result.bytes;
  if (callback_) {
    callback_(
        Progress{.index = index, .files_done = done_, .files_total = total_, .bytes_done = bytes_});
  }
}

Result Job::fetch_and_report(std::size_t i, const Cancellation& cancel) const {
  Result result = cancel.requested() ? cancelled_before_start(urls[i], paths[i])
                                     : fetch(urls[i], paths[i], options, cancel);
  progress.finished(i, result);
  return result;
}

std::vector<Result> download_sequential(const Job& job) {
  std::vector<Result> results;
  results.reserve(job.size());
  const Cancellation cancel{.token = job.options.stop};
  for (std::size_t i = 0; i < job.size(); ++i) results.push_back(job.fetch_and_report(i, cancel));
  return results;
}

}  // namespace detail

std::vector<Result> download(const std::vector<std::string>& urls,
                             const std::filesystem::path& dest_dir, const Options& options) {
  detail::check_options(options);
  detail::ensure_curl_initialised();
  std::filesystem::create_directories(dest_dir);
  const std::vector<std::filesystem::path> paths = plan_destinations(urls, dest_dir);
  detail::ProgressReporter progress(options.on_progress, urls.size());
  const detail::Job job{.urls = urls, .paths = paths, .options = options, .progress = progress};
  switch (options.strategy) {
    case Strategy::sequential:
      return detail::download_sequential(job);
    case Strategy::thread_per_url:
      return detail::download_thread_per_url(job);
    case Strategy::thread_pool:
      return detail::download_thread_pool(job);
    case Strategy::async:
      return detail::download_async(job);
    case Strategy::processes:
      return detail::download_processes(job);
  }
  throw std::invalid_argument("download: unknown strategy");
}

}  // namespace downloader
