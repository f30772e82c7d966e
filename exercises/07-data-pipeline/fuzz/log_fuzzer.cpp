// libFuzzer target: the course's log parser and JSON report on arbitrary bytes. Each input is
// one line of a log. parse_line must either return a record (a status from 100 to 599) or throw
// a LineError whose message starts with "FILE:LINE: "; nothing else may escape, crash or trip a
// sanitizer. The record and the line itself (as a dead letter) then go into report_json, whose
// output must parse back as JSON whatever bytes the line held (invalid UTF-8 included).
//
//   cmake --preset fuzz && cmake --build build/fuzz --target
//   07-data-pipeline_fuzz_log_fuzzer_solutions
//   build/fuzz/fuzz/07-data-pipeline/solutions/log_fuzzer -max_total_time=30 CORPUS_DIR
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "logpipe/log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path kFile("fuzz.log");
  const logpipe::Line line{&kFile, 7, std::string(reinterpret_cast<const char*>(data), size)};
  logpipe::Report report;
  ++report.lines;
  try {
    const logpipe::LogRecord record = logpipe::parse_line(line);
    if (record.status < 100 || record.status > 599) std::abort();
    report.add(record);
  } catch (const logpipe::LineError& error) {
    if (std::string(error.what()).rfind("fuzz.log:7: ", 0) != 0) std::abort();
    ++report.malformed;
  }
  const std::string json = logpipe::report_json(report, 10, std::vector<std::string>{line.text});
  if (!nlohmann::json::accept(json)) std::abort();
  return 0;
}
