// Level 2: file names taken from URLs, made safe, and made unique.
#include <optional>
#include <set>

#include "downloader_internal.hpp"

namespace downloader {
namespace {

constexpr std::size_t kMaxExtensionBytes = 16;
constexpr std::string_view kFallbackName = "download";

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

std::optional<int> hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// "%XY" becomes the byte 0xXY; a '%' not followed by two hex digits stays as it is.
std::string percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const auto high = hex_value(text[i + 1]);
      const auto low = hex_value(text[i + 2]);
      if (high && low) {
        out += static_cast<char>(*high * 16 + *low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

bool is_safe_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Where the extension starts ('.' that is not the first character), or npos.
std::size_t extension_start(std::string_view name) {
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view::npos : dot;
}

std::string shortened(std::string name) {
  if (name.size() <= kMaxNameBytes) return name;
  const auto dot = extension_start(name);
  if (dot != std::string::npos && name.size() - dot <= kMaxExtensionBytes) {
    const std::string extension = name.substr(dot);
    return name.substr(0, kMaxNameBytes - extension.size()) + extension;
  }
  return name.substr(0, kMaxNameBytes);
}

// name, stem-1.ext, stem-2.ext, ...: the first not in `taken`.
std::string first_free(const std::string& name, const std::set<std::string, std::less<>>& taken) {
  if (!taken.contains(name)) return name;
  const auto dot = extension_start(name);
  const std::string stem = name.substr(0, dot);
  const std::string extension = dot == std::string::npos ? "" : name.substr(dot);
  for (std::size_t n = 1;; ++n) {
    std::string candidate = stem + "-" + std::to_string(n) + extension;
    if (!taken.contains(candidate)) return candidate;
  }
}

}  // namespace

std::string file_name_for(std::string_view url) {
  const std::string_view path = path_of(url);
  const std::string_view segment = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  // The mutant: decodes "%2F" into '/' and only strips leading slashes, so "..%2F..%2Fx" climbs
  // out of dest_dir.
  std::string name = percent_decoded(segment);
  for (char& c : name) {
    if (c != '/' && !is_safe_byte(c)) c = '_';
  }
  name.erase(0, name.find_first_not_of('/'));
  name = shortened(std::move(name));
  return name.empty() ? std::string(kFallbackName) : name;
}

std::vector<std::filesystem::path> plan_destinations(const std::vector<std::string>& urls,
                                                     const std::filesystem::path& dest_dir) {
  std::vector<std::filesystem::path> paths;
  paths.reserve(urls.size());
  std::set<std::string, std::less<>> taken;
  for (const std::string& url : urls) {
    std::string name = first_free(file_name_for(url), taken);
    paths.push_back(dest_dir / name);
    taken.insert(std::move(name));
  }
  return paths;
}

}  // namespace downloader
