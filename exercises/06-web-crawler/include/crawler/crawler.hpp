// Exercise 06: a concurrent web crawler.
//
// This header belongs to the course: the tests, the `crawler` command and the benchmark are
// written against it, so keep it as it is. Your code goes in the files under src/.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace crawler {

using namespace std::chrono_literals;

// ---- Level 1: canonical URLs ----

// A URL that cannot be crawled, with the reason: "malformed URL: ...", "unsupported scheme: ...".
class UrlError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The canonical form of an absolute URL, so that every spelling of one page gives one string:
//  - the scheme and the host are lower-cased ("HTTP://Site.TEST/" becomes "http://site.test/");
//  - the scheme's default port is dropped (":80" for http, ":443" for https);
//  - an empty path becomes "/";
//  - "." and ".." segments are removed ("/a/./b/../c" becomes "/a/c"; ".." never climbs above
//    the root);
//  - percent-encoding is normalised: an escape of an unreserved character (a letter, a digit,
//    '-', '.', '_', '~') is decoded ("%7Euser" becomes "~user"), every other escape is written
//    with upper-case hex digits ("%2f" becomes "%2F");
//  - the fragment is dropped ("#section" names a part of the same page); the query is kept;
//  - credentials are dropped ("http://user:pw@h/" becomes "http://h/"): no record shows them;
//  - a byte a URL may not hold (a space, a control character, a non-ASCII byte, one of "<>\^`{|})
//    is percent-encoded, as browsers and Wget send it ("/a b/é" becomes "/a%20b/%C3%A9"); tabs
//    and line breaks are removed.
// Only http and https URLs are crawled. Throws UrlError for anything else: a relative or
// malformed URL ("http://h:1:2/x": a port is digits), or another scheme ("mailto:",
// "javascript:", "ftp://").
std::string canonical_url(std::string_view url);

// The canonical URL that `reference` (an href as written in a page) names, resolved against the
// absolute URL `base` (RFC 3986, section 5): "../b.html" against "http://h/x/a.html" gives
// "http://h/b.html". An escaped '/' stays escaped: "a%2Fb" is one segment. Throws UrlError as
// canonical_url does.
std::string resolve_url(std::string_view base, std::string_view reference);

// The authority of a canonical URL: the host, then ":port" when the port is not the default.
// "http://site.test:8080/a" gives "site.test:8080", "http://site.test/a" gives "site.test".
// This is what the crawler calls a host: per-host limits, politeness and robots.txt apply to it.
std::string host_of(std::string_view canonical);

// ---- Level 2: what a page links to, and what robots.txt allows ----

// Whether a Content-Type header names an HTML page: "text/html" or "application/xhtml+xml", in
// any case, with or without parameters ("text/html; charset=utf-8").
bool is_html(std::string_view content_type);

// The deepest nesting of elements a page may have. An element's depth counts the elements from
// <html> down to it, itself included, with the <html> and <body> the parser adds when a page
// leaves them out: in "<div><a href=x>", the <a> is at depth 4.
inline constexpr std::size_t kMaxHtmlDepth = 256;

// A page whose links cannot all be found: "page nested deeper than 256 elements".
class HtmlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The links of an HTML page, parsed with a real HTML parser: the href of every <a> element, in
// document order, resolved against the page's URL, or against the href of the first <base>
// element that has one. Each is returned in canonical form, repeats included. An href that does
// not resolve to an http(s) URL ("mailto:", "javascript:", malformed) is left out. Time and memory
// grow in proportion to the page, whatever it holds (unclosed tags, deep nesting); a page with an
// element deeper than kMaxHtmlDepth throws HtmlError (a crawl records that as the page's error).
std::vector<std::string> extract_links(std::string_view html, std::string_view page_url);

// The rules of one robots.txt for one user agent (RFC 9309).
class RobotsRules {
 public:
  RobotsRules() = default;  // allows everything

  // Parses a robots.txt body. The rules used are those of the group whose User-agent line
  // matches `user_agent`'s product token (the part before '/', compared case-insensitively),
  // else those of the group for '*', else none. Records of several groups with the same
  // user agent are merged. Unknown lines and lines without ':' are ignored; '#' starts a comment.
  static RobotsRules parse(std::string_view body, std::string_view user_agent);

  // Whether the path (with its query, e.g. "/a/b?x=1") may be fetched. The rule whose pattern
  // matches the longest prefix of the path wins; an Allow wins a tie with a Disallow; no matching
  // rule allows. Patterns may use '*' (any sequence) and end with '$' (the end of the path). An
  // empty Disallow allows everything.
  bool allows(std::string_view path) const;

  // The group's Crawl-delay, in seconds (fractions allowed), if it has one.
  std::optional<std::chrono::milliseconds> crawl_delay() const { return crawl_delay_; }

  struct Rule {
    std::string pattern;
    bool allow = false;
  };

 private:
  std::vector<Rule> rules_;
  std::optional<std::chrono::milliseconds> crawl_delay_;
};

// ---- Levels 3 to 6: the crawl ----

enum class Strategy {
  sequential,  // level 3 (given): one page after the other
  threads,     // level 4: L worker threads around a shared frontier
  async,       // level 5: one thread, up to L fetches in flight on an Asio event loop
  fair,        // level 6: threads with a per-host scheduler; a slow host never holds every slot
};

inline constexpr std::array<Strategy, 4> kAllStrategies = {Strategy::sequential, Strategy::threads,
                                                           Strategy::async, Strategy::fair};

// "sequential", "threads", "async", "fair": the names the command line uses.
constexpr std::string_view to_string(Strategy strategy) {
  switch (strategy) {
    case Strategy::sequential:
      return "sequential";
    case Strategy::threads:
      return "threads";
    case Strategy::async:
      return "async";
    case Strategy::fair:
      return "fair";
  }
  return "?";
}

constexpr std::optional<Strategy> parse_strategy(std::string_view name) {
  for (const Strategy strategy : kAllStrategies) {
    if (to_string(strategy) == name) return strategy;
  }
  return std::nullopt;
}

// A page is retried when its server answered 5xx or 429, or when the fetch failed for a transient
// network reason (connection refused or reset, a timeout, a body cut short). Other answers are
// final at once.
struct RetryPolicy {
  int max_retries = 2;  // retries after the first attempt, >= 0
  // Retry r (1, 2, ...) waits initial_backoff × 2^(r-1), at most max_backoff; a Retry-After
  // header (in seconds) replaces that delay, still at most max_backoff.
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
};

struct PageRecord;

struct Progress {
  std::size_t done = 0;       // pages recorded so far
  std::size_t queued = 0;     // pages scheduled and not started yet
  std::size_t in_flight = 0;  // fetches going on now (robots.txt included)
};

// Called after each page is recorded, never twice at once, from any thread the strategy uses.
using ProgressCallback = std::function<void(const Progress&)>;

struct Options {
  Strategy strategy = Strategy::threads;
  // L: the most fetches in flight at once (robots.txt included), >= 1. Sequential uses 1.
  std::size_t max_concurrency = 8;
  // The most fetches in flight at once to one host, >= 1.
  std::size_t max_per_host = 2;
  // Politeness: a fetch from a host starts at least this long after the previous one from the
  // same host started (really started: a late start pushes the next one back), with or without
  // obey_robots. A robots.txt Crawl-delay longer than this raises it for that host.
  std::chrono::milliseconds host_delay{0};
  // Per attempt, both > 0. The total timeout counts from the start of the attempt.
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};
  RetryPolicy retry{};
  // Seeds have depth 0; the links of a page at depth d have depth d + 1, and a page's depth is
  // its shortest link distance from a seed, whatever the order fetches end in. A link deeper
  // than max_depth is not scheduled. >= 0.
  int max_depth = 3;
  // At most this many pages are scheduled (seeds included); further new links are dropped. >= 1.
  std::size_t max_pages = 10'000;
  // A body longer than this is not read to its end: the page gets an error. >= 1.
  std::size_t max_body_bytes = std::size_t{8} << 20;
  // A chain of redirects longer than this ends with the error "too many redirects". >= 0.
  int max_redirects = 5;
  // The hosts (as host_of gives them: "site.test:8080") that may be crawled. Empty: the hosts of
  // the seeds. A link to any other host is off scope: never fetched, never recorded.
  std::vector<std::string> allowed_hosts{};
  // Fetch /robots.txt once per host, before any other page of that host, and obey it.
  bool obey_robots = true;
  std::string user_agent = "course-crawler/1.0";
  // Host names that bypass DNS, like curl's --resolve: {"site.test", "127.0.0.1"}.
  std::map<std::string, std::string> resolve{};
  ProgressCallback on_progress{};
  // Called with each record as it is made, before on_progress, never twice at once, from any
  // thread the strategy uses. (The `crawler` command writes each to its --out file at once.)
  std::function<void(const PageRecord&)> on_record{};
  // A stop request ends the crawl promptly: crawl() returns with no fetch in flight, every page
  // fetched so far recorded, and every thread joined.
  std::stop_token stop{};
};

// One record per scheduled page: fetched, failed, or refused by robots.txt.
struct PageRecord {
  std::string url{};        // canonical
  int depth = 0;            // the fewest links from a seed: 0 for a seed
  int status = 0;           // the HTTP status of the last answer, 0 when none came
  std::uint64_t bytes = 0;  // body bytes received in the last answer
  std::size_t links = 0;    // links found on the page (extract_links(...).size()); 1 for a redirect
  int attempts = 0;         // fetches tried (0 when none was: disallowed, cancelled, malformed)
  // From the start of the first attempt to the end of the last, back-off included.
  std::chrono::milliseconds elapsed{0};
  // Empty when the page was fetched (2xx, or a redirect that was followed); otherwise what went
  // wrong: "HTTP 404", "HTTP 503 after 3 attempts", "timed out after 500 ms", "connection
  // refused", "disallowed by robots.txt", "page larger than N bytes", "too many redirects",
  // "malformed URL: ...", "cancelled".
  std::string error{};

  bool ok() const { return error.empty(); }
};

struct Stats {
  std::size_t pages = 0;           // records
  std::size_t fetched = 0;         // records without an error
  std::size_t failed = 0;          // records with an error
  std::size_t robots_fetches = 0;  // robots.txt requests made
  std::size_t duplicates = 0;      // links to a URL already scheduled
  std::size_t off_scope = 0;       // links to a host outside the scope
  std::size_t too_deep = 0;        // links beyond max_depth
  std::size_t dropped = 0;         // new links dropped because max_pages were scheduled
  std::size_t peak_in_flight = 0;  // the most fetches in flight at once
  std::chrono::milliseconds elapsed{0};
};

struct CrawlResult {
  std::vector<PageRecord> pages{};  // in the order they were recorded
  Stats stats{};
};

// Crawls from the seeds and returns when no page is queued and none is in flight. A malformed seed
// gets a record with its error; the others are crawled.
// Throws std::invalid_argument for options out of range, std::logic_error for a strategy that is
// not implemented yet.
CrawlResult crawl(const std::vector<std::string>& seeds, const Options& options = {});

// ---- The command ----

// `crawler URL... [-j L] [--per-host N] [--depth D] [--delay MS] [--timeout MS]
//  [--strategy S] [--max-pages N] [--no-robots] [--resolve HOST=ADDRESS]...
//  [--allow-host HOST[:PORT]]... [--out pages.jsonl] [--quiet]` (args holds what follows the
// program's name). The scope is the seeds' hosts and every --allow-host.
// While it runs it keeps a progress line up to date on `err` ("12 done, 30 queued, 8 in
// flight"), unless --quiet; at the end it prints a summary line to `out` ("crawled 42 pages: 40
// fetched, 2 failed, in 1.3 s"). --out writes one JSON object per line and page, in the order
// they were recorded: url, depth, status, bytes, links, attempts, elapsed_ms, error (null when
// none). Each line is written as its page is recorded, to "<out>.part" next to it, and that file
// is renamed to <out> once the crawl is over: no reader sees half of <out>, and a crash or a kill
// leaves the pages recorded so far in "<out>.part". A file that cannot be written is reported
// before the crawl starts, and leaves no file. A stop request (Ctrl-C) ends the crawl and still
// writes the pages recorded so far.
// Returns 0 when the crawl ran to its end (some pages may have failed), 1 when a stop request
// ended it or --out could not be written, 2 for a usage error (with a message on `err`).
int run_command_line(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                     std::stop_token stop = {});

}  // namespace crawler
