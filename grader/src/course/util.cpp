#include "course/util.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "course/time_scale.hpp"

namespace grader {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    start = end + 1;
  }
  return lines;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string format_number(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string cap_lines(std::string_view text, std::size_t max_lines) {
  auto lines = split_lines(text);
  if (lines.size() <= max_lines) return std::string(text);
  const auto dropped = lines.size() - max_lines;
  lines.resize(max_lines);
  lines.push_back("... (" + std::to_string(dropped) + " more lines)");
  return join(lines, "\n");
}

std::string read_file(const fs::path& path) {
  auto content = try_read_file(path);
  if (!content) throw GraderError("cannot read " + path.string());
  return *content;
}

std::optional<std::string> try_read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, std::string_view content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw GraderError("cannot write " + path.string());
  }
  fs::rename(tmp, path);
}

bool files_equal(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (!fs::is_regular_file(a, ec) || !fs::is_regular_file(b, ec)) return false;
  if (fs::file_size(a, ec) != fs::file_size(b, ec) || ec) return false;
  return try_read_file(a) == try_read_file(b);
}

std::string display_path(const fs::path& path, const fs::path& base) {
  if (!is_inside(path, base)) return path.string();
  return fs::path(path)
      .lexically_normal()
      .lexically_relative(fs::path(base).lexically_normal())
      .string();
}

bool is_inside(const fs::path& path, const fs::path& dir) {
  const auto rel = fs::absolute(path).lexically_normal().lexically_relative(
      fs::absolute(dir).lexically_normal());
  if (rel.empty()) return false;
  const auto first = *rel.begin();
  return first != "..";
}

TempDir::TempDir(std::string_view prefix) {
  const auto base = fs::temp_directory_path();
  std::string pattern = (base / std::string(prefix)).string() + "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw GraderError("cannot create a temporary directory in " + base.string() + ": " +
                      std::strerror(errno));
  }
  path_ = buf.data();
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  // A test may leave read-only directories behind; make them writable first.
  for (auto it = fs::recursive_directory_iterator(path_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(path_, ec);
}

std::optional<std::string> get_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool stdout_is_tty() { return ::isatty(STDOUT_FILENO) == 1; }
bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

bool use_color() {
  const auto no_color = get_env("NO_COLOR");
  return stdout_is_tty() && (!no_color || no_color->empty());
}

bool werror_requested() { return get_env("CI") == "true" || get_env("COURSE_WERROR") == "1"; }

double base_time_scale() {
  // The kit's rule (course/time_scale.hpp), so that the grader and a test read one value alike.
  return course::time_scale_value(std::getenv("COURSE_TIME_SCALE")).value_or(1.0);
}

namespace {

std::atomic<bool> g_interrupted{false};
int g_interrupt_pipe[2] = {-1, -1};

extern "C" void on_interrupt(int /*signal*/) {
  g_interrupted.store(true);
  if (g_interrupt_pipe[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] auto n = ::write(g_interrupt_pipe[1], &byte, 1);
  }
}

}  // namespace

void install_interrupt_handlers() {
  if (g_interrupt_pipe[0] >= 0) return;
  if (::pipe2(g_interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw GraderError(std::string("pipe2: ") + std::strerror(errno));
  }
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() { return g_interrupted.load(); }

int interrupt_fd() { return g_interrupt_pipe[0]; }

bool wait_unless_interrupted(double seconds) {
  if (interrupted()) return false;
  pollfd pfd{interrupt_fd(), POLLIN, 0};
  const int ms = static_cast<int>(seconds * 1000.0);
  if (pfd.fd >= 0) {
    ::poll(&pfd, 1, ms);
  } else {
    ::poll(nullptr, 0, ms);
  }
  return !interrupted();
}

}  // namespace grader
