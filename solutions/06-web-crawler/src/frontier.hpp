// The part of the crawler that every strategy shares: what to fetch next, what a fetch found, and
// when the crawl is over. None of it is thread-safe: a strategy with threads holds its own lock
// around every call, and the async strategy calls it from its one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "crawler/crawler.hpp"
#include "crawler/http.hpp"

namespace crawler::detail {

using Clock = std::chrono::steady_clock;

// One fetch to make: a page, or the robots.txt of a host.
struct Job {
  enum class Kind { page, robots };
  Kind kind = Kind::page;
  std::string url;   // canonical
  std::string host;  // host_of(url)
  int depth = 0;
  int redirects = 0;  // redirects followed to reach this URL
};

// What fetching a job gave, retries included.
struct Outcome {
  FetchResult last{};  // the last attempt
  int attempts = 0;
  std::chrono::milliseconds elapsed{0};
  // An HTML page's links, or why they could not be read (find_links). Parsing is part of the
  // work on a page, done where the fetch was: never under a strategy's lock, where it would
  // stall every other worker for as long as a big page takes.
  std::optional<std::vector<std::string>> links{};
  std::string parse_error{};
};

// Fills outcome.links (or parse_error) when the job is a page and its answer a 2xx HTML page.
void find_links(const Job& job, Outcome& outcome);

// Throws std::invalid_argument when an option is out of range.
void validate(const Options& options);

// The request for one attempt at a job.
FetchRequest request_for(const Job& job, const Options& options);

// Whether a failed attempt is worth another one, and how long to wait before retry number
// `retry` (1, 2, ...): the exponential back-off, or the server's Retry-After, capped.
bool should_retry(const FetchResult& attempt, int attempts_so_far, const RetryPolicy& policy);
std::chrono::milliseconds backoff_before(int retry, const FetchResult& failed,
                                         const RetryPolicy& policy);

// Fetches a job with retries, blocking the calling thread, then finds its links; a stop request
// ends the back-off and the fetch at once. For the sequential, threads and fair strategies.
Outcome fetch_with_retries(const Job& job, const Options& options, const std::stop_token& stop);

// The crawl's state: the seen set, the queue of jobs ready to start, the hosts, the records.
//
// Termination is a pending counter: every job is either ready (in the queue) or taken (a
// strategy is working on it) until complete() or cancel() accounts for it. A page that waits for
// its host's robots.txt is neither, but the robots.txt job that will release it is. So the crawl
// is over exactly when nothing is ready and nothing is taken: finished().
class Frontier {
 public:
  Frontier(const std::vector<std::string>& seeds, const Options& options);

  const Options& options() const { return options_; }

  bool has_ready() const { return !ready_.empty(); }
  bool finished() const { return ready_.empty() && taken_ == 0; }

  // The oldest ready job, now taken.
  Job take();
  // Every ready job, now taken (the fair scheduler keeps them in queues of its own).
  std::vector<Job> take_all();

  // Host slots and politeness. take_slot counts a fetch against its host (at most max_per_host
  // at once) and end_fetch gives the slot back. The politeness delay counts from the moment the
  // previous fetch from the host really started: may_start is that moment plus the host's delay,
  // and started() records a new one. So a fetch that starts late (its thread got no CPU, the
  // loop was busy) pushes the next one back, and no gap between two starts is ever shorter than
  // the delay. A strategy waits until may_start, checks it again after the wait (another fetch
  // may have started there meanwhile), and calls started() in the same step as that check.
  bool host_has_slot(const std::string& host) const;
  void take_slot(const std::string& host);
  Clock::time_point may_start(const std::string& host) const;
  void started(const std::string& host, Clock::time_point now);
  void end_fetch(const std::string& host);

  // A taken job is done: record it (a page), learn the host's rules (a robots.txt), and schedule
  // what it links to. Calls on_progress for a page.
  void complete(const Job& job, const Outcome& outcome);
  // A taken job that will not be fetched (the crawl is stopping): recorded as "cancelled".
  void cancel(const Job& job);
  // Records every ready job as cancelled (the crawl is stopping).
  void cancel_ready();

  CrawlResult result(std::chrono::milliseconds elapsed) &&;

 private:
  struct Host {
    enum class Robots { unknown, fetching, known };
    Robots robots = Robots::unknown;
    RobotsRules rules{};
    std::vector<Job> waiting_for_robots{};
    std::chrono::milliseconds delay{0};  // host_delay, or the robots.txt's longer Crawl-delay
    std::size_t fetching = 0;
    std::optional<Clock::time_point> last_start{};
  };
  // A link, or a redirect's target, found on a page: what schedule() is called with.
  struct Edge {
    std::string url;
    int depth = 0;
    int redirects = 0;
  };

  Host& host(const std::string& name);  // its state, made on first use
  void schedule(const std::string& url, int depth, int redirects);
  void admit(Job job);  // a new page that passed the checks: ready, waiting for robots, or refused
  void complete_robots(const Job& job, const Outcome& outcome);
  void complete_page(const Job& job, const Outcome& outcome);
  void follow_redirect(const Job& job, const FetchResult& answer, PageRecord& record,
                       std::vector<Edge>& edges);
  // Depth is the shortest link distance from a seed, whatever the schedule: a page's edges are
  // scheduled only once no page nearer the seeds is pending (scheduled and not recorded), since
  // such a page may still find the same links by a shorter path. Until then they wait in
  // deferred_. Fetches still overlap across depths: only the scheduling of links is in order.
  void expand(int depth, std::vector<Edge> edges);
  void release_deferred();
  void record(PageRecord record);
  void record_page(PageRecord record);  // a scheduled page's record: it is no longer pending

  Options options_;
  std::set<std::string> allowed_hosts_;
  std::set<std::string> seen_;  // every URL ever scheduled
  std::deque<Job> ready_;
  std::size_t taken_ = 0;
  std::size_t fetching_ = 0;
  std::size_t scheduled_pages_ = 0;
  std::map<int, std::size_t> pending_at_depth_;  // only depths with pages pending
  std::map<int, std::vector<Edge>> deferred_;    // by the depth of the pages they were found on
  std::map<std::string, Host> hosts_;
  std::vector<PageRecord> records_;
  Stats stats_{};
};

// The strategies (crawl.cpp, crawl_threads.cpp, crawl_async.cpp, crawl_fair.cpp): each runs the
// crawl to its end on the frontier.
void crawl_sequential(Frontier& frontier);
void crawl_threads(Frontier& frontier);
void crawl_async(Frontier& frontier);
void crawl_fair(Frontier& frontier);

}  // namespace crawler::detail
