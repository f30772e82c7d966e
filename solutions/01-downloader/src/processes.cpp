// Level 7 (optional): L worker processes, the notes' ProcessPoolExecutor. In Python processes
// sidestep the GIL; C++ has no GIL, so for downloads they buy nothing over threads but cost a
// fork each, a copy of the address space, and every result copied through a pipe.
//
// The parent forks the workers, hands out URL indices through a SOCK_SEQPACKET socket (each
// message reaches exactly one worker, like a shared queue), and reads each worker's results
// from its own pipe. Closing the stop pipe tells every worker to abandon its transfer.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "downloader_internal.hpp"

namespace downloader::detail {
namespace {

// ---- file descriptors ----

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }

  int get() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_system_error(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::pair<Fd, Fd> make_pipe(int flags = O_CLOEXEC) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), flags) != 0) throw_system_error("pipe2");
  return {Fd(fds[0]), Fd(fds[1])};
}

std::pair<Fd, Fd> make_job_queue() {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds.data()) != 0) {
    throw_system_error("socketpair");
  }
  return {Fd(fds[0]), Fd(fds[1])};  // {parent sends, workers receive}
}

// ---- what a worker sends back for each URL ----

struct FrameHeader {
  std::uint64_t index;
  std::uint64_t bytes;
  std::int64_t elapsed_ms;
  std::int32_t http_status;
  std::int32_t attempts;
  std::uint32_t error_size;
  std::uint32_t unused;
};

std::string encode(std::size_t index, const Result& result) {
  const FrameHeader header{.index = index,
                           .bytes = result.bytes,
                           .elapsed_ms = result.elapsed.count(),
                           .http_status = result.http_status,
                           .attempts = result.attempts,
                           .error_size = static_cast<std::uint32_t>(result.error.size()),
                           .unused = 0};
  std::string frame(sizeof header, '\0');
  std::memcpy(frame.data(), &header, sizeof header);
  return frame + result.error;
}

// Takes every complete frame off the front of `buffer`.
template <class OnResult>
void decode_frames(std::string& buffer, const Job& job, OnResult on_result) {
  std::size_t offset = 0;
  while (buffer.size() - offset >= sizeof(FrameHeader)) {
    FrameHeader header{};
    std::memcpy(&header, buffer.data() + offset, sizeof header);
    const std::size_t frame_size = sizeof header + header.error_size;
    if (buffer.size() - offset < frame_size) break;
    if (header.index < job.size()) {
      Result result{.url = job.urls[header.index], .path = job.paths[header.index]};
      result.bytes = header.bytes;
      result.elapsed = std::chrono::milliseconds(header.elapsed_ms);
      result.http_status = header.http_status;
      result.attempts = header.attempts;
      result.error.assign(buffer, offset + sizeof header, header.error_size);
      on_result(static_cast<std::size_t>(header.index), std::move(result));
    }
    offset += frame_size;
  }
  buffer.erase(0, offset);
}

// ---- the worker side ----

// Closes every descriptor the worker inherited except stdio and the ones it uses, so that it
// keeps no other connection or pipe end open (a job queue with an extra sender never ends).
void keep_only(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (const int fd : keep) {
    if (static_cast<unsigned>(fd) > next) ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = std::max(next, static_cast<unsigned>(fd) + 1);
  }
  ::close_range(next, ~0U, 0);
}

[[noreturn]] void worker_main(const Job& job, int jobs, int stop, int results) {
  keep_only({jobs, stop, results});
  const Cancellation cancel{.token = {}, .fd = stop};
  for (;;) {
    std::uint64_t index = 0;
    const ssize_t got = ::recv(jobs, &index, sizeof index, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(sizeof index) || index >= job.size()) break;  // queue closed
    if (cancel.requested()) break;
    const Result result = fetch(job.urls[index], job.paths[index], job.options, cancel);
    const std::string frame = encode(index, result);
    if (!write_all(results, frame.data(), frame.size())) break;
  }
  ::_exit(0);  // no atexit handlers or static destructors: they belong to the parent
}

// ---- the parent side ----

class WorkerProcess {
 public:
  WorkerProcess(pid_t pid, Fd results) : pid_(pid), results_(std::move(results)) {}
  WorkerProcess(WorkerProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)), results_(std::move(other.results_)) {}
  WorkerProcess& operator=(WorkerProcess&&) = delete;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  // A worker still running here (an exception unwound the parent) is killed, never orphaned.
  ~WorkerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
  }

  Fd& results() { return results_; }
  std::string& buffer() { return buffer_; }
  void reap() {
    if (pid_ <= 0) return;
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_;
  Fd results_;
  std::string buffer_;
};

class ProcessPool {
 public:
  explicit ProcessPool(const Job& job) : job_(job), results_(job.size()), received_(job.size()) {}

  std::vector<Result> run() {
    auto [sender, receiver] = make_job_queue();
    auto [stop_read, stop_write] = make_pipe();
    jobs_ = std::move(sender);
    stop_ = std::move(stop_write);
    start_workers(receiver.get(), stop_read.get());
    receiver.close();
    stop_read.close();
    if (::fcntl(jobs_.get(), F_SETFL, O_NONBLOCK) != 0) throw_system_error("fcntl");

    auto [wake_read, wake_write] = make_pipe(O_CLOEXEC | O_NONBLOCK);
    {
      const std::stop_callback wake(job_.options.stop, [fd = wake_write.get()] {
        const char byte = 1;
        [[maybe_unused]] const ssize_t ignored = ::write(fd, &byte, 1);
      });
      serve(wake_read.get());
    }
    for (WorkerProcess& worker : workers_) worker.reap();
    fill_missing();
    return std::move(results_);
  }

 private:
  void start_workers(int receiver, int stop_read) {
    const std::size_t count = std::min(job_.options.max_concurrency, job_.size());
    workers_.reserve(count);
    for (std::size_t w = 0; w < count; ++w) {
      auto [results_read, results_write] = make_pipe();
      const pid_t pid = ::fork();
      if (pid < 0) throw_system_error("fork");
      if (pid == 0) worker_main(job_, receiver, stop_read, results_write.get());
      workers_.emplace_back(pid, std::move(results_read));
    }
  }

  // Hands out jobs and collects results until every worker has closed its results pipe.
  void serve(int wake) {
    std::size_t next_job = 0;
    for (;;) {
      std::vector<pollfd> watched;
      watched.push_back({.fd = wake, .events = POLLIN, .revents = 0});
      const bool sending = jobs_.is_open() && next_job < job_.size();
      watched.push_back({.fd = sending ? jobs_.get() : -1, .events = POLLOUT, .revents = 0});
      for (WorkerProcess& worker : workers_) {
        watched.push_back({.fd = worker.results().get(), .events = POLLIN, .revents = 0});
      }
      const bool any_worker = std::any_of(workers_.begin(), workers_.end(),
                                          [](WorkerProcess& w) { return w.results().is_open(); });
      if (!any_worker) return;
      if (::poll(watched.data(), watched.size(), -1) < 0) {
        if (errno == EINTR) continue;
        throw_system_error("poll");
      }
      if (watched[0].revents != 0) drain(wake);
      if (job_.options.stop.stop_requested()) stop_workers();
      if (watched[1].revents != 0) send_jobs(next_job);
      for (std::size_t w = 0; w < workers_.size(); ++w) {
        if (watched[w + 2].revents != 0) read_results(workers_[w]);
      }
    }
  }

  static void drain(int wake) {
    std::array<char, 64> bytes{};
    while (::read(wake, bytes.data(), bytes.size()) > 0) {
    }
  }

  void send_jobs(std::size_t& next_job) {
    while (next_job < job_.size()) {
      const std::uint64_t index = next_job;
      if (::send(jobs_.get(), &index, sizeof index, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        jobs_.close();  // every worker is gone
        return;
      }
      ++next_job;
    }
    jobs_.close();  // the workers see the end of the queue once they have taken every job
  }

  void read_results(WorkerProcess& worker) {
    std::array<char, 4096> chunk{};
    const ssize_t got = ::read(worker.results().get(), chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) return;
    if (got <= 0) {
      worker.results().close();
      return;
    }
    worker.buffer().append(chunk.data(), static_cast<std::size_t>(got));
    decode_frames(worker.buffer(), job_, [this](std::size_t i, Result result) {
      if (received_[i]) return;
      received_[i] = true;
      results_[i] = std::move(result);
      job_.progress.finished(i, results_[i]);
    });
  }

  void stop_workers() {
    stop_.close();  // readable (end of file) in every worker: they abandon their transfers
    jobs_.close();  // and take no further job
  }

  void fill_missing() {
    for (std::size_t i = 0; i < job_.size(); ++i) {
      if (received_[i]) continue;
      Result result = cancelled_before_start(job_.urls[i], job_.paths[i]);
      if (!job_.options.stop.stop_requested()) {
        result.error = "the worker process ended without a result";
      }
      results_[i] = std::move(result);
      job_.progress.finished(i, results_[i]);
    }
  }

  const Job& job_;
  std::vector<Result> results_;
  std::vector<bool> received_;
  Fd jobs_;
  Fd stop_;
  std::vector<WorkerProcess> workers_;
};

}  // namespace

std::vector<Result> download_processes(const Job& job) {
  if (job.size() == 0) return {};
  ProcessPool pool(job);
  return pool.run();
}

}  // namespace downloader::detail
