// Exercise 07, levels 2 to 5: a pipeline of stages joined by bounded queues. Your file: read
// ../README.md first.
//
//   source --q--> stage --q--> stage --q--> sink        (each q one of your BoundedQueues)
//
// Keep the class names and the public member functions below (the tests, src/analyse.hpp and the
// benchmark use them); how a Pipeline remembers its stages is yours to choose. A suggestion, which
// the README develops: let Pipeline<T> hold a std::function that, given a run's shared state and
// the queue its last stage must write into, sets up every stage so far.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <type_traits>
#include <vector>

#include "bounded_queue.hpp"
#include "logpipe/api.hpp"

namespace logpipe {

namespace detail {
[[noreturn]] inline void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) +
                         " is not implemented yet (levels 2-5 of 07-data-pipeline)");
}
}  // namespace detail

// A complete pipeline, ready to run once.
class Plan {
 public:
  // Runs every stage until the source runs dry, the sink says "no more", `stop` is triggered or
  // an error stops it (see ErrorPolicy). Returns only once every thread it started has ended.
  // Throws std::invalid_argument for a capacity or reorder window of 0, and std::logic_error if
  // called a second time.
  RunResult run(const PipelineOptions& /*options*/, const std::stop_token& /*stop*/ = {}) {
    detail::not_implemented("Plan::run");
  }

  // The statistics so far; callable from any thread while run() runs (empty before).
  std::vector<StageStats> snapshot() const { detail::not_implemented("Plan::snapshot"); }
};

// A pipeline under construction whose last stage makes items of type T. (The parameters are taken
// by value so that your version can move them into the stages; the skeleton does not use them.)
// NOLINTBEGIN(performance-unnecessary-value-param)
template <class T>
class Pipeline {
 public:
  // The source: next() is called on one thread, again and again, until it returns std::nullopt.
  // Its items are numbered 0, 1, 2, ... in the order it makes them.
  template <class Next>
  requires std::same_as<std::invoke_result_t<Next&>, std::optional<T>>
  static Pipeline source(std::string /*name*/, Next /*next*/) {
    detail::not_implemented("Pipeline::source");
  }

  // A stage that turns each item into fn(item). fn is called from `workers` threads at once.
  template <class F, class U = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>>
  Pipeline<U> map(std::string /*name*/, StageOptions /*options*/, F /*fn*/) && {
    detail::not_implemented("Pipeline::map");
  }

  // A stage that passes on the items for which keep(item) is true and drops the others.
  template <class F>
  requires std::predicate<F&, const T&> Pipeline<T> filter(std::string /*name*/,
                                                           StageOptions /*options*/, F /*keep*/) &&
  {
    detail::not_implemented("Pipeline::filter");
  }

  // The last stage: consume(item) for every item, from `workers` threads. If consume returns
  // bool, false means "no more": the run stops every stage and ends as Outcome::finished_early.
  // A sink cannot be ordered (std::invalid_argument): make the stage before it ordered and give
  // the sink one worker.
  template <class F>
  requires std::invocable<F&, T&&> Plan sink(std::string /*name*/, StageOptions /*options*/,
                                             F /*consume*/) && {
    detail::not_implemented("Pipeline::sink");
  }
};

// NOLINTEND(performance-unnecessary-value-param)

}  // namespace logpipe
