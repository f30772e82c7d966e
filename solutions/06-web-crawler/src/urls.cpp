// Level 1: canonical URLs. Boost.URL parses and resolves (RFC 3986); the normalisation of the
// path and the query is written here, one rule at a time, so each rule is visible.
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>
#include <string>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler {
namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes "%XX" escapes of unreserved characters and upper-cases the hex digits of the others
// ("%7e" -> "~", "%2f" -> "%2F"). Everything else is kept as it is.
std::string normalise_escapes(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int high = i + 2 < text.size() && text[i] == '%' ? hex_value(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(text[i + 2]) : -1;
    if (low < 0) {
      result += text[i];
      continue;
    }
    const char decoded = static_cast<char>(high * 16 + low);
    if (is_unreserved(decoded)) {
      result += decoded;
    } else {
      result += '%';
      result += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i + 1])));
      result += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i + 2])));
    }
    i += 2;
  }
  return result;
}

// RFC 3986 5.2.4 on an absolute path: "." segments go, ".." removes the segment before it and
// never climbs above the root. A path that ended in "." or ".." keeps its final '/'.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> kept;
  bool ends_with_slash = false;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    const bool last = end == path.size();
    if (segment == ".") {
      ends_with_slash = last;
    } else if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      ends_with_slash = last;
    } else {
      kept.push_back(segment);
      ends_with_slash = false;
    }
    start = end + 1;
  }
  std::string result;
  for (const std::string_view segment : kept) {
    result += '/';
    result += segment;
  }
  if (ends_with_slash || result.empty()) result += '/';
  return result;
}

bool is_default_port(std::string_view scheme, std::string_view port) {
  return port.empty() || (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
}

// The canonical form of a parsed absolute URL (see canonical_url in the header).
std::string canonical_form(const boost::urls::url_view& url, std::string_view original) {
  const std::string scheme = lower(url.scheme());
  if (scheme != "http" && scheme != "https") throw UrlError("unsupported scheme: " + scheme);
  if (!url.has_authority() || url.encoded_host().empty()) {
    throw UrlError("malformed URL (no host): " + std::string(original));
  }
  std::string result = scheme + "://";
  if (url.has_userinfo()) {
    result += url.encoded_userinfo();
    result += '@';
  }
  result += lower(normalise_escapes(url.encoded_host()));
  if (url.has_port() && !is_default_port(scheme, url.port())) {
    result += ':';
    result += url.port();
  }
  const std::string path = normalise_escapes(url.encoded_path());
  result += path.empty() ? std::string("/") : remove_dot_segments(path);
  if (url.has_query()) {
    result += '?';
    result += normalise_escapes(url.encoded_query());
  }
  return result;  // the fragment is dropped: it names a part of the same page
}

}  // namespace

std::string canonical_url(std::string_view text) {
  const auto parsed = boost::urls::parse_uri(text);  // absolute: a scheme is required
  if (!parsed) throw UrlError("malformed URL: " + std::string(text));
  return canonical_form(*parsed, text);
}

std::string resolve_url(std::string_view base, std::string_view reference) {
  const auto parsed_base = boost::urls::parse_uri(base);
  if (!parsed_base) throw UrlError("malformed URL: " + std::string(base));
  const auto parsed_reference = boost::urls::parse_uri_reference(reference);
  if (!parsed_reference) throw UrlError("malformed URL: " + std::string(reference));
  boost::urls::url resolved;
  if (!boost::urls::resolve(*parsed_base, *parsed_reference, resolved)) {
    throw UrlError("malformed URL: " + std::string(reference));
  }
  return canonical_form(resolved, reference);
}

std::string host_of(std::string_view canonical) {
  const auto parsed = boost::urls::parse_uri(canonical);
  if (!parsed) throw UrlError("malformed URL: " + std::string(canonical));
  return std::string(parsed->encoded_host_and_port());
}

}  // namespace crawler
