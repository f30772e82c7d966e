// The industrial anchor of exercise 07's benchmark: oneTBB's parallel_pipeline running the same
// stage functions as analyse() (parse_line, LogFilter::matches, Report::add from the course's
// lib/log.cpp) on the same items (batches of --batch lines of one file in one string, and the
// four fields aggregate reads), with the same shape: a serial reader, a parallel parse stage, a
// serial filter and aggregate. Prints one JSON line: lines, records, seconds. --batch 1 is one
// line per item.
//
//   tbb_pipeline LOG... [--threads N] [--tokens T] [--batch LINES]
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "logpipe/log.hpp"

namespace {

// What the parse stage hands on for one batch: its records and how many lines were malformed.
struct RecordBatch {
  std::vector<logpipe::LogRecord> records;
  std::uint64_t malformed = 0;
};

// The analysis's items: up to --batch lines of one file in one string, each ending in '\n'.
struct LineBatch {
  const std::filesystem::path* file = nullptr;
  std::uint64_t first_number = 1;
  std::size_t lines = 0;
  std::string text;
};

// The lines of several files in turn, a batch at a time, as the reference's read stage.
class LineReader {
 public:
  explicit LineReader(const std::vector<std::filesystem::path>& logs) : logs_(logs) {}

  LineBatch next_batch(std::size_t size) {
    while (file_index_ < logs_.size()) {
      if (!file_.is_open()) file_ = logpipe::open_log(logs_[file_index_]);
      LineBatch batch{&logs_[file_index_], number_ + 1, 0, {}};
      while (batch.lines < size && std::getline(file_, line_)) {
        batch.text.append(line_).push_back('\n');
        ++batch.lines;
      }
      number_ += batch.lines;
      if (batch.lines == size) return batch;
      file_.close();
      ++file_index_;
      number_ = 0;
      if (batch.lines > 0) return batch;
    }
    return {};
  }

 private:
  const std::vector<std::filesystem::path>& logs_;
  std::size_t file_index_ = 0;
  std::ifstream file_;
  std::string line_;
  std::uint64_t number_ = 0;
};

// As the reference's parse stage: split, parse, and keep the four fields aggregate reads. A copy of
// the reference's stage code, not an #include of it: this peer is built in the students'
// repository too, which has no solutions/.
RecordBatch parse_batch(const LineBatch& batch) {
  RecordBatch parsed;
  parsed.records.reserve(batch.lines);
  logpipe::Line line{batch.file, batch.first_number, {}};
  std::size_t start = 0;
  for (std::size_t i = 0; i < batch.lines; ++i, ++line.number) {
    const std::size_t end = batch.text.find('\n', start);
    line.text.assign(batch.text, start, end - start);
    start = end + 1;
    try {
      logpipe::LogRecord record = logpipe::parse_line(line);
      logpipe::LogRecord kept;
      kept.time = record.time;
      kept.path = std::move(record.path);
      kept.status = record.status;
      kept.bytes = record.bytes;
      parsed.records.push_back(std::move(kept));
    } catch (const logpipe::LineError&) {
      ++parsed.malformed;
    }
  }
  return parsed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tbb_pipeline: exercise 07's analysis on oneTBB's parallel_pipeline"};
  std::vector<std::string> files;
  std::size_t threads = 2;
  std::size_t tokens = 16;
  std::size_t batch_lines = 1024;
  app.add_option("LOG", files)->required();
  app.add_option("--threads", threads, "TBB worker threads");
  app.add_option("--tokens", tokens, "items in flight (TBB's max_number_of_live_tokens)");
  app.add_option("--batch", batch_lines, "lines per item")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  const tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  const std::vector<std::filesystem::path> logs(files.begin(), files.end());
  LineReader reader(logs);
  logpipe::Report report;
  const logpipe::LogFilter keep_everything;
  const auto start = std::chrono::steady_clock::now();
  try {
    tbb::parallel_pipeline(
        tokens,
        tbb::make_filter<void, LineBatch>(tbb::filter_mode::serial_in_order,
                                          [&](tbb::flow_control& control) {
                                            LineBatch batch = reader.next_batch(batch_lines);
                                            if (batch.lines == 0) control.stop();
                                            report.lines += batch.lines;
                                            return batch;
                                          }) &
            tbb::make_filter<LineBatch, RecordBatch>(tbb::filter_mode::parallel, &parse_batch) &
            tbb::make_filter<RecordBatch, void>(
                tbb::filter_mode::serial_out_of_order, [&](const RecordBatch& batch) {
                  report.malformed += batch.malformed;
                  for (const logpipe::LogRecord& record : batch.records) {
                    if (keep_everything.matches(record)) report.add(record);
                  }
                }));
  } catch (const std::exception& e) {
    std::cerr << "tbb_pipeline: " << e.what() << "\n";
    return 1;
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::cout << "{\"lines\": " << report.lines << ", \"records\": " << report.records
            << ", \"malformed\": " << report.malformed << ", \"seconds\": " << elapsed.count()
            << "}\n";
  return 0;
}
