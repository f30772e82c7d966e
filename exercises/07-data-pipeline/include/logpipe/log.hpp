// Exercise 07, given by the course: access logs in the Combined Log Format, the report computed
// from them, and a generator of deterministic logs. None of this is concurrent; it is the work the
// pipeline's stages do. Implemented in lib/log.cpp, compiled once per configuration.
//
// A line of the Combined Log Format (what nginx, Apache and the exercise 03 server write):
//
//   203.0.113.7 - alice [30/Nov/2026:20:33:15 +0100] "GET /index.html HTTP/1.1" 200 5120 "-"
//   "curl/8.0" host        ident user  time                     request                   status
//   bytes referer agent
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace logpipe {

// One line of a log file, as the read stage hands it on. `file` points at the path the caller
// passed in (it outlives the run); `number` counts from 1 within that file.
struct Line {
  const std::filesystem::path* file = nullptr;
  std::uint64_t number = 0;
  std::string text;
};

// A parsed line. `time` is in seconds since the Unix epoch, UTC (the line's offset applied);
// `bytes` is 0 when the log says "-".
struct LogRecord {
  std::string host;
  std::string user;
  std::int64_t time = 0;
  std::string method;
  std::string path;
  std::string protocol;
  int status = 0;
  std::uint64_t bytes = 0;
  std::string referer;
  std::string user_agent;

  bool operator==(const LogRecord&) const = default;
};

// A line that is not in the Combined Log Format. what() reads "FILE:LINE: REASON".
class LineError : public std::runtime_error {
 public:
  LineError(const Line& line, const std::string& reason);
  std::uint64_t line_number() const { return line_number_; }

 private:
  std::uint64_t line_number_;
};

// Parses one line; throws LineError if it is malformed (longer than kMaxLineBytes, missing
// fields, a bad date, a date that does not exist such as 30 Feb or 29 Feb 2023, a status outside
// 100..599, a size that is neither digits nor "-"). A CR at the end of the text is part of a CRLF
// line ending, not of the line. Quoted fields are read as Apache writes them: \" is a quote inside
// the field, \\ a backslash. The record's path is the request target's path: without its query
// ("/s?q=1" is "/s"), and an absolute-form target ("http://host/a") reduced to its path.
LogRecord parse_line(const Line& line);

// "2026-11-30T20:33Z" or "2026-11-30T20:33:15Z" -> Unix seconds; nullopt for anything else, a
// date that does not exist included (what `--from` and `--to` take).
std::optional<std::int64_t> parse_utc(std::string_view text);

// Which records the report counts. An empty filter keeps everything.
struct LogFilter {
  std::optional<int> status_class;   // 1..5: keep only 1xx..5xx
  std::optional<std::int64_t> from;  // keep time >= from (Unix seconds)
  std::optional<std::int64_t> to;    // keep time < to
  std::string path_prefix;           // keep paths that start with it

  bool matches(const LogRecord& record) const;
};

// Totals for one path.
struct PathTotals {
  std::uint64_t requests = 0;
  std::uint64_t bytes = 0;
  std::uint64_t client_errors = 0;  // 4xx
  std::uint64_t server_errors = 0;  // 5xx

  double error_rate() const;  // (4xx + 5xx) / requests; 0 for no requests
  bool operator==(const PathTotals&) const = default;
};

// What the pipeline computes. `lines` and `malformed` count every line read and every line that
// did not parse; the rest counts only the records the filter kept.
struct Report {
  std::uint64_t lines = 0;
  std::uint64_t malformed = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::array<std::uint64_t, 6> status_classes{};  // [1] = 1xx ... [5] = 5xx
  std::map<std::string, PathTotals> paths;
  std::map<std::int64_t, std::uint64_t> per_minute;  // minute start (Unix seconds) -> requests

  // Counts one kept record.
  void add(const LogRecord& record);
  // Adds another report's counts to this one (for partial reports built in parallel).
  void merge(const Report& other);
  bool operator==(const Report&) const = default;
};

// The n paths with the most requests, most first; ties by path, ascending.
std::vector<std::pair<std::string, PathTotals>> top_paths(const Report& report, std::size_t n);

// The report as JSON (pretty-printed): totals, status classes, the top `top_n` paths with their
// error rates, the per-minute histogram (keys "YYYY-MM-DDTHH:MMZ"), and `dead_letters` (each
// "FILE:LINE: REASON"; the command passes the first 100). Bytes that are not valid UTF-8 (a log
// may hold any) are written as U+FFFD, so the output is always valid JSON.
std::string report_json(const Report& report, std::size_t top_n,
                        const std::vector<std::string>& dead_letters = {});

// Writes `contents` to `path` the way every course command writes a file
// (course/output_file.hpp): a regular file or a new path atomically (a temporary file beside it,
// flushed, then renamed over it); a symbolic link followed, so the link stays a link and its
// target gets the report; a device or a FIFO (/dev/null, /dev/stdout, a named pipe) written in
// place, never replaced. A stop request ends the wait for a FIFO's reader. On failure it throws
// std::runtime_error (course::OutputError), removes the temporary file and leaves `path` as it
// was.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::stop_token stop = {});

// The oracle: the same report computed by one loop over the files, with no thread. Malformed lines
// are counted and skipped. Throws std::runtime_error if a file cannot be read.
Report analyse_sequentially(const std::vector<std::filesystem::path>& logs,
                            const LogFilter& filter);

// Opens a log for reading; throws std::runtime_error "cannot open FILE: REASON".
std::ifstream open_log(const std::filesystem::path& path);

// The longest line a log may hold. A longer one is a malformed line ("longer than 65536 bytes"),
// and a LogReader never holds more of it than this: memory stays bounded whatever the input.
inline constexpr std::size_t kMaxLineBytes = std::size_t{64} * 1024;

// Reads a log line by line as a long-running tool must (what the read stages use):
//  - a stop request ends every wait: for a FIFO's first writer, and for a writer that is slow to
//    write the next line; next() then returns nullopt, as at the end of the file;
//  - a line longer than kMaxLineBytes is returned cut to kMaxLineBytes + 1 bytes (the rest is
//    skipped), which parse_line refuses as too long;
//  - a regular file that shrinks below what was read (truncated, or rotated with copytruncate,
//    while it was read) is an error, not a short report.
// A last line without its '\n' is a line. Not thread-safe: one reader per file and thread.
class LogReader {
 public:
  // Throws std::runtime_error "cannot open FILE: REASON" (a FIFO does not count as unreadable
  // while it has no writer: next() waits for one).
  LogReader(const std::filesystem::path& path, std::stop_token stop = {});
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;
  ~LogReader();

  // The next line, without its '\n', valid until the next call; nullopt at the end of the file
  // or once a stop is requested. Waits (in poll steps of 50 ms) while a FIFO has nothing yet.
  // Throws std::runtime_error "cannot read FILE: REASON" and "FILE was truncated while it was
  // read".
  std::optional<std::string_view> next();

  // The same without ever waiting, for an event loop: Read::line (and `line`, valid until the
  // next call), Read::end, or Read::wait when a FIFO has nothing yet (try again later: the loop's
  // other work goes on meanwhile). It does not look at the stop token.
  enum class Read { line, end, wait };
  Read try_next(std::string_view& line);

 private:
  enum class Fill { more, end, wait };
  Fill read_some();  // reads once more into buffer_

  std::filesystem::path path_;
  std::stop_token stop_;
  int fd_ = -1;
  bool regular_ = false;
  bool fifo_ = false;
  std::uint64_t offset_ = 0;  // bytes read from the file so far
  std::string buffer_;        // bytes read and not yet handed out
  std::size_t start_ = 0;     // where the next line starts in buffer_
  std::string line_;          // the line handed out last
  bool skipping_ = false;     // dropping the rest of a line longer than kMaxLineBytes
};

// A deterministic access log: the same seed and size give the same bytes. About
// `malformed_share` of the lines are malformed (cut short, a bad date, a bad status, garbage);
// their line numbers (from 1) are returned. Times start at 2026-11-30 00:00:00 UTC and rise by
// 0..2 s a line, written with offsets of +0000, +0100 or -0500.
struct GeneratedLog {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
  std::vector<std::uint64_t> malformed_lines;
};
GeneratedLog generate_log(std::ostream& out, std::uint64_t seed, std::uint64_t lines,
                          double malformed_share = 0.01);
GeneratedLog generate_log_file(const std::filesystem::path& path, std::uint64_t seed,
                               std::uint64_t lines, double malformed_share = 0.01);

}  // namespace logpipe
