#include "course/fake_clock.hpp"

#include <time.h>

#include <algorithm>
#include <numeric>
#include <thread>

namespace course {

const Clock& real_clock() {
  static const SteadyClock clock;
  return clock;
}

// std::chrono::steady_clock is CLOCK_MONOTONIC; its coarse twin runs on the same time line,
// updated once per kernel tick, so it is never ahead of it.
Clock::time_point SteadyClock::coarse_now() const {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return time_point(std::chrono::duration_cast<duration>(std::chrono::seconds(now.tv_sec) +
                                                         std::chrono::nanoseconds(now.tv_nsec)));
}

Sleeper real_sleeper() {
  return [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); };
}

void FakeClock::wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                           time_point deadline) const {
  {
    const std::scoped_lock guard(waiters_mutex_);
    waiters_.push_back(&cv);
  }
  const auto generation = generation_.load();
  if (now() < deadline) {
    // A move of the clock between the check above and the wait is caught by the generation; one
    // that lands in the instant before the wait blocks costs at most kRealTimeCap.
    const std::cv_status status = cv.wait_for(lock, kRealTimeCap);
    if (status == std::cv_status::no_timeout && generation_.load() == generation) ++notified_;
  }
  {
    const std::scoped_lock guard(waiters_mutex_);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &cv));
  }
  stay_while_held(lock);
}

// The caller's lock is released while held, as a thread that the scheduler has not run holds
// nothing; hold_mutex_ is never held while the caller's lock is being taken, so there is no lock
// order between them.
void FakeClock::stay_while_held(std::unique_lock<std::mutex>& lock) const {
  std::unique_lock gate(hold_mutex_);
  if (!holding_) return;
  lock.unlock();
  ++held_;
  hold_ended_.wait(gate, [this] { return !holding_; });
  --held_;
  gate.unlock();
  lock.lock();
}

FakeClock::WakeupHold::WakeupHold(const FakeClock& clock) : clock_(&clock) {
  const std::scoped_lock gate(clock_->hold_mutex_);
  clock_->holding_ = true;
}

void FakeClock::WakeupHold::end() {
  if (clock_ == nullptr) return;
  {
    const std::scoped_lock gate(clock_->hold_mutex_);
    clock_->holding_ = false;
  }
  clock_->hold_ended_.notify_all();
  clock_ = nullptr;
}

std::size_t FakeClock::held() const {
  const std::scoped_lock gate(hold_mutex_);
  return held_;
}

std::uint64_t FakeClock::notified_wakeups() const { return notified_.load(); }

std::size_t FakeClock::waiting() const {
  const std::scoped_lock guard(waiters_mutex_);
  return waiters_.size();
}

void FakeClock::wake_waiters() {
  ++generation_;
  // Under waiters_mutex_: a waiter leaves the list (and may destroy its condition variable) only
  // after this has finished. The waiters' own mutexes are not taken, so there is no lock order.
  const std::scoped_lock guard(waiters_mutex_);
  for (std::condition_variable_any* cv : waiters_) cv->notify_all();
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
