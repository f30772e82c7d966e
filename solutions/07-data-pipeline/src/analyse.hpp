// Exercise 07: the log analysis on the pipeline of levels 2 to 5.
//
//   read --lines--> parse (N workers) --records--> filter --records--> aggregate
//
// `read` is the source (one thread, one line at a time, so memory does not grow with the log),
// `parse` is the CPU-bound stage that fans out, `aggregate` is a single-worker sink that owns the
// Report, so it needs no lock.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "logpipe/api.hpp"
#include "logpipe/log.hpp"
#include "pipeline.hpp"

namespace logpipe {

namespace detail {

// Hands out the lines of several files in turn, one at a time (the source's next()).
class LineReader {
 public:
  explicit LineReader(const std::vector<std::filesystem::path>& logs) : logs_(logs) {}

  std::optional<Line> next() {
    while (file_index_ < logs_.size()) {
      if (!file_.is_open()) file_ = open_log(logs_[file_index_]);  // throws if unreadable
      Line line{&logs_[file_index_], number_ + 1, {}};
      if (std::getline(file_, line.text)) {
        ++number_;
        ++lines_read_;
        return line;
      }
      if (file_.bad()) throw std::runtime_error("cannot read " + logs_[file_index_].string());
      file_.close();
      ++file_index_;
      number_ = 0;
    }
    return std::nullopt;
  }

  std::uint64_t lines_read() const { return lines_read_; }

 private:
  const std::vector<std::filesystem::path>& logs_;
  std::size_t file_index_ = 0;
  std::ifstream file_;
  std::uint64_t number_ = 0;
  std::uint64_t lines_read_ = 0;
};

// Calls on_progress with the plan's statistics every interval, on its own thread, until stopped.
class ProgressReporter {
 public:
  ProgressReporter(const Plan& plan, const AnalyseOptions& options) {
    if (!options.on_progress) return;
    thread_ = std::jthread([&plan, &options, this](const std::stop_token& stop) {
      std::unique_lock lock(mutex_);
      // wait_for returns true only when stopped; otherwise a period has passed.
      while (!wake_.wait_for(lock, stop, options.progress_interval,
                             [&stop] { return stop.stop_requested(); })) {
        options.on_progress(plan.snapshot());
      }
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: stopped and joined first
};

}  // namespace detail

// Reads the logs, parses every line on options.workers threads, keeps the records that
// options.filter matches and counts them into a Report. Under ErrorPolicy::skip a malformed
// line becomes a dead letter; under fail_fast the first one is thrown (a LineError). A file that
// cannot be read is thrown under either policy. A stop returns at once with Outcome::stopped.
inline Analysis analyse(const std::vector<std::filesystem::path>& logs,
                        const AnalyseOptions& options, const std::stop_token& stop = {}) {
  detail::LineReader reader(logs);
  Report report;
  Plan plan =
      Pipeline<Line>::source("read", [&reader] { return reader.next(); })
          .map("parse", {.workers = options.workers},
               [&options](Line&& line) {
                 LogRecord record = parse_line(line);
                 if (options.on_record) options.on_record(record);
                 return record;
               })
          .filter("filter", {.workers = 1},
                  [&options](const LogRecord& record) { return options.filter.matches(record); })
          .sink("aggregate", {.workers = 1}, [&report](LogRecord&& record) { report.add(record); });

  RunResult result;
  {
    const detail::ProgressReporter progress(plan, options);
    result = plan.run({.capacity = options.capacity,
                       .policy = options.policy,
                       .error_budget = options.error_budget,
                       .dead_letter_limit = options.dead_letter_limit},
                      stop);
  }  // the reporter's thread has ended: the final call below is never concurrent with it
  if (options.on_progress) options.on_progress(result.stages);
  report.lines = reader.lines_read();
  report.malformed = result.failed;
  return Analysis{std::move(report), std::move(result)};
}

}  // namespace logpipe
