// Helpers for exercise 07's tests: a count of the threads a run left alive, and the kit's gates,
// calls in the background and waits that always end (course/background.hpp, course/waits.hpp).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include "course/background.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"
#include "course/waits.hpp"

namespace logpipe::testing {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

using course::Background;
using course::eventually;
using course::Gate;
using course::settled;

// Counts the threads that are alive and have touched it: a thread calls enter() (from a stage's
// function); a thread_local guard takes it off the count when that thread ends. After run()
// returns, alive() must be 0: every thread the pipeline started has been joined.
class ThreadCensus {
 public:
  void enter() {
    thread_local Guard guard;
    if (guard.census == nullptr) {
      guard.census = this;
      alive_.fetch_add(1);
      ever_.fetch_add(1);
    }
  }
  std::size_t alive() const { return alive_.load(); }
  std::size_t ever() const { return ever_.load(); }

 private:
  struct Guard {
    ThreadCensus* census = nullptr;
    ~Guard() {
      if (census != nullptr) census->alive_.fetch_sub(1);
    }
  };
  std::atomic<std::size_t> alive_{0};
  std::atomic<std::size_t> ever_{0};
};

}  // namespace logpipe::testing
