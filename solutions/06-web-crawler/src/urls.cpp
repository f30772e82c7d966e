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

// Browsers and Wget send the bytes a URL may not hold percent-encoded (RFC 3986 2.1 allows only
// some ASCII; the WHATWG URL standard encodes the rest): "/a b" is "/a%20b", "/é" is "/%C3%A9".
// Tabs and line breaks are removed, as the WHATWG standard does.
std::string encode_unsafe_bytes(std::string_view text) {
  static constexpr std::string_view kUnsafe = " \"<>\\^`{|}";
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string result;
  result.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (byte < 0x20 || byte >= 0x7f || kUnsafe.find(c) != std::string_view::npos) {
      result += '%';
      result += kHex[byte >> 4U];
      result += kHex[byte & 0x0fU];
    } else {
      result += c;
    }
  }
  return result;
}

// The canonical form of a parsed absolute URL (see canonical_url in the header).
std::string canonical_form(const boost::urls::url_view& url, std::string_view original) {
  const std::string scheme = lower(url.scheme());
  if (scheme != "http" && scheme != "https") throw UrlError("unsupported scheme: " + scheme);
  if (!url.has_authority() || url.encoded_host().empty()) {
    throw UrlError("malformed URL (no host): " + std::string(original));
  }
  // A host is letters, digits, '-', '.', or an IP literal: an escape there is a byte no host
  // name holds ("http://exa mple/" arrives here as "exa%20mple").
  if (url.encoded_host().find('%') != std::string_view::npos) {
    throw UrlError("malformed URL (bad host): " + std::string(original));
  }
  // After an authority the path is empty or starts with '/' (RFC 3986 3.3): "http://h:1:2/x"
  // is no URL (Boost reads it as host h, port 1, path ":2/x").
  if (!url.encoded_path().empty() && !url.encoded_path().starts_with('/')) {
    throw UrlError("malformed URL (bad host or port): " + std::string(original));
  }
  // Credentials ("user:password@") are dropped: they name no other page, and a record or a log
  // must not show them.
  std::string result = scheme + "://";
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
  const std::string encoded = encode_unsafe_bytes(text);
  const auto parsed = boost::urls::parse_uri(encoded);  // absolute: a scheme is required
  if (!parsed) throw UrlError("malformed URL: " + std::string(text));
  return canonical_form(*parsed, text);
}

// RFC 3986 5.2.2, on the encoded components. (boost::urls::resolve decodes "%2F" into '/' in the
// path, which names another page: "/a%2Fb" is one segment, "/a/b" two.) The dot segments are
// removed by canonical_form.
std::string resolve_url(std::string_view base, std::string_view reference) {
  const auto parsed_base = boost::urls::parse_uri(base);
  if (!parsed_base) throw UrlError("malformed URL: " + std::string(base));
  const std::string encoded = encode_unsafe_bytes(reference);
  const auto ref = boost::urls::parse_uri_reference(encoded);
  if (!ref) throw UrlError("malformed URL: " + std::string(reference));
  if (ref->has_scheme()) return canonical_url(encoded);

  std::string target = std::string(parsed_base->scheme()) + "://";
  std::string_view query = ref->encoded_query();
  bool has_query = ref->has_query();
  if (ref->has_authority()) {  // "//host/path": the base's scheme, everything else the reference's
    target += ref->encoded_authority();
    target += ref->encoded_path();
  } else {
    target += parsed_base->encoded_authority();
    const std::string_view base_path = parsed_base->encoded_path();
    const std::string_view path = ref->encoded_path();
    if (path.empty()) {  // "" or "?q": the base's path, and its query unless the reference has one
      target += base_path;
      if (!has_query) {
        has_query = parsed_base->has_query();
        query = parsed_base->encoded_query();
      }
    } else if (path.starts_with('/')) {
      target += path;
    } else {  // merge: the base's path up to its last '/', then the reference's
      const std::size_t slash = base_path.rfind('/');
      target +=
          slash == std::string_view::npos ? std::string_view("/") : base_path.substr(0, slash + 1);
      target += path;
    }
  }
  if (has_query) {
    target += '?';
    target += query;
  }
  if (ref->has_fragment()) {  // kept here, and dropped with every other rule by canonical_form
    target += '#';
    target += ref->encoded_fragment();
  }
  const auto resolved = boost::urls::parse_uri(target);
  if (!resolved) throw UrlError("malformed URL: " + std::string(reference));
  return canonical_form(*resolved, reference);
}

std::string host_of(std::string_view canonical) {
  const auto parsed = boost::urls::parse_uri(canonical);
  if (!parsed) throw UrlError("malformed URL: " + std::string(canonical));
  return std::string(parsed->encoded_host_and_port());
}

}  // namespace crawler
