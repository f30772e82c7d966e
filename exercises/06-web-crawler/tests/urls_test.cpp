// Level 1: canonical URLs. Each spelling of a page must give one string, or the crawler fetches
// the page once per spelling.
#include <gtest/gtest.h>

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

TEST(Urls, HostIsTheAuthority) {
  EXPECT_EQ(host_of("http://site.test:8080/a"), "site.test:8080");
  EXPECT_EQ(host_of("http://site.test/a"), "site.test");
  EXPECT_EQ(host_of("http://127.0.0.1:5000/"), "127.0.0.1:5000");
}

}  // namespace
}  // namespace crawler::testing
