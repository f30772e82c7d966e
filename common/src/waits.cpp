#include "course/waits.hpp"

#include <thread>

#include "course/time_scale.hpp"

namespace course {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool eventually(const std::function<bool()>& condition, milliseconds limit) {
  const auto end = Clock::now() + scaled(limit);
  while (!condition()) {
    if (Clock::now() >= end) return condition();
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

std::uint64_t settled(const std::function<std::uint64_t()>& read, milliseconds quiet,
                      milliseconds limit) {
  const auto end = Clock::now() + scaled(limit);
  std::uint64_t last = read();
  auto changed_at = Clock::now();
  while (Clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(5));
    const std::uint64_t now = read();
    if (now != last) {
      last = now;
      changed_at = Clock::now();
    } else if (Clock::now() - changed_at >= scaled(quiet)) {
      break;
    }
  }
  return last;
}

bool Gate::wait(milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ++waiting_;
  changed_.notify_all();  // wait_until_waiting() counts this thread
  const bool opened = changed_.wait_for(lock, scaled(timeout), [this] { return open_; });
  --waiting_;
  changed_.notify_all();
  return opened;
}

void Gate::open() {
  {
    const std::scoped_lock lock(mutex_);
    open_ = true;
  }
  changed_.notify_all();
}

void Gate::close() {
  const std::scoped_lock lock(mutex_);
  open_ = false;
}

std::size_t Gate::waiting() const {
  const std::scoped_lock lock(mutex_);
  return waiting_;
}

bool Gate::wait_until_waiting(std::size_t n, milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, scaled(timeout), [&] { return waiting_ >= n; });
}

TimeBudget::TimeBudget(milliseconds budget, int min_rounds)
    : end_(Clock::now() + scaled(budget)), min_rounds_(min_rounds) {}

bool TimeBudget::more() {
  if (rounds_ >= min_rounds_ && Clock::now() >= end_) return false;
  ++rounds_;
  return true;
}

}  // namespace course
