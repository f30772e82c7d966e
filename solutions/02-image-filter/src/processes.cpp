// Level 4 (optional): the notes' multiprocessing version. N worker processes filter bands of one
// pass into an output that every process shares through mmap; the parent waits for them, then
// starts the next pass. Threads already run in parallel in C++ (there is no GIL): processes buy
// isolation, and cost a fork and a shared mapping per pass.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "imgfilter_internal.hpp"

namespace imgfilter::detail {
namespace {

// An anonymous shared mapping: what a child writes there, the parent sees.
class SharedBytes {
 public:
  explicit SharedBytes(std::size_t size)
      : size_(std::max<std::size_t>(size, 1)),
        data_(::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {
    if (data_ == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  }
  SharedBytes(const SharedBytes&) = delete;
  SharedBytes& operator=(const SharedBytes&) = delete;
  ~SharedBytes() { ::munmap(data_, size_); }

  template <class T>
  T* as() {
    return static_cast<T*>(data_);
  }

 private:
  std::size_t size_;
  void* data_;
};

// Forks `workers` children; child w runs task(b) for the bands b = w, w + N, w + 2N, ... and
// exits. Waits for every child; throws if one failed.
void run_in_processes(std::size_t bands, std::size_t workers,
                      const std::function<void(std::size_t)>& task) {
  std::vector<pid_t> children;
  std::string failure;
  for (std::size_t w = 0; w < workers; ++w) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      failure = std::string("fork: ") + std::strerror(errno);
      break;
    }
    if (pid == 0) {
      int status = 0;
      try {
        for (std::size_t b = w; b < bands; b += workers) task(b);
      } catch (...) {
        status = 1;
      }
      ::_exit(status);  // no destructors, no atexit handlers of the parent's state
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failure = "a worker process failed";
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

}  // namespace

Image filter_chain_in_processes(const Image& image, const std::vector<Filter>& chain,
                                const Options& options) {
  Image current = image;
  const auto bands = bands_for(image.height, options.jobs, options.band_rows);
  const std::size_t workers = std::min(options.jobs, bands.size());
  for (const Filter& filter : chain) {
    Image next = make_output(current, filter);
    int pivot = 0;
    if (filter.kind == FilterKind::contrast) {
      SharedBytes sums(bands.size() * sizeof(std::uint64_t));
      run_in_processes(bands.size(), workers, [&](std::size_t b) {
        sums.as<std::uint64_t>()[b] = gray_sum(current, bands[b].first, bands[b].second);
      });
      std::uint64_t total = 0;
      for (std::size_t b = 0; b < bands.size(); ++b) total += sums.as<std::uint64_t>()[b];
      pivot = contrast_pivot(total, current.pixel_count());
    }
    // A child filters its rows into its own copy-on-write copy of `next`, then copies them into
    // the shared mapping, where the parent finds them.
    SharedBytes shared(next.pixels.size());
    run_in_processes(bands.size(), workers, [&](std::size_t b) {
      const auto [first, end] = bands[b];
      filter_rows(current, next, filter, first, end, pivot);
      const std::size_t offset = static_cast<std::size_t>(first) * next.row_bytes();
      const std::size_t length = static_cast<std::size_t>(end - first) * next.row_bytes();
      std::memcpy(shared.as<std::uint8_t>() + offset, next.pixels.data() + offset, length);
    });
    std::memcpy(next.pixels.data(), shared.as<std::uint8_t>(), next.pixels.size());
    current = std::move(next);
  }
  return current;
}

}  // namespace imgfilter::detail
