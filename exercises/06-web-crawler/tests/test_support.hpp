// What the crawler's tests share: a synthetic web on 127.0.0.1, a crawl that runs on its own
// thread and always ends, and an oracle (a breadth-first search over the web's own graph, which
// the test knows, so it never relies on the student's URL code).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "course/background.hpp"
#include "course/http_test_server.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"
#include "crawler/crawler.hpp"

namespace crawler::testing {

using namespace std::chrono_literals;
using course::HttpTestServer;
using course::Route;
using std::chrono::milliseconds;

// The strategies that crawl concurrently, for tests that apply to each.
inline constexpr std::array<Strategy, 3> kConcurrentStrategies = {Strategy::threads,
                                                                  Strategy::async, Strategy::fair};

// A link as a page writes it (href) and the canonical URL it names (what the oracle follows);
// an empty target for an href that names no page ("mailto:...").
struct Link {
  std::string href;
  std::string target;
};

// A synthetic web: host i is an HttpTestServer on 127.0.0.1. Pages are HTML pages with links; the
// graph is also kept here, in canonical URLs, for the oracle.
class Web {
 public:
  explicit Web(std::size_t hosts = 1);

  HttpTestServer& server(std::size_t host) { return *servers_.at(host); }
  std::size_t hosts() const { return servers_.size(); }
  // "127.0.0.1:PORT", the crawler's name for the host (host_of).
  std::string host(std::size_t host) const;
  // "http://127.0.0.1:PORT/path": canonical when path is.
  std::string url(std::size_t host, std::string_view path) const;

  // An HTML page at `path` of host `host` whose links are the given canonical URLs, written as
  // they are. `route` sets anything else about the answer (latency, faults...).
  void page(std::size_t host, const std::string& path, const std::vector<std::string>& links,
            Route route = {});
  // The same with links spelled differently from their targets.
  void page_with(std::size_t host, const std::string& path, const std::vector<Link>& links,
                 Route route = {});
  // /robots.txt of the host, as text/plain.
  void robots(std::size_t host, const std::string& body);

  // The oracle: canonical URL -> depth of every page that a breadth-first search from the seeds
  // reaches within max_depth, following only links to the given hosts (host names as host()).
  std::map<std::string, int> reachable(const std::vector<std::string>& seeds, int max_depth,
                                       const std::set<std::string>& scope) const;
  // Every page that has been given a route, as canonical URLs.
  std::set<std::string> pages() const;
  // Requests the servers received for a canonical URL of this web (0 for an unknown one).
  std::size_t hits(const std::string& url) const;

 private:
  std::vector<std::unique_ptr<HttpTestServer>> servers_;
  std::map<std::string, std::vector<std::string>> graph_;  // canonical URL -> canonical links
};

// Options for tests: the strategy and L, short timeouts and back-offs, scaled for slow machines.
Options test_options(Strategy strategy, std::size_t limit = 4);

struct CrawlRun {
  CrawlResult result{};
  std::string exception{};  // "std::logic_error: ..." when crawl() threw
  std::chrono::nanoseconds wall{0};
  bool finished_in_time = true;
  milliseconds deadline{0};

  std::set<std::string> urls() const;  // of the records
  const PageRecord* find(const std::string& url) const;
};

// Runs crawl() on its own thread (course::Background), so that a test can watch the servers
// meanwhile and never hangs: if crawl() is still running at the deadline, the test requests a
// stop, then stops the servers (which releases every request they hold), and reports what it saw.
class BackgroundCrawl {
 public:
  BackgroundCrawl(Web& web, std::vector<std::string> seeds, Options options);
  BackgroundCrawl(const BackgroundCrawl&) = delete;
  BackgroundCrawl& operator=(const BackgroundCrawl&) = delete;
  ~BackgroundCrawl();

  void request_stop() { call_.request_stop(); }
  // Whether crawl() returned within `timeout` (scaled).
  bool wait_for(milliseconds timeout) { return call_.finished_within(timeout); }
  // Waits until crawl() returns, at most `deadline` (scaled); past it, stops everything.
  CrawlRun finish(milliseconds deadline);

 private:
  [[noreturn]] static void give_up();

  Web& web_;
  std::optional<CrawlRun> run_;
  course::Background<CrawlResult> call_;  // last: it starts after the rest exists
};

CrawlRun run_crawl(Web& web, const std::vector<std::string>& seeds, const Options& options,
                   milliseconds deadline = 20s);

// Waits until `predicate` holds, polling, at most `timeout` (scaled); gives up early when the
// crawl has returned (a skeleton throws at once).
bool wait_until(BackgroundCrawl& crawl, milliseconds timeout,
                const std::function<bool()>& predicate);

// ---- describing what happened ----

std::string describe(const PageRecord& page);
std::string describe(const std::vector<PageRecord>& pages);

// crawl() returned in time, without throwing.
::testing::AssertionResult completed(const CrawlRun& run);

// The records are exactly the expected pages (URL and depth), each page was requested exactly
// once, and no other page of the web was requested (robots.txt aside).
::testing::AssertionResult crawled_exactly(const Web& web, const CrawlRun& run,
                                           const std::map<std::string, int>& expected);

}  // namespace crawler::testing
