// Level 2: the links of a page (a real HTML parser, resolved like a browser resolves them) and
// robots.txt (RFC 9309).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler::testing {
namespace {

using Links = std::vector<std::string>;

TEST(Links, AnchorsInDocumentOrderResolvedAgainstThePage) {
  const std::string html = R"html(<!DOCTYPE html><html><head><title>t</title>
    <link rel="stylesheet" href="style.css"></head><body>
    <p><a href="b.html">B</a> and <A HREF='../c.html'>C</A></p>
    <div><a href="/d?x=1#part">D</a><a name="no-href">not a link</a></div>
    <a href="  e.html  ">spaces around</a>
    <a href="b.html">B again</a>
    <a href="HTTP://Other.TEST:80/f">F</a>
  </body></html>)html";
  const Links expected = {"http://h.test/dir/b.html", "http://h.test/c.html",
                          "http://h.test/d?x=1",      "http://h.test/dir/e.html",
                          "http://h.test/dir/b.html", "http://other.test/f"};
  EXPECT_EQ(extract_links(html, "http://h.test/dir/index.html"), expected)
      << "every <a href> in document order, repeats kept, each resolved against the page and "
         "made canonical; an <a> without href is not a link";
}

TEST(Links, BaseHrefChangesWhereLinksResolve) {
  const std::string html = R"html(<html><head><base href="http://cdn.test/assets/">
    <base href="http://ignored.test/"></head>
    <body><a href="x.html">x</a><a href="/y">y</a></body></html>)html";
  EXPECT_EQ(extract_links(html, "http://h.test/dir/page.html"),
            (Links{"http://cdn.test/assets/x.html", "http://cdn.test/y"}))
      << "the first <base href> is the URL that relative links resolve against";
  const std::string relative_base =
      R"html(<html><head><base href="../other/"></head><body><a href="z">z</a></body></html>)html";
  EXPECT_EQ(extract_links(relative_base, "http://h.test/dir/page.html"),
            (Links{"http://h.test/other/z"}))
      << "a relative <base href> resolves against the page first";
}

TEST(Links, OtherSchemesAreSkipped) {
  const std::string html = R"html(<body>
    <a href="mailto:me@h.test">mail</a><a href="javascript:void(0)">js</a>
    <a href="ftp://h.test/file">ftp</a><a href="tel:+34600000000">phone</a>
    <a href="http://[broken">broken</a><a href="kept.html">kept</a></body>)html";
  EXPECT_EQ(extract_links(html, "http://h.test/"), (Links{"http://h.test/kept.html"}))
      << "only links to http(s) pages are crawled";
}

TEST(Links, BrokenHtmlIsParsedLikeABrowserDoes) {
  // Paragraphs left open, attributes without quotes, a link inside a comment and one inside a
  // script, and entities in the href: what a real parser handles and a regular expression does not.
  const std::string html =
      "<html><body><p>one <a href=a.html>A</a><p>two <a href='b.html?x=1&amp;y=2'>B</a>"
      "<!-- <a href=\"commented.html\">no</a> -->"
      "<script>var s = '<a href=\"scripted.html\">no</a>';</script>"
      "<a href=\"c&#46;html\">C</a>";
  EXPECT_EQ(extract_links(html, "http://h.test/"),
            (Links{"http://h.test/a.html", "http://h.test/b.html?x=1&y=2", "http://h.test/c.html"}))
      << "use a real HTML parser: comments and scripts hold no links, entities are decoded";
}

// The tree of a page as deep as it is nested: 100 000 <div> overflow the stack of a recursive
// walk (the crash loses the whole crawl). The parser stops at kMaxHtmlDepth: HtmlError.
TEST(Links, DeeplyNestedPagesThrowHtmlErrorNotACrash) {
  const auto nested = [](int depth) {
    std::string html;
    for (int i = 0; i < depth; ++i) html += "<div>";
    return html + "<a href=\"/inside\">x</a>";
  };
  EXPECT_EQ(extract_links(nested(200), "http://h.test/"), (Links{"http://h.test/inside"}))
      << "200 nested elements are within kMaxHtmlDepth";
  // At the limit: html, body, 253 divs and the <a> make 256 elements, with or without the html
  // and body written out. One more div puts the <a> at 257, which libxml2 still parses.
  for (const std::string wrapper : {"", "<!DOCTYPE html><html><head></head><body>"}) {
    EXPECT_EQ(extract_links(wrapper + nested(253), "http://h.test/"),
              (Links{"http://h.test/inside"}))
        << "an <a> at depth 256 (html, body, 253 divs, then the <a>) is within kMaxHtmlDepth: "
           "only an element deeper than 256 makes the page too deep";
    try {
      extract_links(wrapper + nested(254), "http://h.test/");
      ADD_FAILURE() << "an <a> at depth 257 (html, body, 254 divs, then the <a>): extract_links "
                       "must throw HtmlError. libxml2 parses this page without an error, so count "
                       "each element's depth in your walk";
    } catch (const HtmlError& error) {
      EXPECT_EQ(std::string(error.what()), "page nested deeper than 256 elements");
    }
  }
  for (const int depth : {300, 100'000}) {
    try {
      extract_links(nested(depth), "http://h.test/");
      ADD_FAILURE() << depth << " nested elements: extract_links must throw HtmlError";
    } catch (const HtmlError& error) {
      EXPECT_EQ(std::string(error.what()), "page nested deeper than 256 elements");
    }
  }
}

// Unclosed formatting tags make an HTML5 tree builder's work grow with the square of the page
// (gumbo: 30 KB took 6 s and 790 MB). The time of a hostile page of 300 KB is compared with that
// of an ordinary page of the same size: a ratio, with a wide margin.
TEST(Links, HostilePagesTakeTimeInProportionToTheirSize) {
  std::string ordinary;
  while (ordinary.size() < 300'000) ordinary += "<p><a href=\"/p\">link</a> some text</p>\n";
  std::vector<std::string> hostile(3);
  for (int i = 0; hostile[0].size() < 300'000; ++i) {
    hostile[0] += "<div><b id=" + std::to_string(i) + "></div>";
    hostile[1] += "<table><i id=" + std::to_string(i) + ">";
    hostile[2] += "<p><a href=/p><b id=" + std::to_string(i) + "></p>";
  }
  const auto time_of = [](const std::string& html) {
    const auto start = std::chrono::steady_clock::now();
    try {
      extract_links(html, "http://h.test/");
    } catch (const HtmlError&) {
      // refused for its nesting: a bounded answer too
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double baseline = std::max(time_of(ordinary), 1e-3);
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    const double seconds = time_of(hostile[i]);
    EXPECT_LT(seconds, 50 * baseline + 0.5)
        << "hostile page " << i << " (300 KB) took " << seconds << " s, an ordinary page of the "
        << "same size " << baseline << " s: parse in time proportional to the page (libxml2's "
        << "HTML parser does; an HTML5 tree builder such as gumbo does not)";
  }
}

TEST(Links, PagesWithoutLinksGiveNone) {
  EXPECT_TRUE(extract_links("", "http://h.test/").empty());
  EXPECT_TRUE(extract_links("just text, no tags", "http://h.test/").empty());
  const char png[] = "\x89PNG\r\n\x1a\n\0\0binary";
  EXPECT_TRUE(extract_links(std::string(png, sizeof png - 1), "http://h.test/").empty());
}

TEST(Links, HtmlIsRecognisedByItsContentType) {
  for (const char* type : {"text/html", "text/html; charset=utf-8", "TEXT/HTML",
                           "application/xhtml+xml", " text/html ;charset=UTF-8"}) {
    EXPECT_TRUE(is_html(type)) << '"' << type << "\" is HTML";
  }
  for (const char* type : {"text/plain", "application/json", "image/png", "", "text/htmlx",
                           "application/octet-stream"}) {
    EXPECT_FALSE(is_html(type)) << '"' << type << "\" is not HTML";
  }
}

TEST(Robots, TheMostSpecificGroupApplies) {
  const std::string body =
      "# comment\n"
      "User-agent: *\n"
      "Disallow: /private\n"
      "\n"
      "User-agent: Course-Crawler\n"
      "User-agent: other-bot\n"
      "Disallow: /mine\n"
      "Crawl-delay: 1.5\n";
  const RobotsRules ours = RobotsRules::parse(body, "course-crawler/1.0");
  EXPECT_FALSE(ours.allows("/mine/page")) << "the group naming our product token applies";
  EXPECT_TRUE(ours.allows("/private/x")) << "and only it: the '*' group does not apply to us";
  EXPECT_EQ(ours.crawl_delay(), std::chrono::milliseconds(1500)) << "Crawl-delay is in seconds";
  const RobotsRules anyone = RobotsRules::parse(body, "someone-else/2.0");
  EXPECT_FALSE(anyone.allows("/private/x")) << "an agent without a group of its own gets '*'";
  EXPECT_TRUE(anyone.allows("/mine/page"));
  EXPECT_EQ(anyone.crawl_delay(), std::nullopt);
  EXPECT_TRUE(RobotsRules::parse("User-agent: other\nDisallow: /\n", "course-crawler/1.0")
                  .allows("/anything"))
      << "no group for us and no '*' group: everything is allowed";
}

TEST(Robots, LongestMatchWinsAndAllowWinsTies) {
  const RobotsRules rules = RobotsRules::parse(
      "User-agent: *\nDisallow: /shop\nAllow: /shop/public\nDisallow: /shop/public/secret\n"
      "Allow: /tie\nDisallow: /tie\nDisallow: \n",
      "course-crawler/1.0");
  EXPECT_FALSE(rules.allows("/shop/cart"));
  EXPECT_TRUE(rules.allows("/shop/public/page"));
  EXPECT_FALSE(rules.allows("/shop/public/secret/x"));
  EXPECT_TRUE(rules.allows("/tie/x")) << "Allow wins a tie between rules of the same length";
  EXPECT_TRUE(rules.allows("/other")) << "no rule matches: allowed (an empty Disallow is no rule)";
  EXPECT_TRUE(rules.allows("/")) << "an empty Disallow allows everything";
}

TEST(Robots, WildcardsAndEndAnchors) {
  const RobotsRules rules = RobotsRules::parse(
      "user-agent: *\ndisallow: /*.pdf$\ndisallow: /tmp*/cache\nallow: /tmp1/cache$\n"
      "disallow: /search?q=\n",
      "course-crawler/1.0");
  EXPECT_FALSE(rules.allows("/docs/a.pdf"));
  EXPECT_TRUE(rules.allows("/docs/a.pdf?download=1")) << "'$' anchors at the end of the path";
  EXPECT_FALSE(rules.allows("/tmp123/cache/x")) << "'*' matches any run of characters";
  EXPECT_TRUE(rules.allows("/tmp1/cache")) << "the longer Allow wins";
  EXPECT_FALSE(rules.allows("/search?q=cats")) << "the query is part of what is matched";
  EXPECT_TRUE(rules.allows("/search")) << "keys are case-insensitive; a prefix must match whole";
}

TEST(Robots, HostileFilesAreHandledQuickly) {
  // A pattern with many '*' against a long path: a backtracking matcher takes exponential time.
  std::string pattern = "/";
  for (int i = 0; i < 30; ++i) pattern += "*a";
  const RobotsRules rules =
      RobotsRules::parse("User-agent: *\nDisallow: " + pattern + "b\n", "course-crawler/1.0");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(rules.allows("/" + std::string(2000, 'a')));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5))
      << "matching must take time polynomial in the sizes of the pattern and the path";
  // Garbage lines, a missing colon, binary bytes: ignored, never a crash.
  std::string body = "\xff\xfe garbage\nDisallow /nocolon\nUser-agent *\n";
  body += '\0';
  body += "\nCrawl-delay: soon\n";
  const RobotsRules garbage = RobotsRules::parse(body, "course-crawler/1.0");
  EXPECT_TRUE(garbage.allows("/nocolon"));
  EXPECT_EQ(garbage.crawl_delay(), std::nullopt);
}

}  // namespace
}  // namespace crawler::testing
