// The industrial anchor of exercise 07's benchmark: oneTBB's parallel_pipeline running the same
// stage functions as analyse() (parse_line, LogFilter::matches, Report::add from the course's
// lib/log.cpp), with the same shape: a serial reader, a parallel parse stage, a serial filter
// and aggregate. Prints one JSON line: lines, records, seconds.
//
//   tbb_pipeline LOG... [--threads N] [--tokens T]
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

int main(int argc, char** argv) {
  CLI::App app{"tbb_pipeline: exercise 07's analysis on oneTBB's parallel_pipeline"};
  std::vector<std::string> files;
  std::size_t threads = 2;
  std::size_t tokens = 256;
  app.add_option("LOG", files)->required();
  app.add_option("--threads", threads, "TBB worker threads");
  app.add_option("--tokens", tokens, "items in flight (TBB's max_number_of_live_tokens)");
  CLI11_PARSE(app, argc, argv);

  const tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  const std::vector<std::filesystem::path> logs(files.begin(), files.end());
  logpipe::Report report;
  std::size_t file_index = 0;
  std::ifstream file;
  std::uint64_t number = 0;
  const auto start = std::chrono::steady_clock::now();
  try {
    tbb::parallel_pipeline(
        tokens, tbb::make_filter<void, logpipe::Line>(
                    tbb::filter_mode::serial_in_order,
                    [&](tbb::flow_control& control) -> logpipe::Line {
                      while (file_index < logs.size()) {
                        if (!file.is_open()) file = logpipe::open_log(logs[file_index]);
                        logpipe::Line line{&logs[file_index], number + 1, {}};
                        if (std::getline(file, line.text)) {
                          ++number;
                          ++report.lines;
                          return line;
                        }
                        file.close();
                        ++file_index;
                        number = 0;
                      }
                      control.stop();
                      return {};
                    }) &
                    tbb::make_filter<logpipe::Line, std::optional<logpipe::LogRecord>>(
                        tbb::filter_mode::parallel,
                        [](const logpipe::Line& line) -> std::optional<logpipe::LogRecord> {
                          try {
                            return logpipe::parse_line(line);
                          } catch (const logpipe::LineError&) {
                            return std::nullopt;
                          }
                        }) &
                    tbb::make_filter<std::optional<logpipe::LogRecord>, void>(
                        tbb::filter_mode::serial_out_of_order,
                        [&report](const std::optional<logpipe::LogRecord>& record) {
                          if (!record) {
                            ++report.malformed;
                          } else if (logpipe::LogFilter{}.matches(*record)) {
                            report.add(*record);
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
