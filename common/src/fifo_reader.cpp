// course::FifoReader: see fifo_reader.hpp.
#include "course/fifo_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>

#include "course/time_scale.hpp"

namespace course {
namespace {

// Reads until the writer has come and gone. A FIFO opened O_NONBLOCK without a writer reads as
// empty (0) and poll() reports nothing until a writer has opened it, so EOF is a 0 after data or
// a POLLHUP, which Linux gives only once a writer has been there.
std::optional<std::string> read_until_closed(int fd,
                                             std::chrono::steady_clock::time_point deadline) {
  std::string bytes;
  std::array<char, std::size_t{64} * 1024> buffer{};
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    const int events = ::poll(&ready, 1, static_cast<int>(left.count()));
    if (events < 0 && errno == EINTR) continue;
    if (events <= 0) continue;  // the deadline is checked at the top
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got > 0) {
      bytes.append(buffer.data(), static_cast<std::size_t>(got));
    } else if (got == 0 && (ready.revents & POLLHUP) != 0) {
      return bytes;  // the writer has closed it
    } else if (got < 0 && errno != EAGAIN && errno != EINTR) {
      return std::nullopt;
    }
  }
}

}  // namespace

FifoReader::FifoReader(std::filesystem::path path, std::chrono::milliseconds timeout)
    : path_(std::move(path)) {
  if (::mkfifo(path_.c_str(), 0600) != 0) {
    throw std::system_error(errno, std::generic_category(), "mkfifo " + path_.string());
  }
  fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path_.string());
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  reading_ = std::async(std::launch::async,
                        [fd = fd_, deadline] { return read_until_closed(fd, deadline); });
}

FifoReader::~FifoReader() {
  if (reading_.valid()) reading_.wait();
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> FifoReader::bytes() {
  // A writer of our own, opened through the reader's descriptor (the same pipe, whatever the path
  // names now) and closed at once: the reader sees the last writer go.
  const std::string same_pipe = "/proc/self/fd/" + std::to_string(fd_);
  const int writer = ::open(same_pipe.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (writer >= 0) ::close(writer);
  return reading_.get();
}

}  // namespace course
