// A call run on its own std::jthread, so that a test can watch other things meanwhile (a
// server's requests in flight, a gate, a probe) and wait for the call with a deadline. A test
// never hangs on it, even when the code under test deadlocks.
//
//   course::Background<bool> push([&](std::stop_token stop) { return queue.push(7, stop); });
//   EXPECT_FALSE(push.finished_within(150ms)) << "push() returned while the queue was full";
//   queue.pop();
//   ASSERT_TRUE(push.finished_within(5s)) << "a pop made room, but push() still waits";
//   EXPECT_TRUE(push.get());
//
// The call gets the thread's stop token when it takes a std::stop_token. What it threw, get()
// throws again in the test's thread, the same exception (EXPECT_THROW(call.get(), ...) works);
// error() gives it as text, with its type. A test that inspects many exceptions of its own
// types may rather catch them inside the call and return what it needs (exercise 08's Call).
//
// The end: the destructor requests a stop and waits for the call (stop_grace, scaled). A call
// that ignores the stop and never returns (a deadlock) cannot be joined: its thread is then
// parked, never joined, so that the test ends and reports; the process exits with the thread
// still blocked. Such a thread may still hold references to what the test destroys afterwards,
// which is why each test runs in a process of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

#include "course/time_scale.hpp"

namespace course {

// "std::logic_error: what()" (the exception's dynamic type, demangled, and its message).
std::string describe_exception(const std::exception& error);

namespace detail {
// Keeps a thread that will never be joined until the process exits (a static list that is never
// destroyed: neither joined at exit nor reported as a leak).
void park_forever(std::jthread thread);
}  // namespace detail

template <class R>
class Background {
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

 public:
  template <class F>
  explicit Background(F call, std::chrono::milliseconds stop_grace = std::chrono::seconds(5))
      : state_(std::make_shared<State>()), stop_grace_(stop_grace) {
    // The thread shares the state, not this object: a parked thread outlives it.
    thread_ = std::jthread([state = state_, call = std::move(call)](std::stop_token stop) mutable {
      run(*state, call, std::move(stop));
    });
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  Background(Background&&) = delete;
  Background& operator=(Background&&) = delete;

  ~Background() {
    thread_.request_stop();
    if (finished_within(stop_grace_)) return;  // the jthread member joins at once
    detail::park_forever(std::move(thread_));  // see the header comment
  }

  void request_stop() { thread_.request_stop(); }

  // Whether the call returned (or threw) within `timeout`, scaled. 0 asks without waiting.
  bool finished_within(std::chrono::milliseconds timeout) {
    std::unique_lock lock(state_->mutex);
    return state_->done_changed.wait_for(lock, scaled(timeout), [&] { return state_->done; });
  }

  // After finished_within() was true: "" when the call returned, else what it threw
  // ("std::logic_error: not implemented yet").
  [[nodiscard]] std::string error() const {
    const std::scoped_lock lock(state_->mutex);
    return state_->error;
  }
  // After finished_within() was true: how long the call ran.
  [[nodiscard]] std::chrono::nanoseconds wall() const {
    const std::scoped_lock lock(state_->mutex);
    return state_->wall;
  }

  // Waits for the call (without a deadline: ask finished_within() first), then returns what it
  // returned, or throws what it threw.
  R get() {
    std::unique_lock lock(state_->mutex);
    state_->done_changed.wait(lock, [&] { return state_->done; });
    if (state_->exception) std::rethrow_exception(state_->exception);
    if constexpr (!std::is_void_v<R>) return std::move(*state_->value);
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    std::optional<Value> value;    // empty when the call threw
    std::exception_ptr exception;  // what it threw, for get()
    std::string error;             // the same as text, with the exception's type
    std::chrono::nanoseconds wall{0};
  };

  template <class F>
  static void run(State& state, F& call, std::stop_token stop) {
    const auto start = std::chrono::steady_clock::now();
    std::optional<Value> value;
    std::exception_ptr exception;
    std::string error;
    try {
      value.emplace(invoke(call, std::move(stop)));
    } catch (const std::exception& e) {
      exception = std::current_exception();
      error = describe_exception(e);
    } catch (...) {
      exception = std::current_exception();
      error = "an exception that is not a std::exception";
    }
    const auto wall = std::chrono::steady_clock::now() - start;
    const std::scoped_lock lock(state.mutex);
    state.value = std::move(value);
    state.exception = std::move(exception);
    state.error = std::move(error);
    state.wall = wall;
    state.done = true;
    state.done_changed.notify_all();
  }

  template <class F>
  static Value invoke(F& call, std::stop_token stop) {
    if constexpr (std::is_invocable_v<F&, std::stop_token>) {
      if constexpr (std::is_void_v<R>) {
        call(std::move(stop));
        return {};
      } else {
        return call(std::move(stop));
      }
    } else {
      if constexpr (std::is_void_v<R>) {
        call();
        return {};
      } else {
        return call();
      }
    }
  }

  std::shared_ptr<State> state_;
  std::chrono::milliseconds stop_grace_;
  std::jthread thread_;  // last: it starts after the state exists
};

}  // namespace course
