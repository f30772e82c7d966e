// Exercise 07: the types shared by the pipeline you write (src/pipeline.hpp), the log analysis
// built on it (src/analyse.hpp, src/analyse_async.hpp), the tests and the `logpipe` command.
// Every rule written here is tested; the README says which level each belongs to.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "logpipe/log.hpp"

namespace logpipe {

// What happens when a stage's function throws.
enum class ErrorPolicy {
  // The first error stops every stage; run() joins every thread, then rethrows that error (the
  // same exception object, once). No item reaches the sink after the error was thrown.
  fail_fast,
  // The item that failed is dropped and recorded as a DeadLetter; the run goes on. Once more
  // than `error_budget` items have failed, the run stops as under fail_fast and run() throws
  // ErrorBudgetExceeded.
  skip,
};

// How one stage runs.
struct StageOptions {
  // Threads that run the stage's function at the same time (fan-out); their outputs merge into
  // the one queue of the next stage (fan-in). At least 1.
  std::size_t workers = 1;
  // false: items leave the stage in whatever order its workers finish them. true: they leave in
  // the order the source produced them; the source then produces item s only while
  // s < (the next item this stage releases) + PipelineOptions::reorder_window, and a stop ends
  // its wait for that.
  bool ordered = false;
};

// How a whole run goes.
struct PipelineOptions {
  std::size_t capacity = 64;        // of each queue between two stages; at least 1
  std::size_t reorder_window = 64;  // see StageOptions::ordered; at least 1
  ErrorPolicy policy = ErrorPolicy::fail_fast;
  std::size_t error_budget = std::numeric_limits<std::size_t>::max();  // see ErrorPolicy::skip
  // RunResult keeps the first dead_letter_limit DeadLetters and only counts the rest, so that
  // memory does not grow with the number of bad items.
  std::size_t dead_letter_limit = 1000;
};

// An item that failed under ErrorPolicy::skip: its sequence number (the source numbers its items
// 0, 1, 2, ...), the stage that threw, and the exception's what().
struct DeadLetter {
  std::uint64_t sequence = 0;
  std::string stage;
  std::string error;

  bool operator==(const DeadLetter&) const = default;
};

// Thrown by run() under ErrorPolicy::skip when more than error_budget items failed.
class ErrorBudgetExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a run ended (when run() returns instead of throwing).
enum class Outcome {
  completed,       // the source ran dry and every item went through
  finished_early,  // the sink said it wanted no more items
  stopped,         // a stop was requested from outside
};

// The notes' exec/wait model, per stage. Counts are exact once run() has returned.
struct StageStats {
  std::string name;
  std::size_t workers = 0;
  std::uint64_t items_in = 0;   // calls of the stage's function (a source: calls that gave an item)
  std::uint64_t items_out = 0;  // items pushed to the next stage (a sink: 0)
  std::uint64_t errors = 0;     // calls that threw
  std::size_t peak_queue = 0;   // most items ever waiting in the stage's input queue (a source: 0)
  std::chrono::nanoseconds busy{0};     // summed over its workers: time inside its function
  std::chrono::nanoseconds blocked{0};  // summed over its workers: time waiting to pop or push
};

struct RunResult {
  Outcome outcome = Outcome::completed;
  std::vector<StageStats> stages;        // in pipeline order, the source first
  std::vector<DeadLetter> dead_letters;  // the first dead_letter_limit failed items (skip)
  std::uint64_t failed = 0;              // every failed item (skip), kept or not
};

// The log analysis (src/analyse.hpp and src/analyse_async.hpp).
struct AnalyseOptions {
  std::size_t workers = 2;  // of the parse stage
  // Items in each queue (threads: no stage's peak_queue exceeds it) or channel (async); at least 1.
  std::size_t capacity = 16;
  // Threads version only (level 4b): the lines the read stage puts in one item, at least 1. A
  // batch holds lines of one file and goes on as soon as it is full or its file has ended, so
  // the read stage hands on one item per batch_lines lines of each file (each file's last batch
  // may be shorter), and every later stage one item per batch.
  std::size_t batch_lines = 1024;
  // Threads version only: a batch also goes on as soon as its lines, each counted with one byte
  // for its '\n', hold at least this many bytes; at least 1. Long lines then cannot make the
  // queues hold gigabytes (capacity x batch_lines x a line).
  std::size_t batch_bytes = std::size_t{1} << 20;
  ErrorPolicy policy = ErrorPolicy::skip;
  std::size_t error_budget = std::numeric_limits<std::size_t>::max();
  // At most this many dead letters are kept in Analysis::run.dead_letters: the first ones in file
  // order, whatever order the parse workers finish in (under fail_fast, likewise, the error
  // thrown is the first malformed line in file order);
  // Report::malformed and RunResult::failed count them all. A malformed line's dead letter has
  // stage "parse" and, as its sequence, the line's index among all the lines read (0, 1, 2, ...
  // across the files, in order), whatever the batches.
  std::size_t dead_letter_limit = 1000;
  LogFilter filter{};
  // Called by the parse stage with every record it makes, before the filter looks at it: from
  // the parse workers, so from several threads at once in the threads version. The tests use it
  // as a probe; leave it empty otherwise.
  std::function<void(const LogRecord&)> on_record{};
  // Threads version only: called about every progress_interval with a snapshot of the stages'
  // statistics while the run goes on (from a thread of the analysis, never two calls at once),
  // and once more with the final statistics before analyse() returns.
  std::function<void(const std::vector<StageStats>&)> on_progress{};
  std::chrono::milliseconds progress_interval{200};
};

struct Analysis {
  Report report;
  // The threads version fills every field; the async version fills outcome and dead_letters,
  // and leaves stages empty.
  RunResult run;
};

}  // namespace logpipe
