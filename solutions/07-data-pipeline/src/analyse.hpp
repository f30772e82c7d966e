// Exercise 07: the log analysis on the pipeline of levels 2 to 5.
//
//   read --batches of lines--> parse (N workers) --batches of records--> filter --> aggregate
//
// `read` is the source (one thread, one batch of options.batch_lines lines at a time, so memory
// does not grow with the log), `parse` is the CPU-bound stage that fans out, `aggregate` is a
// single-worker sink that owns the Report, so it needs no lock. Items are batches (level 4b):
// handing an item from one thread to another costs more than parsing one line, so each hand-off
// carries a thousand lines.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
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

// One item between read and parse: up to batch_lines consecutive lines of one file, kept in one
// string (each line ends in '\n') so that the read stage, the one serial stage, allocates once
// per batch instead of once per line. `first` is the index of its first line among all the lines
// read (0, 1, 2, ... across the files), which names a malformed line's dead letter.
struct LineBatch {
  const std::filesystem::path* file = nullptr;
  std::uint64_t first_number = 1;  // of its first line in its file (from 1)
  std::uint64_t first = 0;
  std::size_t lines = 0;
  std::string text;
};

// One item after parse: the batch's records, and its malformed lines (ErrorPolicy::skip) or the
// first of them (fail_fast), which the aggregate stage throws when the batch's turn comes.
struct RecordBatch {
  std::vector<LogRecord> records;
  std::vector<DeadLetter> malformed;
  std::exception_ptr error;
};

// Hands out the lines of several files in turn, a batch at a time (the source's next()). The
// course's LogReader does the reading: a stop ends its waits (a FIFO with no writer yet, a slow
// writer), a line longer than kMaxLineBytes is cut (parse then refuses it), and a file truncated
// while it is read is an error.
class LineReader {
 public:
  LineReader(const std::vector<std::filesystem::path>& logs, std::stop_token stop)
      : logs_(logs), stop_(std::move(stop)) {}

  // Up to `lines` lines, or fewer holding at least `bytes` bytes, of the current file. A batch
  // goes on as soon as it is full, or when its file ends, so a log that is still being written
  // is still read as it grows.
  std::optional<LineBatch> next_batch(std::size_t lines, std::size_t bytes) {
    while (file_index_ < logs_.size() && !stop_.stop_requested()) {
      if (!file_) file_.emplace(logs_[file_index_], stop_);  // throws if unreadable
      LineBatch batch{.file = &logs_[file_index_],
                      .first_number = number_ + 1,
                      .first = lines_read_,
                      .lines = 0,
                      .text = {}};
      bool full = false;
      while (!full) {
        const std::optional<std::string_view> line = file_->next();
        if (!line) break;
        batch.text.append(*line).push_back('\n');
        ++batch.lines;
        full = batch.lines == lines || batch.text.size() >= bytes;
      }
      number_ += batch.lines;
      lines_read_ += batch.lines;
      if (full) return batch;
      // The file has ended (or a stop came): the next batch starts in the next file.
      file_.reset();
      ++file_index_;
      number_ = 0;
      if (batch.lines > 0) return batch;
    }
    return std::nullopt;
  }

  std::uint64_t lines_read() const { return lines_read_; }

 private:
  const std::vector<std::filesystem::path>& logs_;
  std::stop_token stop_;
  std::size_t file_index_ = 0;
  std::optional<LogReader> file_;
  std::uint64_t number_ = 0;
  std::uint64_t lines_read_ = 0;
};

// Only the fields that filter and aggregate read go on from the parse stage: the others would be
// copied to another core and freed there for nothing (the notes' parse_line keeps the same four).
inline LogRecord fields_kept_after_parse(LogRecord&& record) {
  LogRecord kept;
  kept.time = record.time;
  kept.path = std::move(record.path);
  kept.status = record.status;
  kept.bytes = record.bytes;
  return kept;
}

// The parse stage's function. A malformed line is set aside, never thrown here: as a dead letter
// under skip (the pipeline's own skip policy would drop the whole batch, so the analysis applies
// the policy line by line itself), and as the batch's error under fail_fast. Parse workers finish
// in any order; the aggregate stage, which gets the batches back in file order, is where errors
// count, so the dead letters kept and the error thrown are the first ones in file order.
inline RecordBatch parse_batch(LineBatch&& batch, const AnalyseOptions& options) {
  RecordBatch parsed;
  parsed.records.reserve(batch.lines);
  Line line{batch.file, batch.first_number, {}};  // reused for every line of the batch
  std::size_t start = 0;
  for (std::size_t i = 0; i < batch.lines; ++i, ++line.number) {
    const std::size_t end = batch.text.find('\n', start);
    line.text.assign(batch.text, start, end - start);
    start = end + 1;
    try {
      LogRecord record = parse_line(line);
      if (options.on_record) options.on_record(record);
      parsed.records.push_back(fields_kept_after_parse(std::move(record)));
    } catch (const LineError& error) {
      if (options.policy == ErrorPolicy::fail_fast) {
        parsed.error = std::current_exception();
        break;  // the rest of the batch can only come after the error
      }
      parsed.malformed.push_back(DeadLetter{batch.first + i, "parse", error.what()});
    }
  }
  return parsed;
}

// The aggregate stage: one worker, so it owns the Report and the dead letters without a lock.
class Aggregator {
 public:
  explicit Aggregator(const AnalyseOptions& options) : options_(options) {}

  void add(RecordBatch&& batch) {
    // fail_fast: the first malformed line in file order stops the run (the sink's exception).
    if (batch.error != nullptr) std::rethrow_exception(batch.error);
    for (const LogRecord& record : batch.records) report_.add(record);
    for (DeadLetter& letter : batch.malformed) add_dead_letter(std::move(letter));
  }

  // Called once the run has ended: the results move out.
  Report take_report() { return std::move(report_); }
  std::vector<DeadLetter> take_dead_letters() { return std::move(dead_letters_); }
  std::uint64_t failed() const { return failed_; }

 private:
  // Keeps the first dead_letter_limit, counts them all, and stops the run (by throwing from the
  // sink, which the pipeline treats as fail fast) once the error budget is exceeded.
  void add_dead_letter(DeadLetter&& letter) {
    ++failed_;
    if (failed_ > options_.error_budget) {
      throw ErrorBudgetExceeded(
          std::to_string(failed_) + " lines were malformed, more than the error budget of " +
          std::to_string(options_.error_budget) + "; the last: " + letter.error);
    }
    if (dead_letters_.size() < options_.dead_letter_limit) {
      dead_letters_.push_back(std::move(letter));
    }
  }

  const AnalyseOptions& options_;
  Report report_;
  std::vector<DeadLetter> dead_letters_;
  std::uint64_t failed_ = 0;
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
// line becomes a dead letter; under fail_fast the first one in file order is thrown (a LineError).
// A file that cannot be read is thrown under either policy. A stop returns at once with
// Outcome::stopped.
inline Analysis analyse(const std::vector<std::filesystem::path>& logs,
                        const AnalyseOptions& options, const std::stop_token& stop = {}) {
  if (options.batch_lines == 0 || options.batch_bytes == 0) {
    throw std::invalid_argument("analyse: batch_lines and batch_bytes must be at least 1");
  }
  detail::LineReader reader(logs, stop);
  detail::Aggregator aggregator(options);
  const auto read_batch = [&reader, &options] {
    return reader.next_batch(options.batch_lines, options.batch_bytes);
  };
  Plan plan = Pipeline<detail::LineBatch>::source("read", read_batch)
                  // ordered: parse workers finish in any order, and the batches go on in file
                  // order, so that the report does not depend on the schedule (see parse_batch).
                  .map("parse", {.workers = options.workers, .ordered = true},
                       [&options](detail::LineBatch&& batch) {
                         return detail::parse_batch(std::move(batch), options);
                       })
                  .map("filter", {.workers = 1},
                       [&options](detail::RecordBatch&& batch) {
                         std::erase_if(batch.records, [&options](const LogRecord& record) {
                           return !options.filter.matches(record);
                         });
                         return std::move(batch);
                       })
                  .sink("aggregate", {.workers = 1}, [&aggregator](detail::RecordBatch&& batch) {
                    aggregator.add(std::move(batch));
                  });

  RunResult result;
  {
    const detail::ProgressReporter progress(plan, options);
    // A malformed line never reaches the pipeline as an error of the parse stage (parse_batch
    // sets it aside); the aggregate stage throws it, or ErrorBudgetExceeded, and that stops the
    // run as the pipeline's fail_fast does.
    result = plan.run({.capacity = options.capacity}, stop);
  }  // the reporter's thread has ended: the final call below is never concurrent with it
  if (options.on_progress) options.on_progress(result.stages);
  result.dead_letters = aggregator.take_dead_letters();
  result.failed = aggregator.failed();
  Report report = aggregator.take_report();
  report.lines = reader.lines_read();
  report.malformed = result.failed;
  return Analysis{std::move(report), std::move(result)};
}

}  // namespace logpipe
