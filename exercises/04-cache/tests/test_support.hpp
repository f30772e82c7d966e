// Helpers shared by the cache's tests: the three levels, a fake clock, a value whose copy can be
// held inside the cache, and the kit's call on its own thread with a deadline.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "cache.hpp"
#include "course/background.hpp"
#include "course/fake_clock.hpp"
#include "course/probes.hpp"
#include "course/time_scale.hpp"

namespace cache::testing {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

static_assert(ConcurrentCache<MutexCache<std::string, int>>);
static_assert(ConcurrentCache<SharedCache<std::string, int>>);
static_assert(ConcurrentCache<ShardedCache<std::string, int>>);

// Options on a fake clock. Level 3 gets one stripe when a test needs the exact LRU order of a
// single list; `shards` says how many otherwise.
inline Options options_on(course::FakeClock& clock, std::size_t capacity, std::size_t shards = 4) {
  return Options{.capacity = capacity, .shards = shards, .now = [&clock] { return clock.now(); }};
}

// Holds copies of a Gated value: while armed, a thread that copies one (inside the cache's get,
// where the copy happens under the cache's lock) either enters an overlap probe or waits at the
// gate until the test opens it. Every wait has a deadline, so a test never hangs on the gate.
// Unlike the kit's course::Gate, it decides under one lock whether a copy waits and waits there,
// so a test can hold, open and hold again without a copy slipping between the two.
class CopyGate {
 public:
  void hold_copies() { set_mode(Mode::hold); }
  void probe_copies(course::OverlapProbe& probe) {
    const std::scoped_lock lock(mutex_);
    probe_ = &probe;
    mode_ = Mode::probe;
  }
  void open() { set_mode(Mode::open); }

  // Called by Gated's copy constructor.
  void on_copy() {
    std::unique_lock lock(mutex_);
    if (mode_ == Mode::probe) {
      course::OverlapProbe* probe = probe_;
      lock.unlock();
      probe->arrive_and_wait();
      return;
    }
    if (mode_ != Mode::hold) return;
    ++held_;
    changed_.notify_all();
    changed_.wait_for(lock, course::scaled(milliseconds(10'000)),
                      [this] { return mode_ != Mode::hold; });
    --held_;
    changed_.notify_all();
  }

  // Waits (at most `timeout`, scaled) until n copies are held at the gate.
  bool wait_until_held(std::size_t n, milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, course::scaled(timeout), [&] { return held_ >= n; });
  }

 private:
  enum class Mode { open, hold, probe };
  void set_mode(Mode mode) {
    const std::scoped_lock lock(mutex_);
    mode_ = mode;
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  Mode mode_ = Mode::open;
  std::size_t held_ = 0;
  course::OverlapProbe* probe_ = nullptr;
};

// A cached value whose copies go through a CopyGate. Moves do not, so putting one costs nothing.
struct Gated {
  CopyGate* gate = nullptr;
  int payload = 0;

  Gated(CopyGate& g, int p) : gate(&g), payload(p) {}
  Gated(const Gated& other) : gate(other.gate), payload(other.payload) { gate->on_copy(); }
  Gated(Gated&&) noexcept = default;
  Gated& operator=(const Gated& other) {
    if (this == &other) return *this;
    gate = other.gate;
    payload = other.payload;
    gate->on_copy();
    return *this;
  }
  Gated& operator=(Gated&&) noexcept = default;
  ~Gated() = default;
};

// The stop grace of a course::Background that runs a cache call: the calls take no stop token,
// so one that deadlocked never returns; the test parks it at once and ends with its own message.
inline constexpr milliseconds kNoStopGrace{0};

}  // namespace cache::testing
