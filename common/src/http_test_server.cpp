// The only translation unit of the kit that includes cpp-httplib, so that tests including
// http_test_server.hpp compile fast.
#include "course/http_test_server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "course/net.hpp"
#include "course/time_scale.hpp"

namespace course {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// cpp-httplib 0.11 keeps its listening socket protected and listens with a backlog of 5.
class ListeningServer final : public httplib::Server {
 public:
  int listening_socket() const { return svr_sock_; }
};

// The server's threads carry a name of their own, so that a test counting the threads of the code
// under test (/proc/self/task/*/comm) can leave them out.
void name_this_thread() {
  pthread_setname_np(pthread_self(), std::string(course::kServerThreadName).c_str());
}

// cpp-httplib's own pool has a compiled-in size (8 threads). This one starts a thread only when
// a connection finds every thread busy, up to a cap, so a quick test costs a few threads and a
// test that holds hundreds of slow requests gets hundreds.
class GrowingThreadPool final : public httplib::TaskQueue {
 public:
  explicit GrowingThreadPool(std::size_t max_threads)
      : max_threads_(std::max<std::size_t>(1, max_threads)) {}

  void enqueue(std::function<void()> job) override {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (jobs_.size() > idle_ && workers_.size() < max_threads_) {
      workers_.emplace_back([this] {
        name_this_thread();
        work();
      });
    } else {
      job_ready_.notify_one();
    }
  }

  // Runs the queued jobs to the end, then joins every thread.
  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      shutting_down_ = true;
    }
    job_ready_.notify_all();
    for (std::jthread& worker : workers_) worker.join();
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      job_ready_.wait(lock, [this] { return !jobs_.empty() || shutting_down_; });
      --idle_;
      if (jobs_.empty()) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::jthread> workers_;
  std::size_t idle_ = 0;
  bool shutting_down_ = false;
};

std::string html_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string links_page(const Route& route) {
  std::string page = "<!DOCTYPE html>\n<html><head><title>" + html_escape(route.path) +
                     "</title></head>\n<body>\n";
  for (const std::string& link : route.links) {
    page += "<p><a href=\"" + html_escape(link) + "\">" + html_escape(link) + "</a></p>\n";
  }
  return page + "</body></html>\n";
}

std::string body_of(const Route& route) {
  if (!route.links.empty()) return links_page(route);
  if (route.body_size) return deterministic_bytes(route.path, *route.body_size);
  return route.body;
}

std::string content_type_of(const Route& route) {
  const bool default_type = route.content_type == Route{}.content_type;
  if (!route.links.empty() && default_type) return "text/html; charset=utf-8";
  return route.content_type;
}

// A route as the handlers use it: immutable, with its body computed once.
struct RouteEntry {
  Route route;
  std::string content_type;
  std::shared_ptr<const std::string> body;
};

struct PathStats {
  std::size_t hits = 0;
  std::vector<SteadyTime> arrivals;
};

enum class BodyMode { whole, half_then_close, trickle };

// start() requests this path once, unseen by counters and trace; see warm_up().
constexpr std::string_view kWarmUpPath = "/.course-kit-warm-up";

}  // namespace

struct HttpTestServer::Impl {
  // One request from arrival until its response is about to be complete: it keeps the request
  // in the in-flight count and its task open. Handlers hand it to the body's content provider,
  // which ends it just before writing the last bytes: a client that has the whole answer must
  // never see its request still in flight, or a sequential client would show two at once.
  // Used by one thread at a time (the handler, then the provider on the same thread).
  struct Exchange {
    Exchange(Impl& owner, TaskScope task) : owner(owner), task(std::move(task)) {}
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;
    ~Exchange() { end(); }
    void end() {
      if (ended) return;
      ended = true;
      task.finish();
      owner.leave();
    }
    Impl& owner;
    TaskScope task;
    bool ended = false;
  };
  using ExchangePtr = std::shared_ptr<Exchange>;

  struct Admission {
    std::size_t hit = 0;  // this request's number among its path's requests, from 1
    std::shared_ptr<const RouteEntry> entry;
  };

  struct Meeting {
    enum class Outcome { formed, timed_out, stopped } outcome = Outcome::formed;
    std::size_t most_together = 0;
    std::chrono::nanoseconds waited{0};
  };

  explicit Impl(Options options) : options(options) {}

  // ---- lifecycle ----
  void start();
  void stop();
  void configure();
  void wait_until_accepting();
  void warm_up() const;

  // ---- request handling ----
  void handle(const httplib::Request& request, httplib::Response& response);
  void respond(const std::string& path, const Admission& admission, const ExchangePtr& exchange,
               httplib::Response& response);
  Admission admit(const std::string& path);
  void leave();
  Meeting meet_rendezvous();
  bool pause(std::chrono::nanoseconds delay);  // false if the server stops first
  void wait_for_stop();
  void reply(httplib::Response& response, const ExchangePtr& exchange, int status,
             std::string body);
  void reply_failure(httplib::Response& response, const ExchangePtr& exchange, const Route& route,
                     std::size_t hit);
  void reply_rendezvous_failure(httplib::Response& response, const ExchangePtr& exchange,
                                const Meeting& meeting);
  void send_body(httplib::Response& response, const ExchangePtr& exchange,
                 const std::shared_ptr<const std::string>& body, const std::string& content_type,
                 BodyMode mode, Trickle trickle = {});

  const Options options;
  ListeningServer server;
  std::jthread listener;
  std::uint16_t port = 0;

  std::mutex lifecycle_mutex;  // start() and stop()
  bool started = false;

  std::mutex readiness_mutex;  // the two flags below
  std::condition_variable readiness_changed;
  bool accepting = false;
  bool listener_done = false;

  mutable std::mutex mutex;  // everything below
  bool stopping = false;
  std::condition_variable stop_requested;
  mutable std::condition_variable counters_changed;
  std::condition_variable rendezvous_changed;

  std::map<std::string, std::shared_ptr<const RouteEntry>, std::less<>> routes;
  std::map<std::string, PathStats, std::less<>> stats;
  std::size_t total = 0;
  std::size_t in_flight = 0;
  std::size_t peak = 0;

  std::size_t rendezvous_size = 1;
  std::chrono::nanoseconds rendezvous_timeout{0};
  std::uint64_t rendezvous_generation = 0;
  std::size_t rendezvous_waiting = 0;
  std::size_t rendezvous_most_waiting = 0;

  Trace trace;
};

// ---- lifecycle ----

void HttpTestServer::Impl::configure() {
  server.new_task_queue = [this] {
    // cpp-httplib asks for its task queue right after it starts accepting; this version has no
    // other readiness signal.
    {
      std::lock_guard lock(readiness_mutex);
      accepting = true;
    }
    readiness_changed.notify_all();
    return new GrowingThreadPool(options.threads);
  };
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
  // delayed ACKs hold small bodies and trickled chunks back by tens of milliseconds.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_timeout(options.keep_alive_timeout.count());
  // Plain patterns without capture groups, then dispatch by exact path here: TSan reports a race
  // inside the library for patterns with captures.
  const httplib::Server::Handler handler = [this](const httplib::Request& request,
                                                  httplib::Response& response) {
    handle(request, response);
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);
}

void HttpTestServer::Impl::start() {
  std::lock_guard lifecycle(lifecycle_mutex);
  if (started) throw std::logic_error("HttpTestServer::start: a server starts only once");
  started = true;
  configure();
  const int bound = server.bind_to_any_port(kLoopback);
  if (bound <= 0) throw std::runtime_error("HttpTestServer: cannot bind 127.0.0.1:0");
  port = static_cast<std::uint16_t>(bound);
  // cpp-httplib listens with a backlog of 5: a burst of connections then loses SYNs and those
  // clients retry after 1, 3, 7... seconds. Listening again only raises the backlog.
  ::listen(server.listening_socket(), SOMAXCONN);
  listener = std::jthread([this] {
    name_this_thread();
    server.listen_after_bind();
    {
      std::lock_guard lock(readiness_mutex);
      listener_done = true;
    }
    readiness_changed.notify_all();
  });
  wait_until_accepting();
  warm_up();
}

void HttpTestServer::Impl::warm_up() const {
  // cpp-httplib initialises function-local statics on first use. The library is not built with
  // TSan, so TSan cannot see the guard that orders those initialisations, and reports a race when
  // the first requests arrive together. One request made before any test traffic initialises
  // them, on both the server and the client side.
  httplib::Client client(kLoopback, port);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(std::chrono::seconds(10));
  client.Get(std::string(kWarmUpPath));
}

void HttpTestServer::Impl::wait_until_accepting() {
  std::unique_lock lock(readiness_mutex);
  readiness_changed.wait(lock, [this] { return accepting || listener_done; });
  if (!accepting) throw std::runtime_error("HttpTestServer: the server stopped while starting");
  // The library's stop() does nothing until its running flag is set, which happens around the
  // time it asks for the task queue: wait out that instant rather than lose a stop().
  while (!server.is_running() && !listener_done) {
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
  }
}

void HttpTestServer::Impl::stop() {
  std::lock_guard lifecycle(lifecycle_mutex);
  {
    std::lock_guard lock(mutex);
    if (stopping) return;
    stopping = true;
  }
  stop_requested.notify_all();
  rendezvous_changed.notify_all();
  counters_changed.notify_all();
  if (!listener.joinable()) return;
  server.stop();
  listener.join();
}

// ---- request handling ----

HttpTestServer::Impl::Admission HttpTestServer::Impl::admit(const std::string& path) {
  const SteadyTime arrival = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex);
  PathStats& path_stats = stats[path];
  ++path_stats.hits;
  path_stats.arrivals.push_back(arrival);
  ++total;
  ++in_flight;
  peak = std::max(peak, in_flight);
  counters_changed.notify_all();
  const auto route = routes.find(path);
  return {path_stats.hits, route == routes.end() ? nullptr : route->second};
}

void HttpTestServer::Impl::leave() {
  std::lock_guard lock(mutex);
  --in_flight;
  counters_changed.notify_all();
}

HttpTestServer::Impl::Meeting HttpTestServer::Impl::meet_rendezvous() {
  std::unique_lock lock(mutex);
  if (rendezvous_size <= 1) return {};
  const std::uint64_t generation = rendezvous_generation;
  ++rendezvous_waiting;
  rendezvous_most_waiting = std::max(rendezvous_most_waiting, rendezvous_waiting);
  if (rendezvous_waiting >= rendezvous_size) {
    // This request completes the group: release it and start the next one.
    ++rendezvous_generation;
    rendezvous_waiting = 0;
    rendezvous_most_waiting = 0;
    rendezvous_changed.notify_all();
    return {};
  }
  const SteadyTime arrival = std::chrono::steady_clock::now();
  rendezvous_changed.wait_until(lock, arrival + rendezvous_timeout,
                                [&] { return rendezvous_generation != generation || stopping; });
  if (rendezvous_generation != generation) return {};
  Meeting meeting;
  meeting.outcome = stopping ? Meeting::Outcome::stopped : Meeting::Outcome::timed_out;
  meeting.most_together = rendezvous_most_waiting;
  meeting.waited = std::chrono::steady_clock::now() - arrival;
  if (--rendezvous_waiting == 0) rendezvous_most_waiting = 0;
  return meeting;
}

bool HttpTestServer::Impl::pause(std::chrono::nanoseconds delay) {
  std::unique_lock lock(mutex);
  return !stop_requested.wait_for(lock, delay, [this] { return stopping; });
}

void HttpTestServer::Impl::wait_for_stop() {
  std::unique_lock lock(mutex);
  stop_requested.wait(lock, [this] { return stopping; });
}

void HttpTestServer::Impl::send_body(httplib::Response& response, const ExchangePtr& exchange,
                                     const std::shared_ptr<const std::string>& body,
                                     const std::string& content_type, BodyMode mode,
                                     Trickle trickle) {
  if (body->empty()) {
    // cpp-httplib takes no content provider for an empty body; the exchange then ends as the
    // handler returns, just before the headers are written.
    response.set_content("", content_type);
    return;
  }
  const std::size_t size = body->size();
  httplib::ContentProvider provider;
  switch (mode) {
    case BodyMode::whole:
      provider = [body, exchange](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        if (offset + length >= body->size()) exchange->end();
        return sink.write(body->data() + offset, length);
      };
      break;
    case BodyMode::half_then_close:
      // Returning false makes cpp-httplib close the connection, short of Content-Length.
      provider = [body, exchange](std::size_t offset, std::size_t, httplib::DataSink& sink) {
        const std::size_t half = body->size() / 2;
        exchange->end();
        if (offset < half) sink.write(body->data() + offset, half - offset);
        return false;
      };
      break;
    case BodyMode::trickle:
      provider = [this, body, exchange, trickle](std::size_t offset, std::size_t length,
                                                 httplib::DataSink& sink) {
        exchange->task.wait();
        const bool still_running = pause(scaled(trickle.interval));
        exchange->task.exec();
        if (!still_running) return false;
        const std::size_t chunk = std::min(length, std::max<std::size_t>(1, trickle.chunk_bytes));
        if (offset + chunk >= body->size()) exchange->end();
        return sink.write(body->data() + offset, chunk);
      };
      break;
  }
  response.set_content_provider(size, content_type, std::move(provider));
}

void HttpTestServer::Impl::reply(httplib::Response& response, const ExchangePtr& exchange,
                                 int status, std::string body) {
  response.status = status;
  send_body(response, exchange, std::make_shared<const std::string>(std::move(body)),
            "text/plain; charset=utf-8", BodyMode::whole);
}

void HttpTestServer::Impl::reply_failure(httplib::Response& response, const ExchangePtr& exchange,
                                         const Route& route, std::size_t hit) {
  const std::string which =
      "planned failure " + std::to_string(hit) + " of " + std::to_string(route.fail_first);
  const bool with_retry_after =
      route.retry_after_s &&
      (route.retry_after_first == 0 || hit <= static_cast<std::size_t>(route.retry_after_first));
  if (with_retry_after) {
    const std::string seconds = std::to_string(*route.retry_after_s);
    response.set_header("Retry-After", seconds);
    reply(response, exchange, 429,
          "too many requests (" + which + "): retry after " + seconds + " s\n");
    return;
  }
  reply(response, exchange, route.fail_status, which + "\n");
}

void HttpTestServer::Impl::reply_rendezvous_failure(httplib::Response& response,
                                                    const ExchangePtr& exchange,
                                                    const Meeting& meeting) {
  if (meeting.outcome == Meeting::Outcome::stopped) {
    reply(response, exchange, 503, "the test server stopped during a rendezvous\n");
    return;
  }
  std::size_t size = 0;
  {
    std::lock_guard lock(mutex);
    size = rendezvous_size;
  }
  reply(response, exchange, 504,
        "rendezvous of " + std::to_string(size) + " never formed: only " +
            std::to_string(meeting.most_together) + " requests were in flight together (waited " +
            format_duration(meeting.waited) +
            "). Send the requests concurrently: a client that waits for each answer before "
            "sending the next request never has " +
            std::to_string(size) + " in flight.\n");
}

void HttpTestServer::Impl::handle(const httplib::Request& request, httplib::Response& response) {
  if (request.path == kWarmUpPath) {
    static constexpr std::string_view kWarm = "warm\n";
    response.set_content_provider(
        kWarm.size(), "text/plain",
        [](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          return sink.write(kWarm.data() + offset, length);
        });
    return;
  }
  const Admission admission = admit(request.path);
  const auto exchange = std::make_shared<Exchange>(
      *this,
      trace.task(request.method + " " + request.path + " #" + std::to_string(admission.hit)));
  respond(request.path, admission, exchange, response);
  // A HEAD answer has no body, so no content provider would end the exchange before the
  // client has its answer.
  if (request.method == "HEAD") exchange->end();
}

void HttpTestServer::Impl::respond(const std::string& path, const Admission& admission,
                                   const ExchangePtr& exchange, httplib::Response& response) {
  if (admission.entry == nullptr) {
    reply(response, exchange, 404, "no route for " + path + "\n");
    return;
  }
  const RouteEntry& entry = *admission.entry;
  const Route& route = entry.route;

  if (route.rendezvous) {
    exchange->task.wait();
    const Meeting meeting = meet_rendezvous();
    exchange->task.exec();
    if (meeting.outcome != Meeting::Outcome::formed) {
      reply_rendezvous_failure(response, exchange, meeting);
      return;
    }
  }
  if (route.latency > std::chrono::milliseconds{0}) {
    exchange->task.wait();
    const bool still_running = pause(scaled(route.latency));
    exchange->task.exec();
    if (!still_running) {
      reply(response, exchange, 503, "the test server stopped during the latency\n");
      return;
    }
  }
  if (admission.hit <= static_cast<std::size_t>(std::max(route.fail_first, 0))) {
    reply_failure(response, exchange, route, admission.hit);
    return;
  }
  if (route.hang) {
    exchange->task.wait();
    wait_for_stop();
    exchange->task.exec();
    reply(response, exchange, 503, "the test server stopped while the request hung\n");
    return;
  }

  response.status = route.status;
  for (const auto& [name, value] : route.headers) response.set_header(name, value);
  const BodyMode mode = route.close_mid_body ? BodyMode::half_then_close
                        : route.trickle      ? BodyMode::trickle
                                             : BodyMode::whole;
  send_body(response, exchange, entry.body, entry.content_type, mode,
            route.trickle.value_or(Trickle{}));
}

// ---- HttpTestServer ----

HttpTestServer::HttpTestServer() : HttpTestServer(Options{}) {}

HttpTestServer::HttpTestServer(Options options) : impl_(std::make_unique<Impl>(options)) {}

HttpTestServer::~HttpTestServer() { stop(); }

HttpTestServer& HttpTestServer::add(Route route) {
  auto entry = std::make_shared<RouteEntry>();
  entry->content_type = content_type_of(route);
  entry->body = std::make_shared<const std::string>(body_of(route));
  entry->route = std::move(route);
  std::lock_guard lock(impl_->mutex);
  impl_->routes[entry->route.path] = std::move(entry);
  return *this;
}

void HttpTestServer::start() { impl_->start(); }

void HttpTestServer::stop() { impl_->stop(); }

std::uint16_t HttpTestServer::port() const { return impl_->port; }

std::string HttpTestServer::url(std::string_view path) const {
  std::string url = "http://" + std::string(kLoopback) + ":" + std::to_string(impl_->port);
  if (path.empty() || path.front() != '/') url += '/';
  return url + std::string(path);
}

void HttpTestServer::rendezvous(std::size_t k, std::chrono::milliseconds timeout) {
  std::lock_guard lock(impl_->mutex);
  impl_->rendezvous_size = k;
  impl_->rendezvous_timeout = scaled(timeout);
  impl_->rendezvous_changed.notify_all();
}

std::size_t HttpTestServer::hits(std::string_view path) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->stats.find(path);
  return it == impl_->stats.end() ? 0 : it->second.hits;
}

std::size_t HttpTestServer::total_hits() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->total;
}

std::size_t HttpTestServer::in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->in_flight;
}

std::size_t HttpTestServer::peak_in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->peak;
}

void HttpTestServer::reset_counters() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stats.clear();
    impl_->total = 0;
    impl_->peak = impl_->in_flight;
  }
  impl_->trace.clear();
}

std::vector<std::chrono::steady_clock::time_point> HttpTestServer::arrivals(
    std::string_view path) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->stats.find(path);
  return it == impl_->stats.end() ? std::vector<SteadyTime>{} : it->second.arrivals;
}

bool HttpTestServer::wait_for_in_flight(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->counters_changed.wait_for(lock, scaled(timeout),
                                          [&] { return impl_->in_flight >= n; });
}

bool HttpTestServer::wait_until_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->counters_changed.wait_for(lock, scaled(timeout),
                                          [&] { return impl_->in_flight == 0; });
}

Trace& HttpTestServer::trace() { return impl_->trace; }

}  // namespace course
