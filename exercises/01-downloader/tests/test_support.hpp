// Helpers shared by the downloader's tests: a server and a private directory per test, a
// download run in the background with a deadline, and the checks and messages the tests share.
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "course/background.hpp"
#include "course/fake_clock.hpp"
#include "course/http_test_server.hpp"
#include "course/net.hpp"
#include "course/probes.hpp"
#include "course/temp_dir.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"
#include "course/trace.hpp"
#include "downloader/downloader.hpp"

namespace downloader::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ---- a test's world ----

// Options for tests: no retries unless a test wants them, and timeouts far above any latency
// a test uses (scaled, so sanitizer builds keep their margins).
inline Options test_options(Strategy strategy, std::size_t limit) {
  Options options;
  options.strategy = strategy;
  options.max_concurrency = limit;
  options.retry.max_retries = 0;
  options.connect_timeout = course::scaled(milliseconds(3000));
  options.total_timeout = course::scaled(milliseconds(15'000));
  return options;
}

// A running test server and a private directory; downloads go to dest.
struct World {
  World() : dest(dir.path() / "out") { server.start(); }

  // Routes "/<prefix>/<i>.bin" serving `size` deterministic bytes after `latency`; their URLs.
  std::vector<std::string> add_files(const std::string& prefix, std::size_t n, std::size_t size,
                                     milliseconds latency = 0ms, bool rendezvous = false) {
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string path = "/" + prefix + "/" + std::to_string(i) + ".bin";
      server.add({.path = path, .body_size = size, .latency = latency, .rendezvous = rendezvous});
      urls.push_back(server.url(path));
    }
    return urls;
  }

  course::HttpTestServer server;
  course::TempDir dir{"downloader"};
  fs::path dest;
};

// The path part of a URL served by the test server ("http://127.0.0.1:P/a/b" -> "/a/b").
inline std::string path_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

// ---- running download() with a deadline ----

struct Outcome {
  std::vector<Result> results;
  std::string exception;  // "std::logic_error: ..." when download() threw
  std::chrono::nanoseconds wall{0};
  bool finished_in_time = true;
  std::chrono::milliseconds deadline{0};
};

// Runs download() on its own thread (course::Background), so that a test can watch the server
// meanwhile and never hangs: if download() is still running at the deadline, the test requests a
// stop and stops the server (which releases every request it holds), then reports what it saw.
class BackgroundDownload {
 public:
  BackgroundDownload(course::HttpTestServer& server, std::vector<std::string> urls, fs::path dest,
                     Options options)
      : server_(server),
        call_([urls = std::move(urls), dest = std::move(dest),
               options = std::move(options)](std::stop_token stop) mutable {
          options.stop = std::move(stop);
          return download(urls, dest, options);
        }) {}
  BackgroundDownload(const BackgroundDownload&) = delete;
  BackgroundDownload& operator=(const BackgroundDownload&) = delete;
  ~BackgroundDownload() { finish(10s); }

  void request_stop() { call_.request_stop(); }
  // Whether download() returned within `timeout` (scaled).
  bool wait_for(std::chrono::milliseconds timeout) { return call_.finished_within(timeout); }

  // Waits until download() returns, at most `deadline` (scaled); past it, stops everything.
  Outcome finish(std::chrono::milliseconds deadline) {
    if (finished_run_) return *finished_run_;
    Outcome run;
    run.deadline = deadline;
    if (!wait_for(deadline)) {
      run.finished_in_time = false;
      call_.request_stop();
      server_.stop();
      if (!wait_for(10s)) give_up();
    }
    run.exception = call_.error();
    if (run.exception.empty()) run.results = call_.get();
    run.wall = call_.wall();
    finished_run_ = run;
    return run;
  }

 private:
  [[noreturn]] static void give_up() {
    std::fprintf(stderr,
                 "download() did not return even after a stop request and after the test server "
                 "stopped (which ends every request it held). It waits for something that never "
                 "happens: check that every worker ends and that stop requests are honoured.\n");
    std::fflush(stderr);
    std::_Exit(1);
  }

  course::HttpTestServer& server_;
  std::optional<Outcome> finished_run_;
  course::Background<std::vector<Result>> call_;  // last: it starts after the rest exists
};

// Waits until the server has at least n requests in flight, at most `timeout` (scaled), and
// gives up early when the download has already returned (a skeleton throws at once).
inline bool wait_for_in_flight(course::HttpTestServer& server, BackgroundDownload& background,
                               std::size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (server.wait_for_in_flight(n, 20ms)) return true;
    if (background.wait_for(0ms)) return server.in_flight() >= n;
  }
  return false;
}

inline Outcome run_download(course::HttpTestServer& server, const std::vector<std::string>& urls,
                            const fs::path& dest, const Options& options,
                            std::chrono::milliseconds deadline = 10s) {
  BackgroundDownload background(server, urls, dest, options);
  return background.finish(deadline);
}

// ---- describing what happened ----

inline std::string describe(const Result& result) {
  std::ostringstream out;
  out << result.url << " -> ";
  if (result.ok()) {
    out << "ok, " << result.bytes << " bytes";
  } else {
    out << "FAILED (" << result.error << ")";
  }
  out << ", status " << result.http_status << ", " << result.attempts << " attempt(s), "
      << result.elapsed.count() << " ms";
  return out.str();
}

inline std::string describe(const std::vector<Result>& results) {
  std::string out = "The results:\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    out += "  [" + std::to_string(i) + "] " + describe(results[i]) + "\n";
  }
  return out;
}

// Whether download() returned one result per URL, perhaps only after the test stopped it.
inline ::testing::AssertionResult returned(const Outcome& run, std::size_t expected_results) {
  if (!run.exception.empty()) {
    return ::testing::AssertionFailure() << "download() threw " << run.exception;
  }
  if (run.results.size() != expected_results) {
    return ::testing::AssertionFailure()
           << "download() returned " << run.results.size() << " results for " << expected_results
           << " URLs: it must return exactly one result per URL, in input order.";
  }
  return ::testing::AssertionSuccess();
}

inline std::string lateness(const Outcome& run) {
  if (run.finished_in_time) return "";
  return "download() was still running after " + std::to_string(run.deadline.count()) +
         " ms (scaled), so the test requested a stop.\n";
}

// Whether download() returned every result in time; the failure says what went wrong.
inline ::testing::AssertionResult completed(const Outcome& run, std::size_t expected_results) {
  if (!run.exception.empty()) {
    return ::testing::AssertionFailure() << "download() threw " << run.exception;
  }
  if (!run.finished_in_time) {
    return ::testing::AssertionFailure()
           << course::kTimingMark << "download() was still running after " << run.deadline.count()
           << " ms (scaled by " << course::time_scale()
           << "), so the test requested a stop and stopped the server. " << describe(run.results);
  }
  if (run.results.size() != expected_results) {
    return ::testing::AssertionFailure()
           << "download() returned " << run.results.size() << " results for " << expected_results
           << " URLs: it must return exactly one result per URL, in input order.";
  }
  return ::testing::AssertionSuccess();
}

inline std::string strategy_name(const Options& options) {
  return std::string(to_string(options.strategy));
}

// ---- files ----

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
}

// Every file below `root`, relative to it, sorted ("." when root is missing gives none).
inline std::vector<std::string> files_below(const fs::path& root) {
  std::vector<std::string> files;
  std::error_code error;
  if (!fs::exists(root, error)) return files;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_directory()) files.push_back(fs::relative(it->path(), root).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string list(const std::vector<std::string>& names) {
  if (names.empty()) return "(nothing)";
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// Checks that `result` saved exactly what the server serves at `route_path` (size bytes).
inline ::testing::AssertionResult saved_intact(const Result& result, const std::string& route_path,
                                               std::size_t size) {
  if (!result.ok()) {
    return ::testing::AssertionFailure() << "expected a successful download: " << describe(result);
  }
  const std::string expected = course::deterministic_bytes(route_path, size);
  std::error_code error;
  if (!fs::is_regular_file(result.path, error)) {
    return ::testing::AssertionFailure()
           << result.url << " reported success but there is no file at " << result.path;
  }
  const std::string got = read_file(result.path);
  if (got.size() != expected.size() || course::fnv1a(got) != course::fnv1a(expected)) {
    return ::testing::AssertionFailure()
           << result.path.filename() << " holds " << got.size() << " bytes (checksum "
           << course::fnv1a(got) << ") but the server sent " << expected.size()
           << " bytes (checksum " << course::fnv1a(expected)
           << "). Write every chunk libcurl hands to the write callback, in order, and "
              "nothing else.";
  }
  if (result.bytes != expected.size()) {
    return ::testing::AssertionFailure() << "Result::bytes is " << result.bytes << " but "
                                         << expected.size() << " bytes were saved";
  }
  return ::testing::AssertionSuccess();
}

// ---- progress ----

// Records the progress callback's calls and whether two ever ran at once. The first call stays
// inside the callback until a second call comes in or 300 ms (scaled) pass: a strategy that does
// not serialise its calls lets the next finished URL's call in meanwhile, so the overlap shows
// even though a real callback takes no time. A strategy that serialises them waits once.
class ProgressLog {
 public:
  ProgressCallback callback() {
    return [this](const Progress& progress) {
      const auto inside = concurrent_.enter();
      {
        std::unique_lock lock(mutex_);
        calls_.push_back(progress);
        threads_.insert(std::this_thread::get_id());
        if (calls_.size() == 1) {
          second_call_.wait_for(lock, course::scaled(milliseconds(300)),
                                [this] { return concurrent_.current() > 1; });
        }
      }
      second_call_.notify_all();
    };
  }
  std::vector<Progress> calls() const {
    const std::scoped_lock lock(mutex_);
    return calls_;
  }
  std::size_t most_at_once() const { return concurrent_.peak(); }
  std::size_t thread_count() const {
    const std::scoped_lock lock(mutex_);
    return threads_.size();
  }

 private:
  course::PeakCounter concurrent_;
  mutable std::mutex mutex_;
  std::condition_variable second_call_;
  std::vector<Progress> calls_;
  std::set<std::thread::id> threads_;
};

// ---- libcurl for the tests' own requests ----

// The HTTP status of a GET of `url` (0 if no answer), made by the test itself.
inline long http_get_status(const std::string& url) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* easy = curl_easy_init();
  if (easy == nullptr) return 0;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(
      easy, CURLOPT_WRITEFUNCTION,
      +[](char*, std::size_t size, std::size_t count, void*) { return size * count; });
  long status = 0;
  if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);  // closes the connection, so the server's thread is free again
  return status;
}

// The ids of this process's threads, from /proc/self/task.
// A loopback port whose connections never complete: a listener with a backlog of 0 whose queue
// is already full, so the kernel drops every new SYN and a client's connect() waits until its own
// connect timeout ends it.
class SilentPort {
 public:
  SilentPort() : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 0) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("SilentPort: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    for (int& filler : fillers_) {  // fill the accept queue; nobody ever accepts
      filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      (void)::connect(filler, reinterpret_cast<sockaddr*>(&address), size);
    }
    std::this_thread::sleep_for(50ms);  // let the fillers' handshakes land in the queue
  }
  ~SilentPort() {
    for (const int filler : fillers_) ::close(filler);
    ::close(listener_);
  }
  SilentPort(const SilentPort&) = delete;
  SilentPort& operator=(const SilentPort&) = delete;
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int listener_;
  std::array<int, 3> fillers_{};
  int port_ = 0;
};

// The threads of this process, except the test server's (named course::kServerThreadName): the
// server starts threads of its own when a burst of requests finds its pool busy.
inline std::set<long> thread_ids() {
  std::set<long> ids;
  for (const auto& entry : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == course::kServerThreadName) continue;
    ids.insert(std::stol(entry.path().filename().string()));
  }
  return ids;
}

}  // namespace downloader::testing
