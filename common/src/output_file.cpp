// course::OutputFile: see output_file.hpp for the rules.
#include "course/output_file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

namespace course {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxLinks = 40;  // as the kernel's own limit (ELOOP)
constexpr auto kRetry = std::chrono::milliseconds(20);

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// Paths the kernel makes up (/dev/stdout, /dev/fd/1, /proc/self/fd/1): always written in place,
// never replaced, whatever they point to.
bool is_kernel_path(const fs::path& path) {
  const std::string text = path.lexically_normal().string();
  return text.starts_with("/dev/") || text.starts_with("/proc/");
}

// The name a path finally stands for: each symbolic link replaced by what it points to, until a
// name that is not a link (which need not exist: a dangling link's target is created).
fs::path follow_links(const fs::path& path) {
  fs::path current = path;
  for (int hops = 0; hops <= kMaxLinks; ++hops) {
    struct stat status {};
    if (::lstat(current.c_str(), &status) != 0 || !S_ISLNK(status.st_mode)) return current;
    const fs::path link = fs::read_symlink(current);
    current = link.is_absolute() ? link : current.parent_path() / link;
  }
  throw OutputError("cannot write " + quoted(path) + ": too many levels of symbolic links");
}

// A wait of `period` that a stop request ends early: the FIFO gives no sign when a reader comes,
// so the only way to notice one is to try again.
void pause_unless_stopped(const std::stop_token& stop, std::chrono::milliseconds period) {
  std::mutex mutex;
  std::condition_variable_any never_notified;
  std::unique_lock lock(mutex);
  never_notified.wait_for(lock, stop, period, [] { return false; });
}

// SIGPIPE blocked in this thread while it writes to a FIFO, so that a reader that goes away is an
// EPIPE error to report, not the end of the whole process; a SIGPIPE raised meanwhile is taken
// back before the mask is restored.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlocked() {
    if (!was_pending_) {
      const timespec now{};
      sigtimedwait(&pipe_, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t previous_{};
  bool was_pending_ = false;
};

std::string random_tag() {
  static constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937 engine{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kLetters.size() - 1);
  std::string tag(6, ' ');
  for (char& letter : tag) letter = kLetters[pick(engine)];
  return tag;
}

}  // namespace

OutputFile::OutputFile(const std::filesystem::path& path, const OutputFileOptions& options)
    : path_(path), stop_(options.stop), cancelled_(options.cancelled) {
  if (path.empty()) throw OutputError("cannot write an empty path");
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode))
      throw OutputError("cannot write " + quoted(path) + ": a directory");
    if (S_ISSOCK(status.st_mode)) throw OutputError("cannot write " + quoted(path) + ": a socket");
    if (!S_ISREG(status.st_mode) || is_kernel_path(path)) {
      target_ = path;
      open_in_place();
      return;
    }
    try {
      target_ = fs::canonical(path);  // every link followed
    } catch (const fs::filesystem_error& error) {
      fail("cannot follow the link", error.code().value());
    }
    open_temporary(options);
    if (::fchmod(fd_, status.st_mode & 07777) != 0)
      fail("cannot keep the old file's permissions", errno);
    return;
  }
  if (errno != ENOENT) fail("", errno);
  try {
    target_ = follow_links(path);  // a new file, or the missing target of a dangling link
  } catch (const fs::filesystem_error& error) {
    fail("cannot follow the link", error.code().value());
  }
  open_temporary(options);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      target_(std::move(other.target_)),
      temporary_(std::move(other.temporary_)),
      stop_(std::move(other.stop_)),
      cancelled_(std::move(other.cancelled_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(std::exchange(other.committed_, true)) {
  other.temporary_.clear();
}

OutputFile::~OutputFile() { discard(); }

bool OutputFile::stop_requested() const {
  return stop_.stop_requested() || (cancelled_ && cancelled_());
}

void OutputFile::open_in_place() {
  // Non-blocking: opening a FIFO without a reader fails with ENXIO at once instead of hanging,
  // and a write that a reader does not take fails with EAGAIN, so that both can watch `stop`.
  while (true) {
    fd_ = ::open(target_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd_ >= 0) return;
    if (errno == EINTR) continue;
    if (errno != ENXIO) fail("", errno);
    if (stop_requested()) {
      throw OutputError("cannot write " + quoted(path_) +
                        ": stopped while waiting for the FIFO's reader");
    }
    pause_unless_stopped(stop_, kRetry);
  }
}

void OutputFile::open_temporary(const OutputFileOptions& options) {
  const fs::path directory = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  const std::string name = target_.filename().string();
  // O_NOFOLLOW: a link planted where the temporary file goes must not redirect the bytes.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  if (!options.temporary_suffix.empty()) {
    temporary_ = directory / (name + options.temporary_suffix);
    fd_ = ::open(temporary_.c_str(), kFlags | O_TRUNC, 0666);
  } else {
    for (int attempt = 0; attempt < 100; ++attempt) {
      temporary_ = directory / ("." + name + "-" + random_tag() + ".part");
      fd_ = ::open(temporary_.c_str(), kFlags | O_EXCL, 0666);
      if (fd_ >= 0 || errno != EEXIST) break;
    }
  }
  if (fd_ < 0) {
    const int error = errno;
    temporary_.clear();  // nothing of ours to remove
    fail("cannot create its temporary file", error);
  }
}

void OutputFile::write(std::string_view bytes) {
  if (fd_ < 0) throw OutputError("cannot write " + quoted(path_) + ": already closed");
  std::optional<SigpipeBlocked> sigpipe;
  if (!atomic()) sigpipe.emplace();
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd_, bytes.data(), bytes.size());
    if (written > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(written));
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A reader that is not reading: wait until it takes more, or a stop request.
      if (stop_requested()) {
        throw OutputError("cannot write " + quoted(path_) +
                          ": stopped while the reader was not "
                          "reading");
      }
      pollfd ready{.fd = fd_, .events = POLLOUT, .revents = 0};
      ::poll(&ready, 1, static_cast<int>(kRetry.count()));
      continue;
    }
    if (written < 0 && errno == EPIPE) {
      throw OutputError("cannot write " + quoted(path_) + ": its reader has gone");
    }
    fail("", written < 0 ? errno : EIO);
  }
}

void OutputFile::commit() {
  if (committed_ || fd_ < 0)
    throw OutputError("cannot write " + quoted(path_) + ": already committed");
  if (atomic() && ::fdatasync(fd_) != 0) {
    const int error = errno;
    discard();
    fail("", error);
  }
  const int closed = ::close(std::exchange(fd_, -1));
  if (closed != 0 && atomic()) {
    const int error = errno;
    discard();
    fail("", error);
  }
  // rename() replaces the target in one step: readers see the old file or the new one.
  if (atomic() && ::rename(temporary_.c_str(), target_.c_str()) != 0) {
    const int error = errno;
    discard();
    fail("cannot rename its temporary file over it", error);
  }
  committed_ = true;
}

void OutputFile::discard() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
}

void OutputFile::fail(const std::string& detail, int error) const {
  throw OutputError("cannot write " + quoted(path_) + ": " + (detail.empty() ? "" : detail + ": ") +
                    std::strerror(error));
}

void write_output_file(const std::filesystem::path& path, std::string_view contents,
                       const OutputFileOptions& options) {
  OutputFile file(path, options);
  file.write(contents);
  file.commit();
}

}  // namespace course
