// Level 2: file names taken from URLs, made safe, and made unique. Read ../README.md first.
//
// Given: the notes' rule for friendly URLs only. A name that would need sanitising, and two URLs
// that would get the same name, are refused with std::logic_error until you write this level.
#include <algorithm>
#include <set>
#include <stdexcept>

#include "downloader_internal.hpp"

namespace downloader {
namespace {

// The part between "scheme://host:port" and any '?' or '#'.
std::string_view path_of(std::string_view url) {
  std::string_view rest = url;
  if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    rest = url.substr(scheme_end + 3);
    const auto path_start = rest.find_first_of("/?#");
    if (path_start == std::string_view::npos) return {};
    rest = rest.substr(path_start);
  }
  return rest.substr(0, rest.find_first_of("?#"));
}

bool is_safe_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool is_friendly(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameBytes && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), is_safe_byte);
}

}  // namespace

std::string file_name_for(std::string_view url) {
  const std::string_view path = path_of(url);
  const std::string_view segment = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  if (!is_friendly(segment)) {
    throw std::logic_error("file_name_for(\"" + std::string(url) +
                           "\"): making this name safe is not implemented yet (level 2 of "
                           "01-downloader)");
  }
  return std::string(segment);
}

std::vector<std::filesystem::path> plan_destinations(const std::vector<std::string>& urls,
                                                     const std::filesystem::path& dest_dir) {
  std::vector<std::filesystem::path> paths;
  std::set<std::string, std::less<>> taken;
  for (const std::string& url : urls) {
    std::string name = file_name_for(url);
    if (taken.contains(name)) {
      throw std::logic_error("plan_destinations: two URLs are named \"" + name +
                             "\"; numbering them is not implemented yet (level 2 of "
                             "01-downloader)");
    }
    paths.push_back(dest_dir / name);
    taken.insert(std::move(name));
  }
  return paths;
}

}  // namespace downloader
