// Exercise 07, given by the course: the Combined Log Format, the report and the generator.
#include "logpipe/log.hpp"

#include "course/output_file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <sstream>
#include <system_error>

namespace logpipe {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(std::int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

// 28 to 31: so that 30 Feb or 31 Apr is a bad date, not 1 or 2 March.
unsigned days_in_month(std::int64_t year, unsigned month) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays.at(month - 1);
}

struct Civil {
  std::int64_t year;
  unsigned month, day, hour, minute, second;
};

Civil civil_from_seconds(std::int64_t t) {
  std::int64_t days = t / 86400;
  std::int64_t rest = t % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return {y,
          m,
          d,
          static_cast<unsigned>(rest / 3600),
          static_cast<unsigned>(rest / 60 % 60),
          static_cast<unsigned>(rest % 60)};
}

template <class Int>
bool parse_int(std::string_view text, Int& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// "30/Nov/2026:20:33:15 +0100" -> Unix seconds (UTC).
std::optional<std::int64_t> parse_time(std::string_view t) {
  if (t.size() != 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' || t[14] != ':' ||
      t[17] != ':' || t[20] != ' ' || (t[21] != '+' && t[21] != '-')) {
    return std::nullopt;
  }
  unsigned day = 0;
  std::int64_t year = 0, hour = 0, minute = 0, second = 0, offset_h = 0, offset_m = 0;
  const auto month = std::find(kMonths.begin(), kMonths.end(), t.substr(3, 3));
  if (month == kMonths.end() || !parse_int(t.substr(0, 2), day) ||
      !parse_int(t.substr(7, 4), year) || !parse_int(t.substr(12, 2), hour) ||
      !parse_int(t.substr(15, 2), minute) || !parse_int(t.substr(18, 2), second) ||
      !parse_int(t.substr(22, 2), offset_h) || !parse_int(t.substr(24, 2), offset_m)) {
    return std::nullopt;
  }
  const auto m = static_cast<unsigned>(month - kMonths.begin()) + 1;
  if (day < 1 || day > days_in_month(year, m) || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60 || offset_h < 0 || offset_m < 0 || offset_m > 59) {
    return std::nullopt;
  }
  const std::int64_t offset = (offset_h * 3600 + offset_m * 60) * (t[21] == '-' ? -1 : 1);
  return days_from_civil(year, m, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

// A cursor over one line.
class Fields {
 public:
  explicit Fields(std::string_view text) : rest_(text) {}

  // A field up to the next space.
  std::optional<std::string_view> word() {
    if (rest_.empty()) return std::nullopt;
    const auto space = rest_.find(' ');
    const std::string_view field = rest_.substr(0, space);
    rest_ = space == std::string_view::npos ? std::string_view() : rest_.substr(space + 1);
    return field;
  }

  // A field between `open` and `close`, then a space or the end of the line.
  std::optional<std::string_view> enclosed(char open, char close) {
    if (rest_.size() < 2 || rest_.front() != open) return std::nullopt;
    const auto end = rest_.find(close, 1);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view field = rest_.substr(1, end - 1);
    rest_ = rest_.substr(end + 1);
    if (!rest_.empty()) {
      if (rest_.front() != ' ') return std::nullopt;
      rest_.remove_prefix(1);
    }
    return field;
  }

  // A field between double quotes, as Apache writes it: a quote inside is written \" and a
  // backslash \\ (other escapes, such as \xhh for a control byte, are kept as they are). The
  // field's text is a view of the line when it holds no escape, else of `storage`, unescaped.
  std::optional<std::string_view> quoted(std::string& storage) {
    if (rest_.size() < 2 || rest_.front() != '"') return std::nullopt;
    std::size_t end = 1;
    bool escaped = false;
    while (end < rest_.size() && rest_[end] != '"') {
      if (rest_[end] == '\\') {
        escaped = true;
        ++end;  // the escaped byte, a quote included, does not end the field
      }
      ++end;
    }
    if (end >= rest_.size()) return std::nullopt;
    std::string_view field = rest_.substr(1, end - 1);
    if (escaped) {
      storage.clear();
      for (std::size_t i = 0; i < field.size(); ++i) {
        const bool pair = field[i] == '\\' && i + 1 < field.size();
        if (pair && (field[i + 1] == '"' || field[i + 1] == '\\')) ++i;
        storage += field[i];
      }
      field = storage;
    }
    rest_ = rest_.substr(end + 1);
    if (!rest_.empty()) {
      if (rest_.front() != ' ') return std::nullopt;
      rest_.remove_prefix(1);
    }
    return field;
  }

  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::string minute_key(std::int64_t minute_start) {
  const Civil c = civil_from_seconds(minute_start);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02u:%02uZ",
                static_cast<long long>(c.year), c.month, c.day, c.hour, c.minute);
  return buffer;
}

}  // namespace

LineError::LineError(const Line& line, const std::string& reason)
    : std::runtime_error((line.file != nullptr ? line.file->string() : std::string("<input>")) +
                         ":" + std::to_string(line.number) + ": " + reason),
      line_number_(line.number) {}

namespace {

// The path of a request target (RFC 9112 3.2): its query is not part of it, and an absolute-form
// target ("http://host/a?b", sent to proxies) is reduced to its path.
std::string_view target_path(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    const std::size_t authority = target.find("://") + 3;
    const std::size_t path = target.find_first_of("/?", authority);
    target = path == std::string_view::npos || target[path] == '?' ? std::string_view("/")
                                                                   : target.substr(path);
  }
  return target.substr(0, target.find('?'));
}

}  // namespace

LogRecord parse_line(const Line& line) {
  if (line.text.size() > kMaxLineBytes) {
    throw LineError(line,
                    "malformed line: longer than " + std::to_string(kMaxLineBytes) + " bytes");
  }
  std::string_view text = line.text;
  if (text.ends_with('\r')) text.remove_suffix(1);  // CRLF: the CR belongs to the line's end
  Fields fields(text);
  std::string request_storage;
  std::string referer_storage;
  std::string agent_storage;
  LogRecord record;
  const auto fail = [&line](const std::string& reason) -> LogRecord {
    throw LineError(line, "malformed line: " + reason);
  };
  const auto host = fields.word();
  const auto ident = fields.word();
  const auto user = fields.word();
  if (!host || !ident || !user || host->empty()) return fail("expected HOST IDENT USER");
  const auto time = fields.enclosed('[', ']');
  if (!time) return fail("expected [TIME]");
  const auto seconds = parse_time(*time);
  if (!seconds) return fail("bad time '" + std::string(*time) + "'");
  const auto request = fields.quoted(request_storage);
  if (!request) return fail("expected \"REQUEST\"");
  Fields request_fields(*request);
  const auto method = request_fields.word();
  const auto path = request_fields.word();
  const auto protocol = request_fields.word();
  if (!method || !path || !protocol || !request_fields.at_end() || path->empty()) {
    return fail("expected \"METHOD PATH PROTOCOL\"");
  }
  const auto status = fields.word();
  if (!status || !parse_int(*status, record.status) || record.status < 100 || record.status > 599) {
    return fail("bad status");
  }
  const auto bytes = fields.word();
  if (!bytes || (*bytes != "-" && !parse_int(*bytes, record.bytes))) return fail("bad size");
  const auto referer = fields.quoted(referer_storage);
  const auto agent = fields.quoted(agent_storage);
  if (!referer || !agent || !fields.at_end()) return fail("expected \"REFERER\" \"USER-AGENT\"");
  record.host = *host;
  record.user = *user;
  record.time = *seconds;
  record.method = *method;
  record.path = target_path(*path);
  if (record.path.empty()) return fail("expected \"METHOD PATH PROTOCOL\"");
  record.protocol = *protocol;
  record.referer = *referer;
  record.user_agent = *agent;
  return record;
}

std::optional<std::int64_t> parse_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM[:SS]Z, every field its exact width.
  if ((text.size() != 17 && text.size() != 20) || text[4] != '-' || text[7] != '-' ||
      text[10] != 'T' || text[13] != ':' || text.back() != 'Z' ||
      (text.size() == 20 && text[16] != ':')) {
    return std::nullopt;
  }
  std::int64_t year = 0, hour = 0, minute = 0, second = 0;
  unsigned month = 0, day = 0;
  if (!parse_int(text.substr(0, 4), year) || !parse_int(text.substr(5, 2), month) ||
      !parse_int(text.substr(8, 2), day) || !parse_int(text.substr(11, 2), hour) ||
      !parse_int(text.substr(14, 2), minute) ||
      (text.size() == 20 && !parse_int(text.substr(17, 2), second))) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

bool LogFilter::matches(const LogRecord& record) const {
  if (status_class && record.status / 100 != *status_class) return false;
  if (from && record.time < *from) return false;
  if (to && record.time >= *to) return false;
  return record.path.starts_with(path_prefix);
}

double PathTotals::error_rate() const {
  return requests == 0
             ? 0.0
             : static_cast<double>(client_errors + server_errors) / static_cast<double>(requests);
}

void Report::add(const LogRecord& record) {
  ++records;
  bytes += record.bytes;
  const int status_class = record.status / 100;
  ++status_classes.at(static_cast<std::size_t>(status_class));
  PathTotals& totals = paths[record.path];
  ++totals.requests;
  totals.bytes += record.bytes;
  if (status_class == 4) ++totals.client_errors;
  if (status_class == 5) ++totals.server_errors;
  std::int64_t minute = record.time - record.time % 60;
  if (record.time % 60 < 0) minute -= 60;
  ++per_minute[minute];
}

void Report::merge(const Report& other) {
  lines += other.lines;
  malformed += other.malformed;
  records += other.records;
  bytes += other.bytes;
  for (std::size_t i = 0; i < status_classes.size(); ++i) {
    status_classes[i] += other.status_classes[i];
  }
  for (const auto& [path, theirs] : other.paths) {
    PathTotals& ours = paths[path];
    ours.requests += theirs.requests;
    ours.bytes += theirs.bytes;
    ours.client_errors += theirs.client_errors;
    ours.server_errors += theirs.server_errors;
  }
  for (const auto& [minute, count] : other.per_minute) per_minute[minute] += count;
}

std::vector<std::pair<std::string, PathTotals>> top_paths(const Report& report, std::size_t n) {
  std::vector<std::pair<std::string, PathTotals>> all(report.paths.begin(), report.paths.end());
  const auto by_requests = [](const auto& a, const auto& b) {
    return a.second.requests != b.second.requests ? a.second.requests > b.second.requests
                                                  : a.first < b.first;
  };
  const std::size_t count = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(count), all.end(),
                    by_requests);
  all.resize(count);
  return all;
}

std::string report_json(const Report& report, std::size_t top_n,
                        const std::vector<std::string>& dead_letters) {
  nlohmann::ordered_json json;
  json["lines"] = report.lines;
  json["malformed"] = report.malformed;
  json["records"] = report.records;
  json["bytes"] = report.bytes;
  nlohmann::ordered_json classes = nlohmann::ordered_json::object();
  for (std::size_t c = 1; c < report.status_classes.size(); ++c) {
    classes[std::to_string(c) + "xx"] = report.status_classes[c];
  }
  json["status_classes"] = classes;
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  for (const auto& [path, totals] : top_paths(report, top_n)) {
    top.push_back({{"path", path},
                   {"requests", totals.requests},
                   {"bytes", totals.bytes},
                   {"client_errors", totals.client_errors},
                   {"server_errors", totals.server_errors},
                   {"error_rate", totals.error_rate()}});
  }
  json["top_paths"] = top;
  // Appended in the map's (time) order: ordered_json's operator[] searches its keys one by one,
  // which made a log spanning weeks (tens of thousands of minutes) take seconds to write.
  nlohmann::ordered_json::object_t minutes;
  minutes.reserve(report.per_minute.size());
  for (const auto& [minute, count] : report.per_minute) {
    minutes.emplace_back(minute_key(minute), count);
  }
  json["per_minute"] = std::move(minutes);
  json["dead_letters"] = dead_letters;
  // A log may hold any bytes: invalid UTF-8 in a path or a dead letter becomes U+FFFD instead of
  // an exception that would lose the whole report.
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::stop_token stop) {
  course::write_output_file(path, contents, {.stop = std::move(stop)});
}

// Non-blocking: opening a FIFO must not wait for its writer here, where no stop is looked at.
LogReader::LogReader(const std::filesystem::path& path, std::stop_token stop)
    : path_(path),
      stop_(std::move(stop)),
      fd_(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
  if (fd_ < 0)
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat status {};
  if (::fstat(fd_, &status) != 0 || S_ISDIR(status.st_mode)) {
    const int error = S_ISDIR(status.st_mode) ? EISDIR : errno;
    ::close(fd_);
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(error));
  }
  regular_ = S_ISREG(status.st_mode);
  fifo_ = S_ISFIFO(status.st_mode);
}

LogReader::~LogReader() { ::close(fd_); }

LogReader::Read LogReader::try_next(std::string_view& line) {
  while (true) {
    if (skipping_) {  // the rest of a line too long to keep: dropped as it comes
      const std::size_t end = buffer_.find('\n', start_);
      if (end != std::string::npos) {
        start_ = end + 1;
        skipping_ = false;
        continue;
      }
      start_ = buffer_.size();
    } else {
      const std::size_t newline = buffer_.find('\n', start_);
      if (newline != std::string::npos) {
        line_.assign(buffer_, start_, newline - start_);
        start_ = newline + 1;
        line = line_;
        return Read::line;
      }
      if (buffer_.size() - start_ > kMaxLineBytes) {
        // Too long: one byte more than a line may hold, so that parse_line refuses it.
        line_.assign(buffer_, start_, kMaxLineBytes + 1);
        start_ = buffer_.size();
        skipping_ = true;
        line = line_;
        return Read::line;
      }
    }
    switch (read_some()) {
      case Fill::more:
        continue;
      case Fill::wait:
        return Read::wait;
      case Fill::end:
        if (skipping_ || start_ == buffer_.size()) return Read::end;
        line_.assign(buffer_, start_);  // a last line without its '\n'
        start_ = buffer_.size();
        line = line_;
        return Read::line;
    }
  }
}

std::optional<std::string_view> LogReader::next() {
  std::string_view line;
  while (!stop_.stop_requested()) {
    switch (try_next(line)) {
      case Read::line:
        return line;
      case Read::end:
        return std::nullopt;
      case Read::wait: {
        // Nothing yet: wait for the file to be readable, a little at a time, so that a stop
        // request is seen. (A FIFO with no writer yet is not readable until one writes.)
        pollfd ready{.fd = fd_, .events = POLLIN, .revents = 0};
        ::poll(&ready, 1, 50);
        break;
      }
    }
  }
  return std::nullopt;
}

LogReader::Fill LogReader::read_some() {
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  std::array<char, std::size_t{64} * 1024> chunk{};
  while (true) {
    const ssize_t got = ::read(fd_, chunk.data(), chunk.size());
    if (got > 0) {
      buffer_.append(chunk.data(), static_cast<std::size_t>(got));
      offset_ += static_cast<std::uint64_t>(got);
      return Fill::more;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return Fill::wait;  // a FIFO whose writer is slow, a terminal
    if (got < 0) {
      throw std::runtime_error("cannot read " + path_.string() + ": " + std::strerror(errno));
    }
    if (fifo_) {
      // A FIFO reads 0 before its first writer comes, and after its last writer has left: only
      // the second is the end, and only then does poll say POLLHUP.
      pollfd ready{.fd = fd_, .events = POLLIN, .revents = 0};
      const bool gone = ::poll(&ready, 1, 0) > 0 && (ready.revents & POLLHUP) != 0 &&
                        (ready.revents & POLLIN) == 0;
      return gone ? Fill::end : Fill::wait;
    }
    struct stat status {};
    if (regular_ && ::fstat(fd_, &status) == 0 &&
        static_cast<std::uint64_t>(status.st_size) < offset_) {
      throw std::runtime_error(path_.string() + " was truncated while it was read (" +
                               std::to_string(status.st_size) + " bytes left of the " +
                               std::to_string(offset_) + " read)");
    }
    return Fill::end;
  }
}

std::ifstream open_log(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  return file;
}

Report analyse_sequentially(const std::vector<std::filesystem::path>& logs,
                            const LogFilter& filter) {
  Report report;
  for (const auto& path : logs) {
    std::ifstream file = open_log(path);
    Line line{&path, 0, {}};
    while (std::getline(file, line.text)) {
      ++line.number;
      ++report.lines;
      try {
        const LogRecord record = parse_line(line);
        if (filter.matches(record)) report.add(record);
      } catch (const LineError&) {
        ++report.malformed;
      }
    }
    if (file.bad()) throw std::runtime_error("cannot read " + path.string());
  }
  return report;
}

namespace {

// The generator draws from its own integer mapping, not std::uniform_int_distribution, whose
// output differs between standard libraries: the same seed gives the same log everywhere.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t below(std::uint64_t n) { return engine_() % n; }
  template <class T, std::size_t N>
  const T& pick(const std::array<T, N>& choices) {
    return choices[below(N)];
  }

 private:
  std::mt19937_64 engine_;
};

constexpr std::array<std::string_view, 14> kPaths = {"/",
                                                     "/index.html",
                                                     "/about",
                                                     "/blog/",
                                                     "/blog/pipelines",
                                                     "/blog/queues",
                                                     "/api/v1/items",
                                                     "/api/v1/users",
                                                     "/api/v1/orders",
                                                     "/static/app.js",
                                                     "/static/site.css",
                                                     "/images/logo.png",
                                                     "/login",
                                                     "/search"};
constexpr std::array<std::string_view, 5> kMethods = {"GET", "GET", "GET", "POST", "HEAD"};
constexpr std::array<int, 12> kStatuses = {200, 200, 200, 200, 200, 304,
                                           301, 404, 404, 403, 500, 503};
constexpr std::array<std::string_view, 5> kAgents = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "curl/8.5.0", "Wget/1.21.3", "python-requests/2.31.0"};
constexpr std::array<std::string_view, 4> kReferers = {"-", "https://example.org/",
                                                       "https://search.example/?q=pipeline", "-"};
constexpr std::array<std::string_view, 4> kUsers = {"-", "-", "alice", "bob"};
constexpr std::array<int, 3> kOffsetsMinutes = {0, 60, -300};

std::string clf_time(std::int64_t utc, int offset_minutes) {
  const Civil c = civil_from_seconds(utc + std::int64_t{offset_minutes} * 60);
  const int magnitude = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%02u/%s/%04lld:%02u:%02u:%02u %c%02d%02d", c.day,
                std::string(kMonths.at(c.month - 1)).c_str(), static_cast<long long>(c.year),
                c.hour, c.minute, c.second, offset_minutes < 0 ? '-' : '+', magnitude / 60,
                magnitude % 60);
  return buffer;
}

std::string good_line(Draw& draw, std::int64_t utc) {
  std::ostringstream line;
  const int status = draw.pick(kStatuses);
  line << "198.51.100." << draw.below(250) + 1 << " - " << draw.pick(kUsers) << " ["
       << clf_time(utc, draw.pick(kOffsetsMinutes)) << "] \"" << draw.pick(kMethods) << ' '
       << draw.pick(kPaths) << " HTTP/1.1\" " << status << ' ';
  if (status == 304 || draw.below(20) == 0) {
    line << '-';
  } else {
    line << 200 + draw.below(20000);
  }
  line << " \"" << draw.pick(kReferers) << "\" \"" << draw.pick(kAgents) << '"';
  return line.str();
}

std::string malformed_line(Draw& draw, std::string good) {
  switch (draw.below(4)) {
    case 0:  // cut short, as by a full disk or a crashed writer
      return good.substr(0, 10 + draw.below(good.size() / 2));
    case 1: {  // a month that does not exist
      const auto slash = good.find('/');
      return good.replace(slash + 1, 3, "Foo");
    }
    case 2: {  // a status that is not a number
      const auto quote = good.find("\" ", good.find('"') + 1);
      return good.replace(quote + 2, 3, "2x0");
    }
    default:
      return "GET /index.html";  // not a log line at all
  }
}

}  // namespace

GeneratedLog generate_log(std::ostream& out, std::uint64_t seed, std::uint64_t lines,
                          double malformed_share) {
  Draw draw(seed);
  GeneratedLog log;
  std::int64_t utc = days_from_civil(2026, 11, 30) * 86400;
  const auto malformed_per_million = static_cast<std::uint64_t>(malformed_share * 1e6);
  for (std::uint64_t number = 1; number <= lines; ++number) {
    utc += static_cast<std::int64_t>(draw.below(3));
    std::string line = good_line(draw, utc);
    if (draw.below(1000000) < malformed_per_million) {
      line = malformed_line(draw, std::move(line));
      log.malformed_lines.push_back(number);
    }
    out << line << '\n';
    log.bytes += line.size() + 1;
  }
  log.lines = lines;
  return log;
}

GeneratedLog generate_log_file(const std::filesystem::path& path, std::uint64_t seed,
                               std::uint64_t lines, double malformed_share) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw std::runtime_error("cannot create " + path.string());
  GeneratedLog log = generate_log(file, seed, lines, malformed_share);
  file.flush();
  if (!file) throw std::runtime_error("cannot write " + path.string());
  return log;
}

}  // namespace logpipe
