// Exercise 07, levels 1 to 5: the bounded queue and the pipeline built on it. Every test ends
// even against a submission that deadlocks: waits have deadlines, and runs get a stop token.
#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "bounded_queue.hpp"
#include "course/probes.hpp"
#include "pipeline.hpp"
#include "test_support.hpp"

namespace logpipe::testing {
namespace {

// A source of the numbers 0 .. n-1 (n = nullopt: endless), counting its calls.
struct Counting {
  std::optional<std::uint64_t> n;
  std::atomic<std::uint64_t>* produced;
  std::optional<std::uint64_t> operator()() {
    const std::uint64_t next = produced->load();
    if (n && next >= *n) return std::nullopt;
    produced->fetch_add(1);
    return next;
  }
};

// Every stage function goes through one std::function type per signature, so that the pipeline's
// templates are instantiated a few times, not once per lambda: this file compiles once per
// implementation (every mutant included), and that keeps it quick.
using Source = std::function<std::optional<std::uint64_t>()>;
using Map = std::function<std::uint64_t(std::uint64_t)>;
using Keep = std::function<bool(const std::uint64_t&)>;
using Consume = std::function<void(std::uint64_t)>;
using Until = std::function<bool(std::uint64_t)>;  // a sink that may say "no more"
using ToText = std::function<std::string(std::uint64_t)>;
using ConsumeText = std::function<void(std::string&&)>;

std::vector<std::uint64_t> iota(std::uint64_t n) {
  std::vector<std::uint64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

const StageStats& stage(const RunResult& result, const std::string& name) {
  for (const auto& s : result.stages) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no stage named '" + name + "' in the run's statistics");
}

// ---- level 1: the queue ----

TEST(Queue, PopsInTheOrderPushed) {
  BoundedQueue<std::string> queue(4);
  EXPECT_EQ(queue.capacity(), 4U);
  for (const char* word : {"a", "b", "c"}) EXPECT_TRUE(queue.push(word));
  EXPECT_EQ(queue.size(), 3U);
  EXPECT_EQ(queue.pop(), "a");
  EXPECT_TRUE(queue.push("d"));
  EXPECT_EQ(queue.pop(), "b");
  EXPECT_EQ(queue.pop(), "c");
  EXPECT_EQ(queue.pop(), "d");
  EXPECT_EQ(queue.size(), 0U);
  EXPECT_EQ(queue.peak_size(), 3U) << "peak_size() is the most items the queue ever held";
  EXPECT_FALSE(queue.closed());
}

TEST(Queue, RejectsACapacityOfZero) { EXPECT_THROW(BoundedQueue<int>(0), std::invalid_argument); }

TEST(Queue, PushWaitsWhileFull) {
  BoundedQueue<int> queue(2);
  ASSERT_TRUE(queue.push(1));
  ASSERT_TRUE(queue.push(2));
  std::atomic<bool> pushed{false};
  Background<bool> pusher([&](const std::stop_token& stop) {
    const bool ok = queue.push(3, stop);
    pushed = true;
    return ok;
  });
  EXPECT_FALSE(pusher.finished_within(150ms))
      << "push() returned while the queue was full (capacity 2, 2 items): a bounded queue makes "
         "the producer wait for room; that wait is the back-pressure";
  EXPECT_EQ(queue.pop(), 1);
  ASSERT_TRUE(pusher.finished_within(5000ms)) << "a pop made room, but the waiting push never "
                                                 "woke: notify the pushers when an item leaves";
  EXPECT_TRUE(pusher.get());
  EXPECT_EQ(queue.pop(), 2);
  EXPECT_EQ(queue.pop(), 3);
}

TEST(Queue, PopWaitsWhileEmpty) {
  BoundedQueue<int> queue(2);
  Background<std::optional<int>> popper(
      [&](const std::stop_token& stop) { return queue.pop(stop); });
  EXPECT_FALSE(popper.finished_within(150ms))
      << "pop() returned from an empty, open queue: it must wait for an item";
  ASSERT_TRUE(queue.push(7));
  ASSERT_TRUE(popper.finished_within(5000ms))
      << "an item arrived, but the waiting pop never woke: notify the poppers on push";
  EXPECT_EQ(popper.get(), 7);
}

TEST(Queue, CloseDrainsThenEndsTheStream) {
  BoundedQueue<int> queue(4);
  ASSERT_TRUE(queue.push(1));
  ASSERT_TRUE(queue.push(2));
  queue.close();
  EXPECT_TRUE(queue.closed());
  EXPECT_FALSE(queue.push(3)) << "push() after close() must fail";
  EXPECT_EQ(queue.pop(), 1) << "items pushed before close() still come out";
  EXPECT_EQ(queue.pop(), 2);
  EXPECT_EQ(queue.pop(), std::nullopt) << "a closed, empty queue ends the stream";
  EXPECT_EQ(queue.pop(), std::nullopt);
}

// Starts `n` threads that each call `call` and counts those that returned.
template <class Call>
void blocked_callers_all_wake(std::size_t n, Call call, const std::function<void()>& wake,
                              const std::string& what) {
  std::atomic<std::size_t> entered{0};
  std::atomic<std::size_t> returned{0};
  std::stop_source give_up;
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < n; ++i) {
      threads.emplace_back([&] {
        ++entered;
        call(give_up.get_token());
        ++returned;
      });
    }
    ASSERT_TRUE(eventually([&] { return entered == n; }));
    std::this_thread::sleep_for(course::scaled(100ms));  // let them reach their wait
    EXPECT_EQ(returned, 0U) << what << ": a caller returned before close()";
    wake();
    const bool all = eventually([&] { return returned == n; }, 3000ms);
    EXPECT_TRUE(all) << what << ": close() woke " << returned << " of " << n
                     << " blocked callers. close() changes the condition every waiter waits for, "
                        "so it must notify_all, on both condition variables";
    give_up.request_stop();  // so that the threads end even if close() did not wake them
  }
}

TEST(Queue, CloseWakesEveryBlockedPopper) {
  BoundedQueue<int> queue(2);
  blocked_callers_all_wake(
      4, [&](const std::stop_token& stop) { EXPECT_EQ(queue.pop(stop), std::nullopt); },
      [&] { queue.close(); }, "4 pops on an empty queue");
}

TEST(Queue, CloseWakesEveryBlockedPusher) {
  BoundedQueue<int> queue(1);
  ASSERT_TRUE(queue.push(0));
  blocked_callers_all_wake(
      4, [&](const std::stop_token& stop) { EXPECT_FALSE(queue.push(1, stop)); },
      [&] { queue.close(); }, "4 pushes on a full queue");
}

TEST(Queue, StopEndsBlockedPushAndPop) {
  BoundedQueue<int> empty(1);
  Background<std::optional<int>> popper(
      [&](const std::stop_token& stop) { return empty.pop(stop); });
  ASSERT_FALSE(popper.finished_within(100ms));
  popper.request_stop();
  ASSERT_TRUE(popper.finished_within(3000ms))
      << "pop() kept waiting after its stop token was triggered: wait on the condition variable "
         "with the token (std::condition_variable_any::wait(lock, token, predicate))";
  EXPECT_EQ(popper.get(), std::nullopt);

  BoundedQueue<int> full(1);
  ASSERT_TRUE(full.push(1));
  Background<bool> pusher([&](const std::stop_token& stop) { return full.push(2, stop); });
  ASSERT_FALSE(pusher.finished_within(100ms));
  pusher.request_stop();
  ASSERT_TRUE(pusher.finished_within(3000ms))
      << "push() kept waiting after its stop token was triggered";
  EXPECT_FALSE(pusher.get()) << "a push that was stopped must return false";
  EXPECT_EQ(full.size(), 1U) << "a stopped push must not add its item";

  std::stop_source stopped;
  stopped.request_stop();
  EXPECT_EQ(full.pop(stopped.get_token()), std::nullopt)
      << "pop() with a stop already requested must return std::nullopt at once, even with items "
         "left: a cancelled pipeline stops, it does not drain";
}

// Many producers and consumers on a tiny queue: every item must come out exactly once and the run
// must end. A lost wake-up shows as a hang (caught by the deadline); an `if` where a `while` is
// needed shows as a popper that takes an item another popper already took.
TEST(Queue, ManyProducersAndConsumersLoseNothing) {
  constexpr std::size_t kProducers = 4;
  constexpr std::size_t kConsumers = 4;
  constexpr std::uint64_t kPerProducer = 5000;
  for (const std::size_t capacity : {1U, 3U}) {
    BoundedQueue<std::uint64_t> queue(capacity);
    std::atomic<std::uint64_t> sum{0};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::size_t> producers_left{kProducers};
    Background<bool> run([&](const std::stop_token& stop) {
      std::vector<std::jthread> threads;
      for (std::size_t p = 0; p < kProducers; ++p) {
        threads.emplace_back([&, p] {
          for (std::uint64_t i = 0; i < kPerProducer; ++i) {
            if (!queue.push(p * kPerProducer + i + 1, stop)) break;
          }
          if (--producers_left == 0) queue.close();
        });
      }
      for (std::size_t c = 0; c < kConsumers; ++c) {
        threads.emplace_back([&] {
          while (std::optional<std::uint64_t> item = queue.pop(stop)) {
            sum += *item;
            ++count;
          }
        });
      }
      return true;
    });
    ASSERT_TRUE(run.finished_within(60000ms))
        << "4 producers and 4 consumers on a queue of capacity " << capacity
        << " did not finish within 60 s: " << count << " of " << kProducers * kPerProducer
        << " items came out. A waiter that was never woken (a lost wake-up) is the usual cause";
    constexpr std::uint64_t kTotal = kProducers * kPerProducer;
    EXPECT_EQ(count, kTotal) << "capacity " << capacity;
    EXPECT_EQ(sum, kTotal * (kTotal + 1) / 2)
        << "capacity " << capacity << ": some item came out twice or not at all";
  }
}

// ---- level 2: a linear pipeline ----

TEST(Linear, OneWorkerPerStageKeepsEveryItemInOrder) {
  std::atomic<std::uint64_t> produced{0};
  std::vector<std::uint64_t> seen;
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{1000, &produced})
                  .map("double", {}, Map([](std::uint64_t x) { return 2 * x; }))
                  .map("to text", {}, ToText([](std::uint64_t x) { return std::to_string(x); }))
                  .sink("collect", {},
                        ConsumeText([&](std::string&& s) { seen.push_back(std::stoull(s)); }));
  const RunResult result = plan.run({.capacity = 8});
  EXPECT_EQ(result.outcome, Outcome::completed);
  std::vector<std::uint64_t> expected;
  for (std::uint64_t x : iota(1000)) expected.push_back(2 * x);
  EXPECT_EQ(seen, expected) << "with one worker per stage and FIFO queues the sink must see every "
                               "item once, in the source's order";
  ASSERT_EQ(result.stages.size(), 4U) << "one StageStats per stage, the source first";
  EXPECT_EQ(result.stages[0].name, "numbers");
  EXPECT_EQ(result.stages[3].name, "collect");
}

TEST(Linear, AnEmptySourceCompletes) {
  std::atomic<std::uint64_t> produced{0};
  std::atomic<int> consumed{0};
  Plan plan = Pipeline<std::uint64_t>::source("none", Counting{0, &produced})
                  .map("id", {.workers = 3}, Map([](std::uint64_t x) { return x; }))
                  .sink("count", {}, Consume([&](std::uint64_t) { ++consumed; }));
  Background<RunResult> run([&](const std::stop_token& stop) { return plan.run({}, stop); });
  ASSERT_TRUE(run.finished_within(5000ms))
      << "a pipeline whose source gives nothing never ended: the end of the stream must reach "
         "the sink even when no item does";
  EXPECT_EQ(run.get().outcome, Outcome::completed);
  EXPECT_EQ(consumed, 0);
}

TEST(Linear, StatisticsCountEveryStage) {
  std::atomic<std::uint64_t> produced{0};
  Plan plan =
      Pipeline<std::uint64_t>::source("numbers", Counting{100, &produced})
          .filter("even", {.workers = 2}, Keep([](const std::uint64_t& x) { return x % 2 == 0; }))
          .map("check", {.workers = 2}, Map([](std::uint64_t x) {
                 if (x % 10 == 0) throw std::runtime_error("bad " + std::to_string(x));
                 std::this_thread::sleep_for(2ms);
                 return x;
               }))
          .sink("sum", {}, Consume([](std::uint64_t) {}));
  const RunResult result = plan.run({.capacity = 4, .policy = ErrorPolicy::skip});
  ASSERT_EQ(result.stages.size(), 4U);
  const auto& source = stage(result, "numbers");
  const auto& even = stage(result, "even");
  const auto& check = stage(result, "check");
  const auto& sum = stage(result, "sum");
  EXPECT_EQ(source.workers, 1U);
  EXPECT_EQ(even.workers, 2U);
  EXPECT_EQ(source.items_in, 100U) << "a source's items_in counts the items it gave";
  EXPECT_EQ(source.items_out, 100U);
  EXPECT_EQ(even.items_in, 100U);
  EXPECT_EQ(even.items_out, 50U) << "a filter's items_out counts only the items it kept";
  EXPECT_EQ(check.items_in, 50U);
  EXPECT_EQ(check.errors, 10U) << "0, 10, ..., 90 threw";
  EXPECT_EQ(check.items_out, 40U);
  EXPECT_EQ(sum.items_in, 40U);
  EXPECT_EQ(sum.items_out, 0U);
  EXPECT_GE(check.busy, 40 * 2ms) << "40 calls of 2 ms each: busy time is the time inside the "
                                     "stage's function, summed over its workers";
  for (const auto& s : result.stages) {
    EXPECT_LE(s.peak_queue, 4U) << s.name << ": a queue of capacity 4 held more than 4 items";
  }
  EXPECT_EQ(source.peak_queue, 0U) << "a source has no input queue";
}

TEST(Linear, BlockedTimeIsTheWaitForItems) {
  bool given = false;
  Plan plan =
      Pipeline<std::uint64_t>::source("slow start", Source([&]() -> std::optional<std::uint64_t> {
                                        if (given) return std::nullopt;
                                        std::this_thread::sleep_for(300ms);
                                        given = true;
                                        return 1;
                                      }))
          .sink("waiter", {}, Consume([](std::uint64_t) {}));
  const RunResult result = plan.run({});
  EXPECT_GE(stage(result, "waiter").blocked, 250ms)
      << course::kTimingMark
      << "the sink waited about 300 ms for its first item: that is blocked (wait) time";
  EXPECT_GE(stage(result, "slow start").busy, 300ms)
      << "the source spent 300 ms inside its function: that is busy (exec) time";
}

TEST(Linear, SnapshotShowsTheRunWhileItGoes) {
  Gate gate;
  std::atomic<std::uint64_t> produced{0};
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{10, &produced})
                  .sink("held", {}, Consume([&](std::uint64_t x) {
                          if (x == 5) gate.wait();
                        }));
  EXPECT_TRUE(plan.snapshot().empty()) << "snapshot() before run() has no stages";
  Background<RunResult> run([&](const std::stop_token& stop) { return plan.run({}, stop); });
  ASSERT_TRUE(eventually([&] { return gate.waiting() == 1; }));
  const std::vector<StageStats> during = plan.snapshot();
  gate.open();
  ASSERT_TRUE(run.finished_within(5000ms));
  ASSERT_EQ(during.size(), 2U) << "snapshot() while running lists every stage";
  EXPECT_EQ(during[0].name, "numbers");
  EXPECT_EQ(during[1].name, "held");
  EXPECT_EQ(during[1].items_in, 6U) << "the sink was inside its 6th call (item 5)";
  EXPECT_EQ(run.get().stages[1].items_in, 10U);
}

// ---- level 3: fan-out and fan-in ----

TEST(FanOut, WorkersOfAStageRunAtTheSameTime) {
  course::OverlapProbe probe(4, 5000ms);
  std::atomic<std::uint64_t> produced{0};
  std::multiset<std::uint64_t> seen;
  std::mutex source_mutex;
  std::set<std::thread::id> source_threads;
  Counting numbers{40, &produced};
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Source([&] {
                                                const std::scoped_lock lock(source_mutex);
                                                source_threads.insert(std::this_thread::get_id());
                                                return numbers();
                                              }))
                  .map("square", {.workers = 4}, Map([&](std::uint64_t x) {
                         probe.arrive_and_wait();
                         return x * x;
                       }))
                  .sink("collect", {}, Consume([&](std::uint64_t x) { seen.insert(x); }));
  Background<RunResult> run(
      [&](const std::stop_token& stop) { return plan.run({.capacity = 8}, stop); });
  ASSERT_TRUE(run.finished_within(30000ms));
  EXPECT_TRUE(probe.formed()) << "a stage with workers = 4 must run its function on 4 threads at "
                                 "once (fan-out). "
                              << probe.describe();
  std::multiset<std::uint64_t> expected;
  for (std::uint64_t x : iota(40)) expected.insert(x * x);
  EXPECT_EQ(seen, expected) << "a parallel stage may reorder items, but each must arrive once";
  EXPECT_EQ(source_threads.size(), 1U) << "the source's next() must run on one thread";
}

TEST(FanOut, TheStreamEndsOnlyAfterTheLastWorker) {
  // Item 0 is held inside the stage until every other item has reached the sink. If the stage
  // ends the stream when its first worker runs out of input, the sink stops and item 0 is lost.
  constexpr std::uint64_t kItems = 50;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> consumed{0};
  std::multiset<std::uint64_t> seen;
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{kItems, &produced})
                  .map("slow first", {.workers = 4}, Map([&](std::uint64_t x) {
                         if (x == 0) eventually([&] { return consumed == kItems - 1; }, 5000ms);
                         return x;
                       }))
                  .sink("collect", {}, Consume([&](std::uint64_t x) {
                          seen.insert(x);
                          ++consumed;
                        }));
  Background<RunResult> run(
      [&](const std::stop_token& stop) { return plan.run({.capacity = 4}, stop); });
  ASSERT_TRUE(run.finished_within(30000ms));
  EXPECT_EQ(seen.count(0), 1U)
      << "item 0 was still inside a worker of the fan-out stage when the sink saw the end of the "
         "stream, so it was lost. The end of the stream must be sent once, by the last worker "
         "of the stage to finish (count the workers still running)";
  EXPECT_EQ(seen.size(), kItems);
}

TEST(FanOut, FanInMergesSeveralSinkWorkers) {
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> sum{0};
  course::OverlapProbe probe(2, 5000ms);
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{1000, &produced})
                  .map("plus one", {.workers = 3}, Map([](std::uint64_t x) { return x + 1; }))
                  .sink("add", {.workers = 2}, Consume([&](std::uint64_t x) {
                          if (x <= 2) probe.arrive_and_wait();
                          sum += x;
                        }));
  Background<RunResult> run(
      [&](const std::stop_token& stop) { return plan.run({.capacity = 4}, stop); });
  ASSERT_TRUE(run.finished_within(30000ms));
  EXPECT_TRUE(probe.formed()) << "a sink with 2 workers must consume on 2 threads at once. "
                              << probe.describe();
  EXPECT_EQ(sum, 1000U * 1001U / 2U);
}

// ---- level 3: back-pressure ----

TEST(FanOut, BoundedQueuesHoldBackTheSource) {
  // A sink that takes nothing until the source has gone as far as it can: with bounded queues
  // the source then waits, with (capacities + workers) items between it and the sink.
  constexpr std::size_t kCapacity = 4;
  std::atomic<std::uint64_t> produced{0};
  Gate sink_gate;
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{2000, &produced})
                  .map("a", {.workers = 2}, Map([](std::uint64_t x) { return x; }))
                  .map("b", {.workers = 2}, Map([](std::uint64_t x) { return x; }))
                  .sink("slow", {}, Consume([&](std::uint64_t) { sink_gate.wait(); }));
  Background<RunResult> run(
      [&](const std::stop_token& stop) { return plan.run({.capacity = kCapacity}, stop); });
  const std::uint64_t in_flight = settled(produced);
  sink_gate.open();
  ASSERT_TRUE(run.finished_within(30000ms));
  // 3 queues, 2 + 2 + 1 workers each holding one item, and the source's own.
  const std::uint64_t bound = 3 * kCapacity + 5 + 1;
  EXPECT_LE(in_flight, bound)
      << "while the sink took nothing, the source produced " << in_flight
      << " items; with 3 queues of capacity " << kCapacity << " and 5 workers at most " << bound
      << " fit between the source and the sink. A queue that never makes push() wait lets the "
         "source run ahead without limit, and memory grows with the input";
  const RunResult result = run.get();
  EXPECT_EQ(stage(result, "slow").peak_queue, kCapacity)
      << "the sink's input queue should have filled up to its capacity while the sink waited";
}

TEST(FanOut, ASourceThatFitsInTheQueuesIsNotHeldBack) {
  // Below the bound: with its 2 workers held, stage "a" and its queue take 2 + kCapacity items.
  // A source of exactly that many must give them all and be asked for the next (its end) while
  // nothing downstream moves: a bounded queue makes push() wait only when it is full.
  constexpr std::size_t kCapacity = 4;
  constexpr std::uint64_t kItems = 2 + kCapacity;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<bool> asked_past_the_end{false};
  Gate gate;
  Plan plan =
      Pipeline<std::uint64_t>::source("numbers", Source([&]() -> std::optional<std::uint64_t> {
                                        if (produced == kItems) {
                                          asked_past_the_end = true;
                                          return std::nullopt;
                                        }
                                        return produced++;
                                      }))
          .map("a", {.workers = 2}, Map([&](std::uint64_t x) {
                 gate.wait();
                 return x;
               }))
          .sink("drop", {}, Consume([](std::uint64_t) {}));
  Background<RunResult> run(
      [&](const std::stop_token& stop) { return plan.run({.capacity = kCapacity}, stop); });
  const bool ended = eventually([&] { return asked_past_the_end.load(); }, 5000ms);
  const std::uint64_t given = produced;
  gate.open();
  ASSERT_TRUE(run.finished_within(30000ms));
  EXPECT_TRUE(ended) << "while stage 'a' held its 2 items, the source gave " << given << " of its "
                     << kItems << " items and was not asked for more; 2 workers and a queue of "
                     << "capacity " << kCapacity << " take all " << kItems
                     << ", so push() waited on a queue that was not full";
  EXPECT_EQ(run.get().outcome, Outcome::completed);
}

// ---- level 4: ordered stages ----

TEST(Ordered, AnOrderedStageReleasesItemsInSourceOrder) {
  // Item 0 finishes last (it waits until items 1..3 are done): the stage must hold 1..3 back.
  std::atomic<std::uint64_t> produced{0};
  std::atomic<int> done_after_0{0};
  std::vector<std::uint64_t> seen;
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{200, &produced})
                  .map("ordered", {.workers = 4, .ordered = true}, Map([&](std::uint64_t x) {
                         if (x == 0) eventually([&] { return done_after_0 >= 3; }, 3000ms);
                         if (x >= 1 && x <= 3) ++done_after_0;
                         return x;
                       }))
                  .sink("collect", {}, Consume([&](std::uint64_t x) { seen.push_back(x); }));
  Background<RunResult> run([&](const std::stop_token& stop) {
    return plan.run({.capacity = 8, .reorder_window = 16}, stop);
  });
  ASSERT_TRUE(run.finished_within(30000ms));
  ASSERT_EQ(seen.size(), 200U);
  const auto first_out_of_order = std::is_sorted_until(seen.begin(), seen.end());
  EXPECT_EQ(first_out_of_order, seen.end())
      << "an ordered stage with 4 workers let item " << *first_out_of_order
      << " out of order: items that finish early must wait until every earlier item has left";
}

TEST(Ordered, HolesKeepAnOrderedStageMoving) {
  // A filter drops the odd numbers and a skipped error drops 10: the ordered stage after them
  // must not wait for items that will never come.
  std::atomic<std::uint64_t> produced{0};
  std::vector<std::uint64_t> seen;
  Plan plan =
      Pipeline<std::uint64_t>::source("numbers", Counting{100, &produced})
          .filter("even", {.workers = 3}, Keep([](const std::uint64_t& x) { return x % 2 == 0; }))
          .map("not ten", {.workers = 2}, Map([](std::uint64_t x) {
                 if (x == 10) throw std::runtime_error("ten");
                 return x;
               }))
          .map("ordered", {.workers = 3, .ordered = true}, Map([](std::uint64_t x) { return x; }))
          .sink("collect", {}, Consume([&](std::uint64_t x) { seen.push_back(x); }));
  Background<RunResult> run([&](const std::stop_token& stop) {
    return plan.run({.capacity = 4, .reorder_window = 8, .policy = ErrorPolicy::skip}, stop);
  });
  ASSERT_TRUE(run.finished_within(30000ms))
      << "an ordered stage after a filter never finished: a dropped item must still tell the "
         "ordered stage that its sequence number will not come (pass it on as a hole)";
  std::vector<std::uint64_t> expected;
  for (std::uint64_t x = 0; x < 100; x += 2) {
    if (x != 10) expected.push_back(x);
  }
  EXPECT_EQ(seen, expected);
}

TEST(Ordered, AFullReorderWindowHoldsBackTheSource) {
  constexpr std::size_t kWindow = 4;
  std::atomic<std::uint64_t> produced{0};
  Gate item0;
  std::vector<std::uint64_t> seen;
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{300, &produced})
                  .map("ordered", {.workers = 2, .ordered = true}, Map([&](std::uint64_t x) {
                         if (x == 0) item0.wait();
                         return x;
                       }))
                  .sink("collect", {}, Consume([&](std::uint64_t x) { seen.push_back(x); }));
  Background<RunResult> run([&](const std::stop_token& stop) {
    return plan.run({.capacity = 64, .reorder_window = kWindow}, stop);
  });
  // The bound from both sides: the source fills the window (items 0 to 3), then waits.
  const auto filled_by = std::chrono::steady_clock::now() + course::scaled(5000ms);
  while (produced.load() < kWindow && std::chrono::steady_clock::now() < filled_by) {
    std::this_thread::sleep_for(1ms);
  }
  const std::uint64_t ahead = settled(produced);
  item0.open();
  ASSERT_TRUE(run.finished_within(30000ms));
  EXPECT_LE(ahead, kWindow)
      << "while item 0 was held in the ordered stage, the source produced " << ahead
      << " items; with a reorder window of " << kWindow << " it may produce items 0 to "
      << kWindow - 1
      << " (item s only while s < the next release + the window) and must then wait. Without "
         "the window the ordered stage must hold back an unbounded number of finished items";
  EXPECT_GE(ahead, kWindow) << "while item 0 was held, the source produced only " << ahead
                            << " items: the window of " << kWindow << " lets it produce " << kWindow
                            << " before it waits";
  EXPECT_EQ(seen, iota(300));
}

// A stop must end the source's wait for the reorder window too, not only the queues' waits.
// Item 0 is held; the source fills the window of 2 and waits. The test sees it asleep there,
// requests the stop, and lets item 0 go a second later. A source whose wait ignores the stop is
// still waiting then, and the release of item 0 sends it on to produce another item after the
// stop.
TEST(Ordered, AStopEndsTheSourcesWaitForTheReorderWindow) {
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> produced_after_stop{0};
  std::atomic<pid_t> source_thread{0};
  std::atomic<bool> stop_sent{false};
  Gate item0;
  Plan plan =
      Pipeline<std::uint64_t>::source("numbers", Source([&]() -> std::optional<std::uint64_t> {
                                        source_thread = static_cast<pid_t>(::syscall(SYS_gettid));
                                        if (stop_sent) ++produced_after_stop;
                                        const std::uint64_t n = produced++;
                                        if (n >= 100) return std::nullopt;
                                        return n;
                                      }))
          .map("ordered", {.workers = 2, .ordered = true}, Map([&](std::uint64_t x) {
                 if (x == 0) item0.wait();
                 return x;
               }))
          .sink("collect", {}, Consume([](std::uint64_t) {}));
  Background<RunResult> run([&](const std::stop_token& stop) {
    return plan.run({.capacity = 64, .reorder_window = 2}, stop);
  });
  // Items 0 and 1 produced; then the source waits for the window: asleep (its thread's state is
  // S) and producing nothing.
  const auto asleep = [&] {
    const pid_t tid = source_thread.load();
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const auto end_of_name = text.rfind(')');
    return tid != 0 && end_of_name != std::string::npos && end_of_name + 2 < text.size() &&
           text[end_of_name + 2] == 'S';
  };
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(5000ms);
  while ((produced.load() < 2 || !asleep()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(produced.load(), 2U) << course::kTimingMark
                                 << "with item 0 held and a reorder window of 2, the source "
                                    "should produce items 0 and 1 and wait";
  stop_sent = true;
  run.request_stop();
  std::this_thread::sleep_for(course::scaled(1000ms));  // a window for the source to act on it
  item0.open();
  ASSERT_TRUE(run.finished_within(10000ms))
      << course::kTimingMark << "the run did not end after the stop";
  EXPECT_EQ(produced_after_stop.load(), 0U)
      << "the source was waiting for the reorder window when the stop came, and produced "
      << produced_after_stop.load()
      << " more item(s) after it, once item 0 was released a second later: its wait for the "
         "window ignored the stop. Wait with the stop token (condition_variable_any::wait(lock, "
         "stop, predicate)) and end the source when it is requested";
  EXPECT_EQ(run.get().outcome, Outcome::stopped);
}

// ---- level 5: errors ----

// An error type of the test's own: run() must rethrow this very exception, not a copy of its
// message in another type.
struct StageFailure : std::runtime_error {
  explicit StageFailure(std::uint64_t item)
      : std::runtime_error("stage failed on item " + std::to_string(item)), item(item) {}
  std::uint64_t item;
};

struct FailFastProbe {
  ThreadCensus census;
  std::atomic<bool> thrown{false};
  std::mutex mutex;
  std::set<std::uint64_t> started_after_error;
  std::set<std::uint64_t> consumed;
  std::atomic<std::uint64_t> calls_after_error{0};
};

TEST(Errors, FailFastRethrowsAMiddleStagesErrorOnce) {
  FailFastProbe probe;
  std::atomic<std::uint64_t> produced{0};
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{std::nullopt, &produced})
                  .map("fails at 50", {.workers = 3}, Map([&](std::uint64_t x) {
                         probe.census.enter();
                         if (probe.thrown) {
                           ++probe.calls_after_error;
                           {
                             const std::scoped_lock lock(probe.mutex);
                             probe.started_after_error.insert(x);
                           }
                           // Long enough for the pipeline to see the error and stop: this item
                           // must then go nowhere.
                           std::this_thread::sleep_for(course::scaled(300ms));
                         }
                         if (x == 50) {
                           probe.thrown = true;
                           throw StageFailure(x);
                         }
                         return x;
                       }))
                  .sink("collect", {}, Consume([&](std::uint64_t x) {
                          probe.census.enter();
                          const std::scoped_lock lock(probe.mutex);
                          probe.consumed.insert(x);
                        }));
  Background<int> run([&](const std::stop_token& stop) {
    try {
      plan.run({.capacity = 4, .policy = ErrorPolicy::fail_fast}, stop);
      return 0;
    } catch (const StageFailure& e) {
      return e.item == 50 ? 1 : 2;
    } catch (...) {
      return 3;
    }
  });
  ASSERT_TRUE(run.finished_within(30000ms))
      << "run() did not return after a stage threw under fail_fast with an endless source: the "
         "error must stop every stage, the source included";
  EXPECT_EQ(run.get(), 1) << "run() must rethrow the stage's own exception (a StageFailure for "
                             "item 50); 0: it returned normally, 2: another StageFailure, 3: "
                             "another exception type (keep a std::exception_ptr and rethrow it)";
  EXPECT_EQ(probe.census.alive(), 0U) << probe.census.alive()
                                      << " thread(s) of the pipeline were still alive after run() "
                                         "returned: join every thread before returning or throwing";
  EXPECT_LE(probe.calls_after_error, 3U)
      << "after the error, the stage's 3 workers started " << probe.calls_after_error
      << " more calls (each of which lasts 300 ms): once the error has stopped the run, a worker "
         "may finish the item it holds, but must take no new one";
  const std::scoped_lock lock(probe.mutex);
  for (const std::uint64_t x : probe.started_after_error) {
    EXPECT_EQ(probe.consumed.count(x), 0U)
        << "item " << x
        << " was processed after the error and still reached the sink: under "
           "fail_fast nothing may be written after the first error";
  }
  EXPECT_EQ(probe.consumed.count(50), 0U);
}

TEST(Errors, FailFastStopsOnAnErrorInTheSourceOrTheSink) {
  {
    std::atomic<std::uint64_t> calls{0};
    Plan plan =
        Pipeline<std::uint64_t>::source("breaks", Source([&]() -> std::optional<std::uint64_t> {
                                          if (++calls == 10) throw StageFailure(9);
                                          return 1;
                                        }))
            .map("id", {.workers = 2}, Map([](std::uint64_t x) { return x; }))
            .sink("drop", {}, Consume([](std::uint64_t) {}));
    Background<int> run([&](const std::stop_token& stop) {
      try {
        plan.run({.capacity = 2, .policy = ErrorPolicy::skip}, stop);
        return 0;
      } catch (const StageFailure&) {
        return 1;
      } catch (...) {
        return 2;
      }
    });
    ASSERT_TRUE(run.finished_within(10000ms));
    EXPECT_EQ(run.get(), 1) << "an exception from the source ends the run and is rethrown, "
                               "whatever the policy (there is no item to skip)";
  }
  {
    std::atomic<std::uint64_t> produced{0};
    Plan plan = Pipeline<std::uint64_t>::source("endless", Counting{std::nullopt, &produced})
                    .sink("breaks", {}, Consume([](std::uint64_t x) {
                            if (x == 20) throw StageFailure(x);
                          }));
    Background<int> run([&](const std::stop_token& stop) {
      try {
        plan.run({.capacity = 4, .policy = ErrorPolicy::fail_fast}, stop);
        return 0;
      } catch (const StageFailure& e) {
        return e.item == 20 ? 1 : 2;
      } catch (...) {
        return 3;
      }
    });
    ASSERT_TRUE(run.finished_within(10000ms))
        << "an error in the sink did not stop the endless source";
    EXPECT_EQ(run.get(), 1) << "the sink's exception must be rethrown by run()";
  }
}

TEST(Errors, SkipRecordsDeadLettersAndGoesOn) {
  std::atomic<std::uint64_t> produced{0};
  std::mutex mutex;
  std::multiset<std::uint64_t> seen;
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{300, &produced})
                  .map("no sevens", {.workers = 3}, Map([](std::uint64_t x) {
                         if (x % 7 == 3) throw std::runtime_error("item " + std::to_string(x));
                         return x;
                       }))
                  .sink("collect", {.workers = 2}, Consume([&](std::uint64_t x) {
                          const std::scoped_lock lock(mutex);
                          seen.insert(x);
                        }));
  const RunResult result = plan.run({.capacity = 4, .policy = ErrorPolicy::skip});
  EXPECT_EQ(result.outcome, Outcome::completed);
  std::vector<std::uint64_t> failed;
  for (const auto& letter : result.dead_letters) {
    failed.push_back(letter.sequence);
    EXPECT_EQ(letter.stage, "no sevens");
    EXPECT_EQ(letter.error, "item " + std::to_string(letter.sequence))
        << "a dead letter keeps the exception's what()";
  }
  std::sort(failed.begin(), failed.end());
  std::vector<std::uint64_t> expected_failed;
  std::multiset<std::uint64_t> expected_seen;
  for (std::uint64_t x : iota(300)) {
    if (x % 7 == 3) {
      expected_failed.push_back(x);
    } else {
      expected_seen.insert(x);
    }
  }
  EXPECT_EQ(failed, expected_failed) << "one dead letter per failed item, with its sequence number";
  EXPECT_EQ(seen, expected_seen) << "every other item must reach the sink once";
  EXPECT_EQ(result.failed, expected_failed.size()) << "RunResult::failed counts every failed item";
}

TEST(Errors, DeadLettersAreCappedButAllCounted) {
  std::atomic<std::uint64_t> produced{0};
  Plan plan = Pipeline<std::uint64_t>::source("numbers", Counting{300, &produced})
                  .map("thirds fail", {.workers = 2}, Map([](std::uint64_t x) {
                         if (x % 3 == 0) throw std::runtime_error("item " + std::to_string(x));
                         return x;
                       }))
                  .sink("drop", {}, Consume([](std::uint64_t) {}));
  const RunResult result =
      plan.run({.capacity = 4, .policy = ErrorPolicy::skip, .dead_letter_limit = 10});
  EXPECT_EQ(result.outcome, Outcome::completed);
  EXPECT_EQ(result.dead_letters.size(), 10U)
      << "dead_letter_limit = 10: keep the first 10 dead letters and only count the rest, so "
         "that memory does not grow with the number of bad items";
  EXPECT_EQ(result.failed, 100U) << "RunResult::failed counts every failed item, kept or not";
}

TEST(Errors, AnExceededErrorBudgetStopsTheRun) {
  std::atomic<std::uint64_t> produced{0};
  Plan plan = Pipeline<std::uint64_t>::source("endless", Counting{std::nullopt, &produced})
                  .map("half fail", {.workers = 2}, Map([](std::uint64_t x) {
                         if (x % 2 == 1) throw std::runtime_error("odd");
                         return x;
                       }))
                  .sink("drop", {}, Consume([](std::uint64_t) {}));
  Background<int> run([&](const std::stop_token& stop) {
    try {
      plan.run({.capacity = 4, .policy = ErrorPolicy::skip, .error_budget = 5}, stop);
      return 0;
    } catch (const ErrorBudgetExceeded&) {
      return 1;
    } catch (...) {
      return 2;
    }
  });
  ASSERT_TRUE(run.finished_within(10000ms))
      << "errors went on past the budget of 5 and the run never stopped";
  EXPECT_EQ(run.get(), 1) << "more failed items than error_budget: run() must throw "
                             "ErrorBudgetExceeded (0: it returned, 2: another exception)";
}

// error_budget is a bound: exactly error_budget failed items are within it (the run completes),
// one more is over it.
TEST(Errors, TheErrorBudgetIsExact) {
  const auto run_with_budget = [](std::size_t budget) {
    std::atomic<std::uint64_t> produced{0};
    Plan plan = Pipeline<std::uint64_t>::source("twenty", Counting{20, &produced})
                    .map("five fail", {.workers = 2}, Map([](std::uint64_t x) {
                           if (x % 4 == 1) throw std::runtime_error("item " + std::to_string(x));
                           return x;
                         }))
                    .sink("drop", {}, Consume([](std::uint64_t) {}));
    return plan.run({.capacity = 4, .policy = ErrorPolicy::skip, .error_budget = budget});
  };
  try {
    const RunResult within = run_with_budget(5);
    EXPECT_EQ(within.outcome, Outcome::completed);
    EXPECT_EQ(within.failed, 5U);
  } catch (const ErrorBudgetExceeded& error) {
    ADD_FAILURE() << "5 failed items with error_budget = 5 are within the budget (only more "
                     "failures than error_budget stop the run), but run() threw: "
                  << error.what();
  }
  EXPECT_THROW((void)run_with_budget(4), ErrorBudgetExceeded)
      << "5 failed items with error_budget = 4: one over the budget";
}

// ---- level 5: stopping ----

TEST(Stop, ASinkThatWantsNoMoreStopsEveryStage) {
  ThreadCensus census;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> taken{0};
  Plan plan = Pipeline<std::uint64_t>::source("endless", Counting{std::nullopt, &produced})
                  .map("id", {.workers = 2}, Map([&](std::uint64_t x) {
                         census.enter();
                         return x;
                       }))
                  .sink("first ten", {}, Until([&](std::uint64_t) { return ++taken < 10; }));
  Background<RunResult> run(
      [&](const std::stop_token& stop) { return plan.run({.capacity = 4}, stop); });
  ASSERT_TRUE(run.finished_within(10000ms))
      << "the sink returned false after 10 items, but the endless source kept the run going: "
         "a sink that wants no more must stop every stage";
  const RunResult result = run.get();
  EXPECT_EQ(result.outcome, Outcome::finished_early);
  EXPECT_EQ(taken, 10U) << "the sink must not be called again once it returned false";
  EXPECT_EQ(census.alive(), 0U) << "threads still alive after run() returned";
}

TEST(Stop, AStopFromOutsideEndsTheRunWithinABoundedNumberOfItems) {
  // Every stage is held until the pipeline is full; then the test requests a stop and opens the
  // gate. Each worker may finish the item it holds; nothing new may start.
  constexpr std::size_t kCapacity = 3;
  ThreadCensus census;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> calls{0};
  Gate gate;
  Plan plan = Pipeline<std::uint64_t>::source("endless", Counting{std::nullopt, &produced})
                  .map("a", {.workers = 2}, Map([&](std::uint64_t x) {
                         census.enter();
                         ++calls;
                         return x;
                       }))
                  .map("held", {.workers = 2}, Map([&](std::uint64_t x) {
                         census.enter();
                         ++calls;
                         gate.wait();
                         return x;
                       }))
                  .sink("drop", {}, Consume([&](std::uint64_t) {
                          census.enter();
                          ++calls;
                        }));
  std::stop_source stop;
  Background<RunResult> run(
      [&](const std::stop_token&) { return plan.run({.capacity = kCapacity}, stop.get_token()); });
  settled(produced);
  const std::uint64_t calls_at_stop = calls;
  stop.request_stop();
  gate.open();
  ASSERT_TRUE(run.finished_within(10000ms))
      << "run() did not return after a stop was requested: every wait (push, pop, and any of "
         "your own) must end when the stop token is triggered";
  EXPECT_EQ(run.get().outcome, Outcome::stopped);
  const std::uint64_t after = calls - calls_at_stop;
  const std::uint64_t bound = 5 + 3 * kCapacity;
  EXPECT_LE(after, bound)
      << "after the stop, the stages made " << after
      << " more calls; with 5 workers and 3 queues of capacity " << kCapacity << " at most "
      << bound
      << " items can be in flight. A stopped pipeline must not drain its queues "
         "or keep reading its source";
  EXPECT_EQ(census.alive(), 0U) << "threads still alive after run() returned";
}

TEST(Stop, AStopAlreadyRequestedReturnsAtOnce) {
  std::atomic<std::uint64_t> produced{0};
  Plan plan = Pipeline<std::uint64_t>::source("endless", Counting{std::nullopt, &produced})
                  .sink("drop", {}, Consume([](std::uint64_t) {}));
  std::stop_source stop;
  stop.request_stop();
  Background<RunResult> run(
      [&](const std::stop_token&) { return plan.run({.capacity = 4}, stop.get_token()); });
  ASSERT_TRUE(run.finished_within(5000ms));
  EXPECT_EQ(run.get().outcome, Outcome::stopped);
  EXPECT_LE(produced, 1U) << "a run stopped before it began read its source anyway";
}

TEST(Stop, RejectsInvalidPipelines) {
  const auto source = [] {
    return Pipeline<std::uint64_t>::source("s",
                                           Source([] { return std::optional<std::uint64_t>(); }));
  };
  EXPECT_THROW((void)source().map("m", {.workers = 0}, Map([](std::uint64_t x) { return x; })),
               std::invalid_argument);
  EXPECT_THROW(
      (void)source().filter("f", {.workers = 0}, Keep([](const std::uint64_t&) { return true; })),
      std::invalid_argument);
  EXPECT_THROW((void)source().sink("k", {.workers = 0}, Consume([](std::uint64_t) {})),
               std::invalid_argument);
  EXPECT_THROW(
      (void)source().sink("k", {.workers = 1, .ordered = true}, Consume([](std::uint64_t) {})),
      std::invalid_argument)
      << "an ordered sink is refused: order the stage before it";
  {
    Plan plan = source().sink("k", {}, Consume([](std::uint64_t) {}));
    EXPECT_THROW(plan.run({.capacity = 0}), std::invalid_argument);
  }
  {
    Plan plan = source().sink("k", {}, Consume([](std::uint64_t) {}));
    EXPECT_THROW(plan.run({.reorder_window = 0}), std::invalid_argument);
  }
  {
    // The smallest values in range work: one worker, queues of capacity 1, a window of 1.
    std::atomic<std::uint64_t> produced{0};
    std::vector<std::uint64_t> seen;
    Plan smallest =
        Pipeline<std::uint64_t>::source("numbers", Counting{50, &produced})
            .map("ordered", {.workers = 1, .ordered = true}, Map([](std::uint64_t x) { return x; }))
            .sink("collect", {.workers = 1}, Consume([&](std::uint64_t x) { seen.push_back(x); }));
    Background<RunResult> run([&](const std::stop_token& stop) {
      return smallest.run({.capacity = 1, .reorder_window = 1}, stop);
    });
    ASSERT_TRUE(run.finished_within(10000ms))
        << "capacity 1 and reorder_window 1 are in range: the run must complete";
    EXPECT_EQ(run.get().outcome, Outcome::completed);
    EXPECT_EQ(seen, iota(50));
  }
  Plan plan = source().sink("k", {}, Consume([](std::uint64_t) {}));
  EXPECT_EQ(plan.run({}).outcome, Outcome::completed);
  EXPECT_THROW(plan.run({}), std::logic_error) << "a plan runs once";
}

}  // namespace
}  // namespace logpipe::testing
