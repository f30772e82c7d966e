#include "course/fake_clock.hpp"

#include <numeric>
#include <thread>

namespace course {

const Clock& real_clock() {
  static const SteadyClock clock;
  return clock;
}

Sleeper real_sleeper() {
  return [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); };
}

Sleeper FakeSleeper::sleeper() {
  return [this](std::chrono::milliseconds delay) { sleep(delay); };
}

void FakeSleeper::sleep(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delays_.push_back(delay);
  // Under the lock, so that concurrent sleepers advance the clock in the order they recorded.
  if (clock_ != nullptr) clock_->advance(delay);
}

std::vector<std::chrono::milliseconds> FakeSleeper::delays() const {
  std::lock_guard lock(mutex_);
  return delays_;
}

std::size_t FakeSleeper::count() const {
  std::lock_guard lock(mutex_);
  return delays_.size();
}

std::chrono::milliseconds FakeSleeper::total() const {
  std::lock_guard lock(mutex_);
  return std::accumulate(delays_.begin(), delays_.end(), std::chrono::milliseconds{0});
}

void FakeSleeper::clear() {
  std::lock_guard lock(mutex_);
  delays_.clear();
}

}  // namespace course
