#include "course/probes.hpp"

#include <algorithm>
#include <sstream>

#include "course/time_scale.hpp"
#include "course/trace.hpp"

namespace course {

OverlapProbe::Inside::~Inside() {
  if (probe_ != nullptr) probe_->leave();
}

bool OverlapProbe::Inside::wait() { return probe_ != nullptr && probe_->wait_until_formed(); }

OverlapProbe::OverlapProbe(std::size_t n, std::chrono::milliseconds timeout)
    : n_(n), timeout_(scaled(timeout)) {}

OverlapProbe::Inside OverlapProbe::enter() {
  std::lock_guard lock(mutex_);
  ++current_;
  peak_ = std::max(peak_, current_);
  if (current_ >= n_ && !broken_ && !formed_) {
    formed_ = true;
    changed_.notify_all();
  }
  return Inside(*this);
}

void OverlapProbe::leave() {
  std::lock_guard lock(mutex_);
  --current_;
}

bool OverlapProbe::wait_until_formed() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  changed_.wait_until(lock, deadline, [this] { return formed_ || broken_; });
  if (!formed_ && !broken_) {
    // One waiter giving up means the threads did not overlap in time: fail everyone now rather
    // than letting each later caller wait out its own timeout.
    broken_ = true;
    changed_.notify_all();
  }
  return formed_;
}

bool OverlapProbe::arrive_and_wait() {
  Inside inside = enter();
  return inside.wait();
}

bool OverlapProbe::formed() const {
  std::lock_guard lock(mutex_);
  return formed_;
}

bool OverlapProbe::broken() const {
  std::lock_guard lock(mutex_);
  return broken_;
}

std::size_t OverlapProbe::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::size_t OverlapProbe::peak() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

std::string OverlapProbe::describe() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  if (formed_) {
    out << "overlap probe formed: " << n_ << " threads were inside the region at the same time";
    return out.str();
  }
  out << "overlap probe: " << n_ << " threads had to be inside the region at the same time, but ";
  if (peak_ == 0) {
    out << "none entered it";
  } else if (peak_ == 1) {
    out << "they only ever entered it one at a time";
  } else {
    out << "at most " << peak_ << " were inside together";
  }
  if (!broken_) {
    out << " so far (still waiting).";
    return out.str();
  }
  out << " (gave up after " << format_duration(timeout_) << "). ";
  if (peak_ <= 1) {
    out << "Something serialises them: these threads should run the region concurrently.";
  } else {
    out << "Something lets only " << peak_ << " in at once where " << n_ << " should overlap.";
  }
  return out.str();
}

PeakCounter::Guard PeakCounter::enter() {
  const std::size_t now_inside = current_.fetch_add(1) + 1;
  std::size_t peak = peak_.load();
  while (now_inside > peak && !peak_.compare_exchange_weak(peak, now_inside)) {
  }
  return Guard(*this);
}

}  // namespace course
