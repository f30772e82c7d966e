// Exercise 07, levels 2 to 5: a pipeline of stages joined by bounded queues.
//
//   source --q--> stage --q--> stage --q--> sink        (each q a BoundedQueue, level 1)
//
// Every stage runs its function on its own threads (`workers` of them: fan-out) and pushes what
// it makes into the one queue of the next stage (fan-in). The end of the stream travels down the
// pipeline as a closed queue: a stage closes its output queue once, when its last worker is done.
//
// Each item carries the sequence number the source gave it. An item that a filter rejects, or
// that failed under ErrorPolicy::skip, goes on as a *hole*: a numbered slot with no value, so an
// ordered stage downstream knows not to wait for it.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "bounded_queue.hpp"
#include "logpipe/api.hpp"

namespace logpipe {

namespace detail {

using Clock = std::chrono::steady_clock;

// One item on its way: its place in the source's order, and its value (none for a hole).
template <class T>
struct Slot {
  std::uint64_t sequence = 0;
  std::optional<T> value;
};

template <class T>
using Queue = BoundedQueue<Slot<T>>;

// Adds the time a scope takes to a counter (busy or blocked time of a stage).
class Stopwatch {
 public:
  explicit Stopwatch(std::atomic<std::int64_t>& total) : total_(total), start_(Clock::now()) {}
  Stopwatch(const Stopwatch&) = delete;
  Stopwatch& operator=(const Stopwatch&) = delete;
  ~Stopwatch() {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_);
    total_.fetch_add(elapsed.count(), std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t>& total_;
  Clock::time_point start_;
};

// A stage's statistics while it runs: atomics, so that snapshot() may read them at any time.
struct StageCounters {
  std::string name;
  std::size_t workers = 0;
  std::function<std::size_t()> peak_queue;  // reads the input queue's peak; empty for a source
  std::atomic<std::uint64_t> items_in{0};
  std::atomic<std::uint64_t> items_out{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::int64_t> busy_ns{0};
  std::atomic<std::int64_t> blocked_ns{0};

  StageStats snapshot() const {
    return StageStats{.name = name,
                      .workers = workers,
                      .items_in = items_in.load(),
                      .items_out = items_out.load(),
                      .errors = errors.load(),
                      .peak_queue = peak_queue ? peak_queue() : 0,
                      .busy = std::chrono::nanoseconds(busy_ns.load()),
                      .blocked = std::chrono::nanoseconds(blocked_ns.load())};
  }
};

// How far the source may run ahead of an ordered stage: it may produce item s only while
// s < next_to_release + window. This bounds the items the ordered stage must hold back, and it
// cannot deadlock: the item the stage waits for is always already produced.
class OrderWindow {
 public:
  explicit OrderWindow(std::size_t window) : window_(window) {}

  bool wait_for_room(std::uint64_t sequence, const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    return released_.wait(lock, stop, [&] { return sequence < next_ + window_; });
  }

  void advance_to(std::uint64_t next) {
    {
      const std::scoped_lock lock(mutex_);
      next_ = next;
    }
    released_.notify_all();
  }

 private:
  const std::size_t window_;
  std::mutex mutex_;
  std::condition_variable_any released_;
  std::uint64_t next_ = 0;
};

// What one run shares between its stages: the stop source every queue wait listens to, the
// threads, the first error, the dead letters and the statistics.
class Run {
 public:
  Run(const PipelineOptions& options, const std::stop_token& outside)
      : options_(options), outside_(outside, RequestStop{&stop_}) {}
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  ~Run() { join(); }

  const PipelineOptions& options() const { return options_; }
  std::stop_token token() const { return stop_.get_token(); }

  // Owns an object (a queue, an output) for as long as the run lives.
  template <class X, class... Args>
  X& make(Args&&... args) {
    auto object = std::make_shared<X>(std::forward<Args>(args)...);
    X& ref = *object;
    owned_.push_back(std::move(object));
    return ref;
  }

  StageCounters& add_stage(std::string name, std::size_t workers,
                           std::function<std::size_t()> peak_queue) {
    auto counters = std::make_unique<StageCounters>();
    counters->name = std::move(name);
    counters->workers = workers;
    counters->peak_queue = std::move(peak_queue);
    const std::scoped_lock lock(mutex_);
    stages_.push_back(std::move(counters));
    return *stages_.back();
  }

  OrderWindow& add_window() {
    windows_.push_back(&make<OrderWindow>(options_.reorder_window));
    return *windows_.back();
  }
  const std::vector<OrderWindow*>& windows() const { return windows_; }

  // Threads are created only once every stage is set up (start()), so that no stage sees a
  // half-built pipeline.
  void add_worker(std::function<void()> body) { bodies_.push_back(std::move(body)); }
  void start() {
    for (auto& body : bodies_) threads_.emplace_back(std::move(body));
    bodies_.clear();
  }
  void join() { threads_.clear(); }  // std::jthread joins in its destructor

  // Called from a catch block when a stage's function threw on item `sequence`. True if the run
  // goes on (skip, within the budget); false if it stops, as it now does everywhere.
  bool item_failed(std::uint64_t sequence, const std::string& stage) {
    const std::exception_ptr error = std::current_exception();
    const std::scoped_lock lock(mutex_);
    if (options_.policy == ErrorPolicy::skip && first_error_ == nullptr) {
      ++failed_;
      // Only the first ones are kept: memory must not grow with the number of bad items.
      if (dead_letters_.size() < options_.dead_letter_limit) {
        dead_letters_.push_back(DeadLetter{sequence, stage, what(error)});
      }
      if (failed_ <= options_.error_budget) return true;
      stop_with(std::make_exception_ptr(ErrorBudgetExceeded(
          std::to_string(failed_) + " items failed, more than the error budget of " +
          std::to_string(options_.error_budget) + "; the last in stage '" + stage +
          "': " + what(error))));
      return false;
    }
    stop_with(error);
    return false;
  }

  // Called when something outside a stage's function fails (the source, or the machinery).
  void fatal() {
    const std::exception_ptr error = std::current_exception();
    const std::scoped_lock lock(mutex_);
    stop_with(error);
  }

  // The sink wants no more items: every stage stops, and the run is not an error.
  void finish_early() {
    {
      const std::scoped_lock lock(mutex_);
      if (first_error_ == nullptr) finished_early_ = true;
    }
    stop_.request_stop();
  }

  std::vector<StageStats> snapshot() const {
    const std::scoped_lock lock(mutex_);
    std::vector<StageStats> stats;
    for (const auto& stage : stages_) stats.push_back(stage->snapshot());
    return stats;
  }

  // After join(): the result, or the first error rethrown.
  RunResult result() {
    if (first_error_ != nullptr) std::rethrow_exception(first_error_);
    RunResult result;
    result.stages = snapshot();
    result.dead_letters = std::move(dead_letters_);
    result.failed = failed_;
    if (finished_early_) {
      result.outcome = Outcome::finished_early;
    } else if (stop_.stop_requested()) {
      result.outcome = Outcome::stopped;
    } else {
      result.outcome = Outcome::completed;
    }
    return result;
  }

 private:
  struct RequestStop {
    std::stop_source* source;
    void operator()() const { source->request_stop(); }
  };

  static std::string what(const std::exception_ptr& error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "an exception that is not a std::exception";
    }
  }

  // Keeps the first error only, and stops every stage. Called with mutex_ held.
  void stop_with(const std::exception_ptr& error) {
    if (first_error_ == nullptr) first_error_ = error;
    stop_.request_stop();
  }

  const PipelineOptions options_;
  std::stop_source stop_;
  std::stop_callback<RequestStop> outside_;  // a stop from outside stops the run
  mutable std::mutex mutex_;                 // guards the errors and the stage list
  std::exception_ptr first_error_;
  std::vector<DeadLetter> dead_letters_;
  std::uint64_t failed_ = 0;
  bool finished_early_ = false;
  std::vector<std::unique_ptr<StageCounters>> stages_;
  std::vector<OrderWindow*> windows_;
  std::vector<std::shared_ptr<void>> owned_;
  std::vector<std::function<void()>> bodies_;
  std::vector<std::jthread> threads_;  // last: destroyed (joined) first
};

// Where a stage's workers put their items. The last of `workers` to finish closes the queue:
// that is the end of the stream, sent exactly once, after every item of the stage.
template <class T>
class Output {
 public:
  Output(Queue<T>& queue, std::size_t workers) : queue_(queue), running_(workers) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  virtual ~Output() = default;

  // False when the run stopped: the worker then ends.
  virtual bool emit(Slot<T> slot, const std::stop_token& stop) {
    return queue_.push(std::move(slot), stop);
  }

  void worker_done() {
    if (running_.fetch_sub(1) == 1) queue_.close();
  }

 protected:
  Queue<T>& queue_;

 private:
  std::atomic<std::size_t> running_;
};

// The output of an ordered stage: items that finish early wait in `held_` until every earlier
// item has been released, then leave in sequence order.
template <class T>
class OrderedOutput final : public Output<T> {
 public:
  OrderedOutput(Queue<T>& queue, std::size_t workers, OrderWindow& window)
      : Output<T>(queue, workers), window_(window) {}

  bool emit(Slot<T> slot, const std::stop_token& stop) override {
    // One worker releases at a time, in order; the others wait their turn on the mutex.
    const std::scoped_lock lock(mutex_);
    held_.emplace(slot.sequence, std::move(slot));
    while (!held_.empty() && held_.begin()->first == next_) {
      if (!this->queue_.push(std::move(held_.begin()->second), stop)) return false;
      held_.erase(held_.begin());
      ++next_;
      window_.advance_to(next_);
    }
    return true;
  }

 private:
  OrderWindow& window_;
  std::mutex mutex_;
  std::map<std::uint64_t, Slot<T>> held_;
  std::uint64_t next_ = 0;
};

// Pops with the time spent waiting counted as blocked.
template <class T>
std::optional<Slot<T>> timed_pop(Queue<T>& in, StageCounters& counters,
                                 const std::stop_token& stop) {
  const Stopwatch blocked(counters.blocked_ns);
  return in.pop(stop);
}

template <class T>
bool timed_emit(Output<T>& out, Slot<T> slot, StageCounters& counters,
                const std::stop_token& stop) {
  const bool real = slot.value.has_value();
  const Stopwatch blocked(counters.blocked_ns);
  if (!out.emit(std::move(slot), stop)) return false;
  if (real) counters.items_out.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// The source: numbers the items and waits for every ordered stage's window.
template <class T, class Next>
void source_loop(Run& run, StageCounters& counters, Next& next, Output<T>& out) {
  const std::stop_token stop = run.token();
  try {
    for (std::uint64_t sequence = 0; !stop.stop_requested(); ++sequence) {
      for (OrderWindow* window : run.windows()) {
        const Stopwatch blocked(counters.blocked_ns);
        if (!window->wait_for_room(sequence, stop)) return out.worker_done();
      }
      std::optional<T> item;
      {
        const Stopwatch busy(counters.busy_ns);
        item = next();
      }
      if (!item) break;  // the source ran dry
      counters.items_in.fetch_add(1, std::memory_order_relaxed);
      if (!timed_emit(out, Slot<T>{sequence, std::move(item)}, counters, stop)) break;
    }
  } catch (...) {
    // A source has no item to skip: whatever the policy, its error ends the run.
    counters.errors.fetch_add(1, std::memory_order_relaxed);
    run.fatal();
  }
  out.worker_done();
}

// A middle stage's worker: `work` turns a value into the slot to pass on (a value or a hole).
template <class In, class Out, class Work>
void stage_loop(Run& run, StageCounters& counters, Queue<In>& in, Output<Out>& out, Work& work) {
  const std::stop_token stop = run.token();
  try {
    while (std::optional<Slot<In>> slot = timed_pop(in, counters, stop)) {
      Slot<Out> result{slot->sequence, std::nullopt};
      if (slot->value) {
        counters.items_in.fetch_add(1, std::memory_order_relaxed);
        try {
          const Stopwatch busy(counters.busy_ns);
          result.value = work(std::move(*slot->value));
        } catch (...) {
          counters.errors.fetch_add(1, std::memory_order_relaxed);
          // Skip: the failed item goes on as a hole. Fail fast: this worker ends here.
          if (!run.item_failed(slot->sequence, counters.name)) break;
        }
      }
      if (!timed_emit(out, std::move(result), counters, stop)) break;
    }
  } catch (...) {
    run.fatal();
  }
  out.worker_done();
}

// A sink's worker: `consume` returns false when it wants no more items.
template <class T, class Consume>
void sink_loop(Run& run, StageCounters& counters, Queue<T>& in, Consume& consume) {
  const std::stop_token stop = run.token();
  try {
    while (std::optional<Slot<T>> slot = timed_pop(in, counters, stop)) {
      if (!slot->value) continue;  // a hole: nothing to consume
      counters.items_in.fetch_add(1, std::memory_order_relaxed);
      bool more = true;
      try {
        const Stopwatch busy(counters.busy_ns);
        more = consume(std::move(*slot->value));
      } catch (...) {
        counters.errors.fetch_add(1, std::memory_order_relaxed);
        if (!run.item_failed(slot->sequence, counters.name)) break;
      }
      if (!more) {
        run.finish_early();
        break;
      }
    }
  } catch (...) {
    run.fatal();
  }
}

inline void check_workers(const StageOptions& options, const std::string& name) {
  if (options.workers == 0) {
    throw std::invalid_argument("stage '" + name + "': workers must be at least 1");
  }
}

}  // namespace detail

class Plan;

// A pipeline under construction whose last stage makes items of type T. Start it with
// Pipeline<T>::source, add stages with map and filter, and end it with sink, which gives a Plan
// to run. Each call takes the pipeline by value (std::move it along).
template <class T>
class Pipeline {
 public:
  // Sets up, in a run, everything that writes into `downstream`.
  using Launch = std::function<void(detail::Run&, detail::Queue<T>& downstream)>;

  // The source: `next()` is called on one thread, again and again, until it returns
  // std::nullopt. Its items are numbered 0, 1, 2, ... in the order it makes them.
  template <class Next>
  requires std::same_as<std::invoke_result_t<Next&>, std::optional<T>>
  static Pipeline source(std::string name, Next next) {
    return Pipeline([name = std::move(name), next = std::move(next)](
                        detail::Run& run, detail::Queue<T>& downstream) mutable {
      auto& counters = run.add_stage(name, 1, {});
      auto& out = run.make<detail::Output<T>>(downstream, 1);
      run.add_worker(
          [&run, &counters, &out, &next] { detail::source_loop(run, counters, next, out); });
    });
  }

  // A stage that turns each item into fn(item). fn is called from `workers` threads at once.
  template <class F, class U = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>>
  Pipeline<U> map(std::string name, StageOptions options, F fn) && {
    detail::check_workers(options, name);
    auto work = [fn = std::move(fn)](T&& item) mutable -> std::optional<U> {
      return fn(std::move(item));
    };
    return std::move(*this).template then<U>(std::move(name), options, std::move(work));
  }

  // A stage that passes on the items for which keep(item) is true, and drops the others.
  template <class F>
  requires std::predicate<F&, const T&> Pipeline<T> filter(std::string name, StageOptions options,
                                                           F keep) && {
    detail::check_workers(options, name);
    auto work = [keep = std::move(keep)](T&& item) mutable -> std::optional<T> {
      if (keep(std::as_const(item))) return std::optional<T>(std::move(item));
      return std::nullopt;
    };
    return std::move(*this).template then<T>(std::move(name), options, std::move(work));
  }

  // The last stage: consume(item) for every item, from `workers` threads. If consume returns
  // bool, false means "no more": the run stops every stage and ends as Outcome::finished_early.
  // A sink cannot be ordered: make the stage before it ordered and give the sink one worker.
  template <class F>
  requires std::invocable<F&, T&&> Plan sink(std::string name, StageOptions options, F consume) &&;

  // Sets up a stage whose workers turn each value into an optional result (none: a hole).
  template <class U, class Work>
  Pipeline<U> then(std::string name, StageOptions options, Work work) && {
    return Pipeline<U>([upstream = std::move(launch_), name = std::move(name), options,
                        work = std::move(work)](detail::Run& run,
                                                detail::Queue<U>& downstream) mutable {
      auto& in = run.make<detail::Queue<T>>(run.options().capacity);
      upstream(run, in);  // the stages before this one first: statistics in pipeline order
      auto& counters = run.add_stage(name, options.workers, [&in] { return in.peak_size(); });
      detail::Output<U>* out = nullptr;
      if (options.ordered) {
        out = &run.make<detail::OrderedOutput<U>>(downstream, options.workers, run.add_window());
      } else {
        out = &run.make<detail::Output<U>>(downstream, options.workers);
      }
      for (std::size_t i = 0; i < options.workers; ++i) {
        run.add_worker([&run, &counters, &in, out, &work] {
          detail::stage_loop(run, counters, in, *out, work);
        });
      }
    });
  }

  explicit Pipeline(Launch launch) : launch_(std::move(launch)) {}

 private:
  template <class>
  friend class Pipeline;
  Launch launch_;
};

// A complete pipeline, ready to run once.
class Plan {
 public:
  using Launch = std::function<void(detail::Run&)>;
  explicit Plan(Launch launch) : launch_(std::move(launch)) {}

  // Runs every stage until the source runs dry, the sink says "no more", `stop` is triggered or
  // an error stops it (see ErrorPolicy). Returns only once every thread it started has ended.
  // Throws std::invalid_argument for a capacity or reorder window of 0, and std::logic_error if
  // called a second time.
  RunResult run(const PipelineOptions& options, const std::stop_token& stop = {}) {
    if (options.capacity == 0) throw std::invalid_argument("pipeline: capacity must be at least 1");
    if (options.reorder_window == 0) {
      throw std::invalid_argument("pipeline: reorder_window must be at least 1");
    }
    std::shared_ptr<detail::Run> run;
    {
      const std::scoped_lock lock(mutex_);
      if (current_ != nullptr) throw std::logic_error("pipeline: a plan runs only once");
      current_ = run = std::make_shared<detail::Run>(options, stop);
    }
    launch_(*run);
    run->start();
    run->join();
    return run->result();
  }

  // The statistics so far; callable from any thread while run() runs (empty before).
  std::vector<StageStats> snapshot() const {
    std::shared_ptr<detail::Run> run;
    {
      const std::scoped_lock lock(mutex_);
      run = current_;
    }
    return run != nullptr ? run->snapshot() : std::vector<StageStats>{};
  }

 private:
  Launch launch_;
  mutable std::mutex mutex_;
  std::shared_ptr<detail::Run> current_;
};

template <class T>
template <class F>
requires std::invocable<F&, T&&> Plan Pipeline<T>::sink(std::string name, StageOptions options,
                                                        F consume) && {
  detail::check_workers(options, name);
  if (options.ordered) {
    throw std::invalid_argument("stage '" + name +
                                "': a sink cannot be ordered; order the stage before it and give "
                                "the sink one worker");
  }
  auto wants_more = [consume = std::move(consume)](T&& item) mutable -> bool {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, T&&>>) {
      consume(std::move(item));
      return true;
    } else {
      return static_cast<bool>(consume(std::move(item)));
    }
  };
  return Plan([upstream = std::move(launch_), name = std::move(name), options,
               wants_more = std::move(wants_more)](detail::Run& run) mutable {
    auto& in = run.make<detail::Queue<T>>(run.options().capacity);
    upstream(run, in);
    auto& counters = run.add_stage(name, options.workers, [&in] { return in.peak_size(); });
    for (std::size_t i = 0; i < options.workers; ++i) {
      run.add_worker([&run, &counters, &in, &wants_more] {
        detail::sink_loop(run, counters, in, wants_more);
      });
    }
  });
}

}  // namespace logpipe
