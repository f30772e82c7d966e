// Level 1: canonical URLs. Each spelling of a page must give one string, or the crawler fetches
// the page once per spelling.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler::testing {
namespace {

void expect_canonical(const std::vector<std::pair<std::string, std::string>>& cases,
                      const char* rule) {
  for (const auto& [input, expected] : cases) {
    try {
      EXPECT_EQ(canonical_url(input), expected) << "canonical_url(\"" << input << "\"): " << rule;
    } catch (const std::exception& error) {
      ADD_FAILURE() << "canonical_url(\"" << input << "\") threw \"" << error.what()
                    << "\"; it should give \"" << expected << "\" (" << rule << ")";
    }
  }
}

TEST(Urls, SchemeAndHostAreLowerCased) {
  expect_canonical({{"HTTP://Site.TEST/Path", "http://site.test/Path"},
                    {"hTTp://EXAMPLE.org:8080/A/B?Q=1", "http://example.org:8080/A/B?Q=1"}},
                   "the scheme and the host are case-insensitive, the path and query are not");
}

TEST(Urls, DefaultPortAndFragmentAreDropped) {
  expect_canonical({{"http://site.test:80/a", "http://site.test/a"},
                    {"https://site.test:443/a", "https://site.test/a"},
                    {"http://site.test:443/a", "http://site.test:443/a"},
                    {"http://site.test:8080/a#top", "http://site.test:8080/a"},
                    {"http://site.test/a?x=1#frag", "http://site.test/a?x=1"},
                    {"http://site.test", "http://site.test/"},
                    {"http://site.test#x", "http://site.test/"}},
                   "':80' is http's default port, ':443' https's; a fragment is part of the same "
                   "page; an empty path is '/'");
}

TEST(Urls, DotSegmentsAreRemoved) {
  expect_canonical({{"http://h.test/a/./b/../c", "http://h.test/a/c"},
                    {"http://h.test/a/b/../../c", "http://h.test/c"},
                    {"http://h.test/../../etc/passwd", "http://h.test/etc/passwd"},
                    {"http://h.test/a/b/..", "http://h.test/a/"},
                    {"http://h.test/./", "http://h.test/"}},
                   "RFC 3986 5.2.4: '.' and '..' segments are removed, never above the root");
}

TEST(Urls, PercentEncodingIsNormalised) {
  expect_canonical({{"http://h.test/%7Euser/", "http://h.test/~user/"},
                    {"http://h.test/a%2fb", "http://h.test/a%2Fb"},
                    {"http://h.test/%41%42c", "http://h.test/ABc"},
                    {"http://h.test/a%20b", "http://h.test/a%20b"},
                    {"http://h.test/x?q=%3d", "http://h.test/x?q=%3D"}},
                   "escapes of unreserved characters are decoded, the others get upper-case hex");
}

TEST(Urls, OtherSchemesAndMalformedUrlsAreRefused) {
  for (const std::string input :
       {"mailto:someone@site.test", "javascript:alert(1)", "ftp://site.test/file", "/relative/path",
        "page.html", "http://", "http://[bad/", "", "ht tp://x/"}) {
    EXPECT_THROW((void)canonical_url(input), UrlError)
        << "canonical_url(\"" << input << "\") should throw UrlError: only absolute http(s) "
        << "URLs with a host are crawled";
  }
  try {
    (void)canonical_url("mailto:someone@site.test");
  } catch (const UrlError& error) {
    EXPECT_NE(std::string(error.what()).find("mailto"), std::string::npos)
        << "the error should say which scheme was refused, got \"" << error.what() << "\"";
  }
}

TEST(Urls, ReferencesResolveAgainstTheirPage) {
  const std::string base = "http://h.test/dir/page.html?q=1";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"other.html", "http://h.test/dir/other.html"},
      {"../up.html", "http://h.test/up.html"},
      {"./sub/x", "http://h.test/dir/sub/x"},
      {"/root", "http://h.test/root"},
      {"?p=2", "http://h.test/dir/page.html?p=2"},
      {"#frag", "http://h.test/dir/page.html?q=1"},
      {"", "http://h.test/dir/page.html?q=1"},
      {"//Other.TEST:80/x", "http://other.test/x"},
      {"HTTP://Elsewhere.test/a/../b", "http://elsewhere.test/b"},
      {"../../../../too/far", "http://h.test/too/far"}};
  for (const auto& [reference, expected] : cases) {
    try {
      EXPECT_EQ(resolve_url(base, reference), expected)
          << "resolve_url(\"" << base << "\", \"" << reference << "\") (RFC 3986 5.2, then "
          << "canonical)";
    } catch (const std::exception& error) {
      ADD_FAILURE() << "resolve_url(\"" << base << "\", \"" << reference << "\") threw \""
                    << error.what() << "\"; expected \"" << expected << "\"";
    }
  }
  EXPECT_THROW((void)resolve_url(base, "mailto:x@h.test"), UrlError);
  EXPECT_THROW((void)resolve_url(base, "javascript:void(0)"), UrlError);
}

void expect_resolved(const std::string& base,
                     const std::vector<std::pair<std::string, std::string>>& cases,
                     const char* rule) {
  for (const auto& [reference, expected] : cases) {
    try {
      EXPECT_EQ(resolve_url(base, reference), expected)
          << "resolve_url(\"" << base << "\", \"" << reference << "\"): " << rule;
    } catch (const std::exception& error) {
      ADD_FAILURE() << "resolve_url(\"" << base << "\", \"" << reference << "\") threw \""
                    << error.what() << "\"; it should give \"" << expected << "\" (" << rule << ")";
    }
  }
}

void expect_refused(const std::vector<std::string>& urls, const char* rule) {
  for (const auto& url : urls) {
    EXPECT_THROW(canonical_url(url), UrlError) << "canonical_url(\"" << url << "\"): " << rule;
    EXPECT_THROW(resolve_url("http://h.test/d/p", url), UrlError)
        << "resolve_url(page, \"" << url << "\"): " << rule;
  }
}

// Boost.URL's resolve decodes "%2F" into '/': "/a%2Fb" is one segment, "/a/b" two pages away.
TEST(Urls, AnEscapedSlashStaysEscapedWhenResolved) {
  expect_resolved("http://h.test/d/page",
                  {{"a%2Fb", "http://h.test/d/a%2Fb"},
                   {"/x%2fy/z", "http://h.test/x%2Fy/z"},
                   {"../a%2F..%2Fb", "http://h.test/a%2F..%2Fb"},
                   {"?q=%2F", "http://h.test/d/page?q=%2F"}},
                  "an escaped '/' is data, not a separator: it stays escaped (upper-case hex)");
}

// Browsers and Wget percent-encode what a URL may not hold (RFC 3986 2.1).
TEST(Urls, UnsafeBytesArePercentEncoded) {
  expect_resolved("http://h.test/d/page",
                  {{"a b.html", "http://h.test/d/a%20b.html"},
                   {"/caf\xc3\xa9?q=\xc3\xa9", "http://h.test/caf%C3%A9?q=%C3%A9"},
                   {"/a\"b<c>", "http://h.test/a%22b%3Cc%3E"},
                   {"/x\ny\tz", "http://h.test/xyz"}},
                  "a space, a non-ASCII byte or \"<> is percent-encoded; tabs and newlines go");
  expect_canonical({{"http://h.test/a b", "http://h.test/a%20b"}}, "a seed is encoded the same");
}

TEST(Urls, CredentialsAreDropped) {
  expect_canonical({{"http://user:secret@h.test/x", "http://h.test/x"},
                    {"http://user@h.test:8080/", "http://h.test:8080/"}},
                   "credentials name no other page, and no record may show them");
  expect_resolved("http://h.test/", {{"//u:p@other.test/y", "http://other.test/y"}},
                  "credentials in a link are dropped too");
}

TEST(Urls, BadHostsAndPortsAreRefused) {
  expect_refused({"http://h:1:2/x", "http://h.test:8o/", "http://exa mple/", "http://h\xc3\xa9 x/"},
                 "a port is digits, a host has no space: the URL is malformed, not another URL");
}

TEST(Urls, HostIsTheAuthority) {
  EXPECT_EQ(host_of("http://site.test:8080/a"), "site.test:8080");
  EXPECT_EQ(host_of("http://site.test/a"), "site.test");
  EXPECT_EQ(host_of("http://127.0.0.1:5000/"), "127.0.0.1:5000");
}

}  // namespace
}  // namespace crawler::testing
