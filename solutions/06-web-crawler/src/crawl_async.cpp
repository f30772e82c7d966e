// Level 5: one thread, an Asio event loop, and a coroutine per page: the notes' asyncio crawler
// with its asyncio.Semaphore. A semaphore of L permits bounds the pages in flight, and one per
// host bounds each host; both suspend a coroutine, never the thread.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "crawler/http_async.hpp"
#include "frontier.hpp"

namespace crawler::detail {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

// asyncio.Semaphore for one thread. acquire() returns at once while permits are left; otherwise
// the coroutine waits in line, and release() hands the permit straight to the first in line
// (first come, first served: a newcomer cannot overtake a waiter). close() wakes every waiter
// with false.
class AsyncSemaphore {
 public:
  AsyncSemaphore(asio::any_io_executor executor, std::size_t permits)
      : executor_(std::move(executor)), permits_(permits) {}

  awaitable<bool> acquire() {
    if (closed_) co_return false;
    if (permits_ > 0) {
      --permits_;
      co_return true;
    }
    Waiter waiter{asio::steady_timer(executor_, asio::steady_timer::time_point::max())};
    line_.push_back(&waiter);
    co_await waiter.timer.async_wait(kNoThrow);  // ends when release() or close() cancels it
    co_return waiter.granted;
  }

  void release() {
    if (line_.empty()) {
      ++permits_;
      return;
    }
    Waiter* first = line_.front();
    line_.pop_front();
    first->granted = true;  // the permit goes to it directly
    first->timer.cancel();
  }

  void close() {
    closed_ = true;
    for (Waiter* waiter : line_) waiter->timer.cancel();
    line_.clear();
  }

 private:
  struct Waiter {
    asio::steady_timer timer;
    bool granted = false;
  };
  asio::any_io_executor executor_;
  std::size_t permits_;
  bool closed_ = false;
  std::deque<Waiter*> line_;  // each lives in its waiting coroutine's frame
};

class AsyncCrawl {
 public:
  explicit AsyncCrawl(Frontier& frontier)
      : frontier_(frontier),
        global_(io_.get_executor(), frontier.options().max_concurrency),
        changed_(io_, asio::steady_timer::time_point::max()) {}

  void run() {
    // A stop request can come from any thread: it is handled on the loop's thread.
    const std::stop_callback on_stop(frontier_.options().stop,
                                     [this] { asio::post(io_, [this] { stop(); }); });
    asio::co_spawn(io_, schedule(), rethrow);
    io_.run();  // returns once every coroutine has finished
    frontier_.cancel_ready();
  }

 private:
  static void rethrow(const std::exception_ptr& error) {
    if (error) std::rethrow_exception(error);
  }

  // Takes ready jobs and starts a coroutine for each, at most L at a time.
  awaitable<void> schedule() {
    while (true) {
      // (The result of co_await is stored before it is tested: g++ 12 miscompiles a co_await
      // inside a loop's condition.)
      const bool permitted = co_await global_.acquire();
      if (!permitted) break;
      while (!frontier_.has_ready() && !frontier_.finished() && !stopping_) {
        // Nothing to start yet: wait until a page finishes (it may add links).
        changed_.expires_at(asio::steady_timer::time_point::max());
        co_await changed_.async_wait(kNoThrow);
      }
      if (stopping_ || frontier_.finished()) break;
      asio::co_spawn(io_, run_job(frontier_.take()), rethrow);
    }
  }

  awaitable<void> run_job(Job job) {
    AsyncSemaphore& host_slots = slots_of(job.host);
    const bool permitted = co_await host_slots.acquire();
    if (permitted) {
      frontier_.take_slot(job.host);
      // Politeness. Another coroutine holding a slot of this host may start a fetch there while
      // this one sleeps, which moves the moment on: so it is checked again after every sleep.
      // Nothing else runs between the last check and started(): the loop has one thread.
      for (auto when = frontier_.may_start(job.host); Clock::now() < when && !stopping_;
           when = frontier_.may_start(job.host)) {
        co_await sleep_until(when);
      }
      frontier_.started(job.host, Clock::now());
      const Outcome outcome = co_await fetch_with_retries(job);
      frontier_.end_fetch(job.host);
      host_slots.release();
      frontier_.complete(job, outcome);
    } else {
      frontier_.cancel(job);
    }
    global_.release();
    changed_.cancel();  // wake schedule(): new jobs, or the end
  }

  awaitable<Outcome> fetch_with_retries(const Job& job) {
    const auto start = Clock::now();
    const FetchRequest request = request_for(job, frontier_.options());
    Outcome outcome;
    while (true) {
      outcome.last = co_await async_fetch(request, frontier_.options().stop);
      ++outcome.attempts;
      if (stopping_ || !should_retry(outcome.last, outcome.attempts, frontier_.options().retry)) {
        break;
      }
      const auto delay = backoff_before(outcome.attempts, outcome.last, frontier_.options().retry);
      co_await sleep_until(Clock::now() + delay);
      if (stopping_) break;
    }
    outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    // On the loop's one thread, like asyncio's: a page's parse is bounded (linear in its size).
    find_links(job, outcome);
    co_return outcome;
  }

  // asyncio.sleep, which stop() cuts short.
  awaitable<void> sleep_until(Clock::time_point when) {
    if (stopping_ || when <= Clock::now()) co_return;
    asio::steady_timer timer(io_, when);
    sleepers_.insert(&timer);
    co_await timer.async_wait(kNoThrow);
    sleepers_.erase(&timer);
  }

  AsyncSemaphore& slots_of(const std::string& host) {
    auto it = host_slots_.find(host);
    if (it == host_slots_.end()) {
      it = host_slots_
               .emplace(host, std::make_unique<AsyncSemaphore>(io_.get_executor(),
                                                               frontier_.options().max_per_host))
               .first;
    }
    return *it->second;
  }

  // On the loop's thread: wake everything that waits, so that every coroutine ends. Fetches in
  // flight end by themselves: async_fetch watches the same stop token.
  void stop() {
    stopping_ = true;
    global_.close();
    for (auto& [host, slots] : host_slots_) slots->close();
    for (asio::steady_timer* timer : sleepers_) timer->cancel();
    changed_.cancel();
  }

  Frontier& frontier_;
  asio::io_context io_;
  AsyncSemaphore global_;
  std::map<std::string, std::unique_ptr<AsyncSemaphore>> host_slots_;
  asio::steady_timer changed_;  // cancelled when a page finishes: schedule() waits on it
  std::set<asio::steady_timer*> sleepers_;
  bool stopping_ = false;
};

}  // namespace

void crawl_async(Frontier& frontier) { AsyncCrawl(frontier).run(); }

}  // namespace crawler::detail
