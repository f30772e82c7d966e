// Helpers shared by the image filter's tests: the golden files, images to filter, runs with a
// deadline, and hooks that record every work item into a course::Trace.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "course/background.hpp"
#include "course/probes.hpp"
#include "course/temp_dir.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"
#include "course/trace.hpp"
#include "imgfilter/image.hpp"
#include "imgfilter/imgfilter.hpp"

namespace imgfilter::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- golden files (made by golden/make_golden.py with Pillow 9.4) ----

// COURSE_TEST_DATA_DIR: this folder, an absolute path given by CMake.
inline fs::path golden_dir() { return fs::path(COURSE_TEST_DATA_DIR) / "golden"; }

// The tests' own kernels, the same as KERNELS in make_golden.py: asymmetric ones, so that a kernel
// applied without Pillow's vertical flip gives other bytes, and extreme ones (sums in the billions,
// a negative scale, an offset past 255).
inline Filter test_kernel(const std::string& name) {
  Filter filter;
  filter.kind = FilterKind::kernel;
  if (name == "asym3") {
    filter.kernel = Kernel{3, {1, 2, 3, 0, 0, 0, -1, -2, -5}, 3, 10};
  } else if (name == "asym5") {
    filter.kernel.size = 5;
    for (int i = 0; i < 25; ++i) filter.kernel.weights.push_back(static_cast<float>(i - 9));
    filter.kernel.scale = 7;
    filter.kernel.offset = -20;
  } else if (name == "extreme3") {
    filter.kernel =
        Kernel{3, {100000, -250000, 100000, 300000, 1, -300000, -100000, 250000, -99999}, 1, 0};
  } else if (name == "negscale5") {
    filter.kernel.size = 5;
    for (int i = 0; i < 25; ++i) filter.kernel.weights.push_back(static_cast<float>(i % 7 - 3));
    filter.kernel.scale = -2.5F;
    filter.kernel.offset = 300;
  } else {
    throw std::invalid_argument("no test kernel named " + name);
  }
  return filter;
}
inline Filter asym_kernel(int size) { return test_kernel(size == 3 ? "asym3" : "asym5"); }

// A chain as index.txt writes it: parse_chain's syntax plus the test kernels' names.
inline std::vector<Filter> chain_from(const std::string& text) {
  std::vector<Filter> chain;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item == "asym3" || item == "asym5" || item == "extreme3" || item == "negscale5") {
      chain.push_back(test_kernel(item));
    } else {
      for (const Filter& filter : parse_chain(item)) chain.push_back(filter);
    }
  }
  return chain;
}

struct GoldenCase {
  std::string input;   // file name in golden/inputs
  std::string output;  // file name in golden/outputs
  std::string chain;   // as index.txt writes it
};

inline std::vector<GoldenCase> golden_cases() {
  std::ifstream index(golden_dir() / "index.txt");
  if (!index) throw std::runtime_error("cannot open " + (golden_dir() / "index.txt").string());
  std::vector<GoldenCase> cases;
  GoldenCase c;
  while (index >> c.output >> c.input >> c.chain) cases.push_back(c);
  return cases;
}

// The golden output of `chain` applied to the input file `input`.
inline fs::path golden_output(const std::string& input, const std::string& chain) {
  for (const GoldenCase& c : golden_cases()) {
    if (c.input == input && c.chain == chain) return golden_dir() / "outputs" / c.output;
  }
  throw std::runtime_error("no golden file for " + chain + " on " + input);
}

inline std::string mode_name(int channels) {
  switch (channels) {
    case 1:
      return "L";
    case 2:
      return "LA";
    case 3:
      return "RGB";
    default:
      return "RGBA";
  }
}

// Where two images first differ, in words a student can act on.
inline std::string first_difference(const Image& got, const Image& want) {
  std::ostringstream out;
  if (got.width != want.width || got.height != want.height || got.channels != want.channels) {
    out << "got a " << got.width << "x" << got.height << " " << mode_name(got.channels)
        << " image, Pillow gives " << want.width << "x" << want.height << " "
        << mode_name(want.channels);
    return out.str();
  }
  std::size_t differing = 0;
  std::optional<std::size_t> first;
  for (std::size_t i = 0; i < got.pixels.size(); ++i) {
    if (got.pixels[i] != want.pixels[i]) {
      ++differing;
      if (!first) first = i;
    }
  }
  if (!first) return "identical";
  const std::size_t pixel = *first / want.channels;
  const int x = static_cast<int>(pixel % want.width);
  const int y = static_cast<int>(pixel / want.width);
  out << differing << " of " << got.pixels.size() << " samples differ; the first at (x=" << x
      << ", y=" << y << ", channel " << *first % want.channels << "): got "
      << int{got.pixels[*first]} << ", Pillow gives " << int{want.pixels[*first]};
  const bool on_border = x < 2 || y < 2 || x >= want.width - 2 || y >= want.height - 2;
  if (on_border) {
    out << " (within 2 samples of the edge: Pillow copies the outer 2 rows and columns unchanged "
           "for a 5x5 kernel, 1 for a 3x3 one)";
  }
  return out.str();
}

// Applies a golden case's chain filter by filter with apply() and compares with Pillow.
inline ::testing::AssertionResult matches_pillow(const GoldenCase& c) {
  const Image input = imgfilter::load_image(golden_dir() / "inputs" / c.input);
  const Image want = imgfilter::load_image(golden_dir() / "outputs" / c.output);
  Image got = input;
  try {
    for (const Filter& filter : chain_from(c.chain)) got = apply(got, filter);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << c.chain << " on " << c.input << " threw: " << e.what();
  }
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << c.chain << " on " << c.input << " (" << mode_name(input.channels)
         << "): " << first_difference(got, want);
}

// Checks every golden case whose chain is one of `chains`; at least one must exist.
inline void expect_golden(const std::set<std::string>& chains,
                          const std::function<bool(const std::string&)>& input_wanted = {}) {
  std::size_t checked = 0;
  for (const GoldenCase& c : golden_cases()) {
    if (chains.count(c.chain) == 0) continue;
    if (input_wanted && !input_wanted(c.input)) continue;
    ++checked;
    EXPECT_TRUE(matches_pillow(c));
  }
  EXPECT_GT(checked, 0U) << "no golden file for these filters: run make_golden.py";
}

// ---- images for the strategies ----

// A deterministic RGB image with edges and noise (an LCG), `seed` making each one different.
inline Image test_image(int width, int height, int channels, unsigned seed) {
  Image image(width, height, channels);
  std::uint32_t state = seed * 2654435761U + 1;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        state = state * 1664525U + 1013904223U;
        const int noise = static_cast<int>(state >> 26);
        const int edge = ((x / 7 + y / 5) % 3 == 0) ? 200 : 0;
        image.at(x, y, c) = static_cast<std::uint8_t>((x * 3 + y * (c + 1) + edge + noise) & 0xff);
      }
    }
  }
  return image;
}

// The chain most strategy tests run: every kind of pass (a 5x5 and a 3x3 kernel, contrast that
// needs a mean over the whole image, grayscale that changes the number of channels).
inline std::vector<Filter> mixed_chain() {
  return parse_chain("blur,contrast,sharpen,grayscale,smooth_more");
}

inline std::vector<Image> sequential_reference(const std::vector<Image>& images,
                                               const std::vector<Filter>& chain) {
  std::vector<Image> out;
  for (const Image& image : images) {
    Image current = image;
    for (const Filter& filter : chain) current = apply(current, filter);
    out.push_back(std::move(current));
  }
  return out;
}

// ---- running with a deadline ----

// Runs `work` on its own thread (course::Background) and waits at most `deadline` (scaled). A
// submission that deadlocks would hang the test, so past the deadline the test process ends with
// a message instead.
template <class Work>
auto run_with_deadline(Work work, std::chrono::milliseconds deadline, const std::string& what) {
  course::Background<decltype(work())> call(std::move(work));
  if (!call.finished_within(deadline)) {
    std::fprintf(stderr,
                 "%s did not return within %lld ms. A worker waits for something that never "
                 "happens (a lost wake-up, a deadlock, a thread that is never joined?).\n",
                 what.c_str(), static_cast<long long>(course::scaled(deadline).count()));
    std::fflush(stderr);
    std::_Exit(1);
  }
  return call.get();  // throws what `work` threw
}

// ---- observing the work ----

// The calling thread's time on a CPU and waiting for one (in the run queue), from Linux's
// /proc/thread-self/schedstat; zeros when it cannot be read.
inline std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds> scheduler_times() {
  std::ifstream in("/proc/thread-self/schedstat");
  long long running = 0;
  long long waiting = 0;
  in >> running >> waiting;
  return {std::chrono::nanoseconds(running), std::chrono::nanoseconds(waiting)};
}

// Hooks that record each work item as a task of `trace` (with its CPU time, on the thread that
// did it), count the items in progress and their peak, and optionally make the first `rendezvous`
// items wait for each other in `started` (an overlap probe): a strategy that runs them one at a
// time never forms it, and the waiters give up after a timeout.
class WorkRecorder {
 public:
  explicit WorkRecorder(std::size_t rendezvous = 0, std::chrono::milliseconds timeout = 3s)
      : probe_(std::max<std::size_t>(rendezvous, 1), timeout), rendezvous_(rendezvous) {}

  Hooks hooks() {
    Hooks hooks;
    hooks.started = [this](const WorkItem& item) { started(item); };
    hooks.finished = [this](const WorkItem& item) { finished(item); };
    return hooks;
  }

  const course::Trace& trace() const { return trace_; }
  const course::OverlapProbe& probe() const { return probe_; }
  std::size_t peak() const { return peak_.load(); }
  std::size_t items() const { return items_.load(); }
  bool hook_misuse() const { return misuse_.load(); }
  std::set<std::thread::id> threads() const {
    const std::scoped_lock lock(mutex_);
    return threads_;
  }
  // The items' time running or ready to run (waiting in the scheduler's run queue for a core),
  // summed: what they asked of the processors, whether or not other programs let them have it.
  std::chrono::nanoseconds demanded() const {
    const std::scoped_lock lock(mutex_);
    return demanded_;
  }

 private:
  void started(const WorkItem& item) {
    const std::size_t now = in_progress_.fetch_add(1) + 1;
    std::size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    {
      const std::scoped_lock lock(mutex_);
      threads_.insert(std::this_thread::get_id());
      open_[std::this_thread::get_id()].push_back(trace_.task(item.name()));
      started_at_[std::this_thread::get_id()].push_back(scheduler_times());
    }
    if (rendezvous_ > 1 && waited_.fetch_add(1) < rendezvous_) (void)probe_.arrive_and_wait();
  }

  void finished(const WorkItem& /*item*/) {
    {
      const std::scoped_lock lock(mutex_);
      auto& open = open_[std::this_thread::get_id()];
      auto& started_at = started_at_[std::this_thread::get_id()];
      if (open.empty() || started_at.empty()) {
        misuse_ = true;  // finished on another thread than started
      } else {
        open.pop_back();  // ends the task, with the CPU time of this thread
        const auto [running, waiting] = scheduler_times();
        demanded_ += (running - started_at.back().first) + (waiting - started_at.back().second);
        started_at.pop_back();
      }
    }
    in_progress_.fetch_sub(1);
    items_.fetch_add(1);
  }

  course::Trace trace_;
  course::OverlapProbe probe_;
  std::size_t rendezvous_;
  std::atomic<std::size_t> waited_{0};
  std::atomic<std::size_t> in_progress_{0};
  std::atomic<std::size_t> peak_{0};
  std::atomic<std::size_t> items_{0};
  std::atomic<bool> misuse_{false};
  mutable std::mutex mutex_;
  std::set<std::thread::id> threads_;
  std::map<std::thread::id, std::vector<course::TaskScope>> open_;
  std::map<std::thread::id,
           std::vector<std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds>>>
      started_at_;
  std::chrono::nanoseconds demanded_{0};
};

// Whether at least two work items on different threads had overlapping lifetimes.
inline bool two_threads_overlapped(const course::Trace& trace) {
  const auto tasks = trace.tasks();
  for (std::size_t a = 0; a < tasks.size(); ++a) {
    for (std::size_t b = a + 1; b < tasks.size(); ++b) {
      if (tasks[a].thread != tasks[b].thread && tasks[a].start < tasks[b].end &&
          tasks[b].start < tasks[a].end) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace imgfilter::testing
