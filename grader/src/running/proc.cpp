#include "running/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string_view>
#include <system_error>

namespace grader::proc {

namespace {

// The numeric field at `index` after the command name ("(name) state ppid pgrp ..."): index 0 is
// the state, 1 the parent, 2 the group, 17 the thread count (proc(5), counted from field 3).
template <typename Number>
std::optional<Number> field_after_name(std::string_view fields, int index) {
  std::size_t pos = 0;
  for (int i = 0; i <= index; ++i) {
    while (pos < fields.size() && fields[pos] == ' ') ++pos;
    const auto end = std::min(fields.find(' ', pos), fields.size());
    if (pos >= end) return std::nullopt;
    if (i == index) {
      Number value{};
      const auto [ptr, error] = std::from_chars(fields.data() + pos, fields.data() + end, value);
      if (error != std::errc{} || ptr != fields.data() + end) return std::nullopt;
      return value;
    }
    pos = end;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Process> read(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  struct stat st {};
  const bool owned = ::fstat(fd, &st) == 0;
  ::close(fd);
  if (n <= 0 || !owned) return std::nullopt;
  const std::string_view text(buf, static_cast<std::size_t>(n));
  // The command name may itself hold spaces and parentheses: the fields start after the last ')'.
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos || close_paren + 2 >= text.size()) return std::nullopt;
  const auto fields = text.substr(close_paren + 2);
  Process process;
  process.pid = pid;
  process.state = fields.front();
  process.owner = st.st_uid;
  const auto parent = field_after_name<pid_t>(fields, 1);
  const auto group = field_after_name<pid_t>(fields, 2);
  const auto threads = field_after_name<std::uint64_t>(fields, 17);
  if (!parent || !group) return std::nullopt;
  process.parent = *parent;
  process.group = *group;
  process.threads = threads.value_or(0);
  return process;
}

std::vector<Process> processes() {
  std::vector<Process> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    pid_t pid = 0;
    const auto [ptr, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc{} || ptr != name.data() + name.size() || pid <= 0) continue;
    if (auto process = read(pid)) out.push_back(*process);
  }
  ::closedir(dir);
  return out;
}

bool exists(pid_t pid) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path("/proc") / std::to_string(pid), ec);
}

int count_in_group(pid_t group) {
  int count = 0;
  for (const auto& process : processes()) count += process.group == group ? 1 : 0;
  return count;
}

std::uint64_t threads_of(uid_t owner) {
  std::uint64_t threads = 0;
  for (const auto& process : processes()) threads += process.owner == owner ? process.threads : 0;
  return threads;
}

std::optional<std::filesystem::path> executable(pid_t pid) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink(
      std::filesystem::path("/proc") / std::to_string(pid) / "exe", ec);
  if (ec) return std::nullopt;
  return exe;
}

}  // namespace grader::proc
