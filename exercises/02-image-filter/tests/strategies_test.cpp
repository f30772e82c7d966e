// Levels 2 to 4: the same bytes as the sequential chain for every mode and every N; whole images
// on a pool of N threads (never more than N at once); one image in bands that threads share,
// executing in parallel; and the optional processes.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <thread>

#include "test_support.hpp"

namespace imgfilter::testing {
namespace {

Options options_for(Mode mode, std::size_t jobs) {
  Options options;
  options.mode = mode;
  options.jobs = jobs;
  return options;
}

std::vector<Image> run_filter_images(const std::vector<Image>& images,
                                     const std::vector<Filter>& chain, const Options& options) {
  return run_with_deadline([&] { return filter_images(images, chain, options); }, 60s,
                           "filter_images in " + std::string(to_string(options.mode)) + " mode");
}

void expect_same_bytes_for_every_n(Mode mode, std::size_t max_jobs) {
  // Sizes that do not divide into bands evenly, one smaller than a 5x5 kernel, and every mode.
  const std::vector<Image> images = {test_image(61, 47, 3, 1), test_image(3, 9, 4, 2),
                                     test_image(40, 33, 1, 3), test_image(17, 64, 2, 4),
                                     test_image(5, 5, 3, 5)};
  const std::vector<Filter> chain = mixed_chain();
  const std::vector<Image> want = sequential_reference(images, chain);
  for (std::size_t jobs = 1; jobs <= max_jobs; ++jobs) {
    for (const int band_rows : {0, 1, 7}) {
      Options options = options_for(mode, jobs);
      options.band_rows = band_rows;
      const std::vector<Image> got = run_filter_images(images, chain, options);
      ASSERT_EQ(got.size(), images.size()) << "one output per input image, in input order";
      for (std::size_t i = 0; i < images.size(); ++i) {
        ASSERT_TRUE(got[i] == want[i])
            << to_string(mode) << " mode, N = " << jobs << ", band_rows = " << band_rows
            << ", image " << i << ": " << first_difference(got[i], want[i])
            << ". The output must not depend on how the work is split: does a band read rows "
               "that another band of the same pass is still writing, or a pass start before "
               "the previous one ended?";
      }
    }
  }
}

// Every mode against Pillow itself, not against this implementation's apply(): the golden inputs
// (every channel layout, sizes from 1x1 to 257x131) through the golden chains, with N = 3 and
// bands of one row, of 7 rows, and of the implementation's choosing.
void expect_mode_matches_pillow(Mode mode) {
  std::vector<GoldenCase> cases;
  for (const GoldenCase& c : golden_cases()) {
    if (c.chain.find(',') != std::string::npos) cases.push_back(c);
  }
  ASSERT_FALSE(cases.empty()) << "no golden chains: run make_golden.py";
  std::map<std::string, std::vector<GoldenCase>> by_chain;
  for (const GoldenCase& c : cases) by_chain[c.chain].push_back(c);
  for (const auto& [chain, chain_cases] : by_chain) {
    std::vector<Image> inputs;
    for (const GoldenCase& c : chain_cases) {
      inputs.push_back(imgfilter::load_image(golden_dir() / "inputs" / c.input));
    }
    for (const int band_rows : {0, 1, 7}) {
      Options options = options_for(mode, 3);
      options.band_rows = band_rows;
      const auto got = run_filter_images(inputs, chain_from(chain), options);
      ASSERT_EQ(got.size(), inputs.size());
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Image want = imgfilter::load_image(golden_dir() / "outputs" / chain_cases[i].output);
        EXPECT_TRUE(got[i] == want)
            << to_string(mode) << " mode, N = 3, band_rows = " << band_rows << ": " << chain
            << " on " << chain_cases[i].input << ": " << first_difference(got[i], want);
      }
    }
  }
}

TEST(Images, MatchesPillowOnTheGoldenFiles) { expect_mode_matches_pillow(Mode::images); }
TEST(Tiles, MatchesPillowOnTheGoldenFiles) { expect_mode_matches_pillow(Mode::tiles); }
TEST(Processes, MatchesPillowOnTheGoldenFiles) { expect_mode_matches_pillow(Mode::processes); }

TEST(Determinism, SequentialModeMatchesApply) {
  expect_same_bytes_for_every_n(Mode::sequential, 1);
}

TEST(Determinism, ImagesModeSameBytesForEveryN) { expect_same_bytes_for_every_n(Mode::images, 8); }

TEST(Determinism, TilesModeSameBytesForEveryN) { expect_same_bytes_for_every_n(Mode::tiles, 8); }

// A contrast's pivot is the mean grayscale of every pixel. On 4400 x 4400 pixels of 200 and 250
// its sum is 4 356 000 000, past 2^32: it must be added in 64 bits, in every mode and in each
// band's partial sum. Uniform halves make the oracle exact without Pillow: the mean is 225, so
// contrast 2 maps 200 to 175 and 250 to 275, clamped to 255.
void expect_contrast_of_a_huge_image(Mode mode) {
  constexpr int kSide = 4400;
  Image image(kSide, kSide, 1);
  for (int y = kSide / 2; y < kSide; ++y) {
    std::fill_n(image.row(y), image.row_bytes(), std::uint8_t{250});
  }
  std::fill_n(image.row(0), image.row_bytes() * (kSide / 2), std::uint8_t{200});
  const std::vector<Filter> chain = parse_chain("contrast=2");
  const std::vector<Image> got = mode == Mode::sequential
                                     ? std::vector<Image>{apply(image, chain[0])}
                                     : run_filter_images({image}, chain, options_for(mode, 2));
  ASSERT_EQ(got.size(), 1U);
  ASSERT_EQ(got[0].pixels.size(), image.pixels.size());
  std::size_t wrong = 0;
  int first_y = -1;
  int first_value = 0;
  for (int y = 0; y < kSide; ++y) {
    const std::uint8_t want = y < kSide / 2 ? 175 : 255;
    const std::uint8_t* row = got[0].row(y);
    for (int x = 0; x < kSide; ++x) {
      if (row[x] == want) continue;
      if (wrong++ == 0) {
        first_y = y;
        first_value = row[x];
      }
    }
  }
  EXPECT_EQ(wrong, 0U)
      << to_string(mode) << " mode, contrast 2 on a 4400 x 4400 image (top half 200, bottom "
      << "half 250, mean 225): " << wrong << " pixels are wrong, the first in row " << first_y
      << " (" << first_value << " instead of " << (first_y < kSide / 2 ? 175 : 255)
      << "). The sum of the grayscale values is 4 356 000 000, which passes 2^32: an int or a "
         "std::uint32_t wraps around and the pivot is wrong. Add in std::uint64_t.";
}

TEST(Determinism, ContrastOfAHugeImageSumsPastTwoToTheThirtyTwo) {
  expect_contrast_of_a_huge_image(Mode::sequential);
  expect_contrast_of_a_huge_image(Mode::images);
  expect_contrast_of_a_huge_image(Mode::tiles);
}

TEST(Processes, ContrastOfAHugeImageSumsPastTwoToTheThirtyTwo) {
  expect_contrast_of_a_huge_image(Mode::processes);
}

TEST(Determinism, RejectsInvalidOptions) {
  const std::vector<Image> images = {test_image(8, 8, 3, 1)};
  EXPECT_THROW(filter_images(images, mixed_chain(), options_for(Mode::images, 0)),
               std::invalid_argument)
      << "jobs = 0";
  Options negative = options_for(Mode::tiles, 2);
  negative.band_rows = -1;
  EXPECT_THROW(filter_images(images, mixed_chain(), negative), std::invalid_argument)
      << "band_rows = -1";
  EXPECT_TRUE(run_filter_images({}, mixed_chain(), options_for(Mode::images, 4)).empty());
}

// ---- level 2: whole images on a pool of N threads ----

std::vector<Image> many_images(std::size_t n, int size) {
  std::vector<Image> images;
  for (std::size_t i = 0; i < n; ++i) images.push_back(test_image(size, size, 3, 10 + i));
  return images;
}

TEST(Images, WorkRunsOnOverlappingThreads) {
  // The first 3 images wait for each other as they start (a rendezvous): 3 workers get there
  // together, one worker taking images one at a time never does.
  WorkRecorder recorder(3);
  Options options = options_for(Mode::images, 3);
  options.hooks = recorder.hooks();
  const auto images = many_images(9, 48);
  const auto got = run_filter_images(images, mixed_chain(), options);
  EXPECT_EQ(got, sequential_reference(images, mixed_chain()));
  EXPECT_EQ(recorder.items(), images.size())
      << "in images mode, each image is one work item: call the hooks once per image "
         "(a WorkScope around it)";
  EXPECT_TRUE(course::probe_formed(recorder.probe()));
  EXPECT_GE(recorder.threads().size(), 2U) << "every image was filtered on the same thread";
  EXPECT_TRUE(two_threads_overlapped(recorder.trace()))
      << "no two images on different threads had overlapping lifetimes\n"
      << recorder.trace().timeline();
  EXPECT_FALSE(recorder.hook_misuse()) << "a work item ended on another thread than it started";
}

TEST(Images, NeverMoreThanNImagesAtOnce) {
  for (const std::size_t jobs : {1, 2, 4}) {
    // The first N images wait for each other, so the peak reaches N whenever N workers exist.
    WorkRecorder recorder(jobs);
    Options options = options_for(Mode::images, jobs);
    options.hooks = recorder.hooks();
    const auto images = many_images(12, 24);
    (void)run_filter_images(images, mixed_chain(), options);
    EXPECT_TRUE(course::at_most_overlap(recorder.trace(), jobs, "images"));
    EXPECT_LE(recorder.peak(), jobs)
        << recorder.peak() << " images were in progress at once with N = " << jobs
        << ": a pool of N workers filters at most N images at a time";
    EXPECT_EQ(recorder.peak(), jobs)
        << "with N = " << jobs << " and 12 images, N images should be in progress together, "
        << "but the most at once was " << recorder.peak() << "\n"
        << recorder.trace().timeline();
  }
  // Below the bound: 3 images for N = 8 are all in progress together, and no more.
  WorkRecorder recorder(3);
  Options options = options_for(Mode::images, 8);
  options.hooks = recorder.hooks();
  const auto outputs = run_filter_images(many_images(3, 24), mixed_chain(), options);
  EXPECT_EQ(outputs.size(), 3U);
  EXPECT_EQ(recorder.peak(), 3U)
      << "3 images with N = 8: all three should be in progress together, but the most at once was "
      << recorder.peak() << "\n"
      << recorder.trace().timeline();
}

// on_progress is called once per image, never twice at once. The first call stays inside until
// a second one comes in or 300 ms (scaled) pass: calls that are not serialised overlap then, even
// though a real callback takes no time.
void expect_progress_once_per_image(Mode mode) {
  std::mutex mutex;
  std::condition_variable entered;
  std::vector<Progress> calls;
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  Options options = options_for(mode, 4);
  options.on_progress = [&](const Progress& progress) {
    const int now = inside.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    {
      std::unique_lock lock(mutex);
      calls.push_back(progress);
      if (calls.size() == 1) {
        entered.wait_for(lock, course::scaled(std::chrono::milliseconds(300)),
                         [&] { return inside.load() > 1; });
      }
    }
    entered.notify_all();
    inside.fetch_sub(1);
  };
  (void)run_filter_images(many_images(10, 16), mixed_chain(), options);
  ASSERT_EQ(calls.size(), 10U) << "on_progress must be called once per image";
  std::set<std::size_t> indices;
  for (std::size_t c = 0; c < calls.size(); ++c) {
    EXPECT_EQ(calls[c].images_done, c + 1) << "images_done counts the finished images: 1, 2, ...";
    EXPECT_EQ(calls[c].images_total, 10U);
    EXPECT_TRUE(calls[c].error.empty()) << "filter_images leaves Progress::error empty";
    indices.insert(calls[c].index);
  }
  EXPECT_EQ(indices.size(), 10U) << "each image's index must be reported once";
  EXPECT_EQ(most.load(), 1) << "on_progress ran " << most.load()
                            << " times at once: call it under a lock";
}

TEST(Images, ProgressOncePerImageNeverTwiceAtOnce) { expect_progress_once_per_image(Mode::images); }
TEST(Tiles, ProgressOncePerImage) { expect_progress_once_per_image(Mode::tiles); }

TEST(Images, StopRequestSkipsImagesNotStarted) {
  std::stop_source stop;
  std::atomic<int> started{0};
  Options options = options_for(Mode::images, 2);
  options.stop = stop.get_token();
  options.hooks.started = [&](const WorkItem&) {
    if (started.fetch_add(1) == 1) stop.request_stop();
  };
  const auto images = many_images(40, 16);
  const auto got = run_filter_images(images, mixed_chain(), options);
  ASSERT_EQ(got.size(), images.size());
  // The second image's start requests the stop. The other worker may have taken one more image
  // before it could see the request, never two.
  EXPECT_LE(started.load(), 3) << "after a stop request, no new image may start: " << started.load()
                               << " of 40 images started";
  EXPECT_GE(started.load(), 2);
}

// In tiles mode images go one at a time: a stop requested while image 0's first band runs
// leaves every later image unstarted.
TEST(Tiles, StopRequestSkipsImagesNotStarted) {
  std::stop_source stop;
  std::mutex mutex;
  std::set<std::size_t> images_started;
  Options options = options_for(Mode::tiles, 2);
  options.stop = stop.get_token();
  options.hooks.started = [&](const WorkItem& item) {
    const std::scoped_lock lock(mutex);
    images_started.insert(item.image);
    stop.request_stop();
  };
  const auto images = many_images(6, 32);
  const auto got = run_filter_images(images, mixed_chain(), options);
  ASSERT_EQ(got.size(), images.size()) << "one output per input image, even after a stop";
  const std::scoped_lock lock(mutex);
  EXPECT_EQ(images_started, std::set<std::size_t>{0})
      << "a stop was requested while image 0 was being filtered, before any other image had "
      << "started, yet bands of " << images_started.size() - 1
      << " later images ran. Check options.stop before starting each image.";
}

// filter_images checks what it is given before any work, in every mode, and throws on the
// calling thread (an exception that escapes a worker thread ends the whole program).
void expect_invalid_input_refused(Mode mode) {
  const std::vector<Image> good = {test_image(16, 16, 3, 1), test_image(9, 7, 1, 2)};
  const auto refused = [&](const std::string& what, const std::vector<Image>& images,
                           const std::vector<Filter>& chain, const Options& options) {
    try {
      (void)run_filter_images(images, chain, options);
      ADD_FAILURE() << to_string(mode) << " mode, " << what
                    << ": filter_images must throw std::invalid_argument, it returned";
    } catch (const std::invalid_argument&) {
    } catch (const std::exception& error) {
      ADD_FAILURE() << to_string(mode) << " mode, " << what
                    << ": filter_images must throw std::invalid_argument, it threw "
                    << error.what();
    }
  };
  refused("jobs = 0", good, mixed_chain(), options_for(mode, 0));
  Options negative = options_for(mode, 2);
  negative.band_rows = -1;
  refused("band_rows = -1", good, mixed_chain(), negative);
  std::vector<Image> broken = good;
  broken.push_back(test_image(8, 8, 3, 3));
  broken.back().pixels.resize(5);
  refused("an image whose pixels do not match its size", broken, mixed_chain(),
          options_for(mode, 2));
  Filter zero_scale = asym_kernel(3);
  zero_scale.kernel.scale = 0;
  refused("a kernel with scale 0", good, {zero_scale}, options_for(mode, 2));
  Filter nan_contrast;
  nan_contrast.kind = FilterKind::contrast;
  nan_contrast.factor = std::numeric_limits<float>::quiet_NaN();
  refused("a contrast factor that is NaN", good, {nan_contrast}, options_for(mode, 2));
  // And valid input is accepted.
  EXPECT_EQ(run_filter_images(good, mixed_chain(), options_for(mode, 2)),
            sequential_reference(good, mixed_chain()));
}

TEST(Images, RejectsInvalidInput) { expect_invalid_input_refused(Mode::images); }
TEST(Tiles, RejectsInvalidInput) { expect_invalid_input_refused(Mode::tiles); }

// ---- level 3: one image in bands of rows ----

TEST(Tiles, BandsRunOnOverlappingThreads) {
  WorkRecorder recorder(2);
  Options options = options_for(Mode::tiles, 2);
  options.hooks = recorder.hooks();
  const std::vector<Image> images = {test_image(256, 256, 3, 7)};
  const auto got = run_filter_images(images, mixed_chain(), options);
  EXPECT_EQ(got, sequential_reference(images, mixed_chain()));
  EXPECT_GE(recorder.items(), 2U * mixed_chain().size())
      << "in tiles mode each band of each pass is a work item: call the hooks around each band";
  EXPECT_TRUE(course::probe_formed(recorder.probe()));
  EXPECT_TRUE(two_threads_overlapped(recorder.trace()))
      << "no two bands on different threads had overlapping lifetimes\n"
      << recorder.trace().timeline();
  EXPECT_FALSE(recorder.hook_misuse()) << "a work item ended on another thread than it started";
}

TEST(Tiles, NoBandStartsBeforeThePreviousPassEnded) {
  WorkRecorder recorder;
  Options options = options_for(Mode::tiles, 4);
  options.band_rows = 9;
  options.hooks = recorder.hooks();
  (void)run_filter_images({test_image(64, 80, 3, 8)}, mixed_chain(), options);
  // Names are "image 0 pass P rows A-B"; every band of pass P must end before any of P+1 starts.
  std::map<std::size_t, std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds>> passes;
  for (const auto& task : recorder.trace().tasks()) {
    const auto at = task.name.find(" pass ");
    ASSERT_NE(at, std::string::npos) << task.name;
    const std::size_t pass = std::stoul(task.name.substr(at + 6));
    auto [it, inserted] = passes.try_emplace(pass, task.start, task.end);
    if (!inserted) {
      it->second.first = std::min(it->second.first, task.start);
      it->second.second = std::max(it->second.second, task.end);
    }
  }
  ASSERT_EQ(passes.size(), mixed_chain().size()) << "one pass per filter of the chain";
  // band_rows = 9 on 80 rows: every pass is the bands 0-9, 9-18, ... 72-80, each once.
  std::map<std::size_t, std::vector<std::pair<int, int>>> rows_of_pass;
  for (const auto& task : recorder.trace().tasks()) {
    const auto pass = std::stoul(task.name.substr(task.name.find(" pass ") + 6));
    const auto rows = task.name.substr(task.name.find(" rows ") + 6);
    rows_of_pass[pass].emplace_back(std::stoi(rows), std::stoi(rows.substr(rows.find('-') + 1)));
  }
  std::vector<std::pair<int, int>> wanted;
  for (int first = 0; first < 80; first += 9) wanted.emplace_back(first, std::min(80, first + 9));
  for (auto& [pass, rows] : rows_of_pass) {
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(rows, wanted) << "pass " << pass << ": with band_rows = 9 the 80 rows are split "
                            << "into bands of 9 rows (the last one shorter), each one work item "
                            << "whose WorkItem says which rows it writes";
  }
  for (std::size_t p = 1; p < passes.size(); ++p) {
    EXPECT_LE(passes[p - 1].second, passes[p].first)
        << "a band of pass " << p << " started before every band of pass " << p - 1
        << " had finished: it may read rows that are not written yet\n"
        << recorder.trace().timeline();
  }
}

std::string two_decimals(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one_minute;
  in >> one_minute;
  return one_minute.empty() ? "unknown" : one_minute;
}

// What two plain CPU-bound threads reach right now: the parallelism this machine can give.
double available_parallelism() {
  course::Trace trace;
  {
    std::vector<std::jthread> spinners;
    for (int t = 0; t < 2; ++t) {
      spinners.emplace_back([&trace, t] {
        auto task = trace.task("spinner " + std::to_string(t));
        std::uint64_t state = 1;
        for (int i = 0; i < 40'000'000; ++i) state = state * 6364136223846793005ULL + 1;
        if (state == 42) std::puts("");  // keeps the loop
      });
    }
  }
  return trace.parallelism();
}

TEST(Tiles, ExecuteInParallelOnTwoCores) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 cores";
  // One big image with slow float kernels, so that the bands take a few hundred ms of CPU.
  const std::vector<Image> images = {test_image(2000, 1500, 3, 9)};
  const std::vector<Filter> chain = parse_chain("smooth_more,smooth_more,smooth_more");
  const double available = available_parallelism();
  WorkRecorder recorder;
  Options options = options_for(Mode::tiles, 2);
  options.hooks = recorder.hooks();
  (void)run_filter_images(images, chain, options);
  EXPECT_GE(recorder.threads().size(), 2U) << "every band ran on the same thread";
  const course::Trace& trace = recorder.trace();
  if (trace.parallelism() >= 1.3) return;  // the bands executed in parallel
  // They did not. Either they took turns, or other programs kept a core busy while they ran (two
  // plain spinning threads, measured just before, show how much of the machine was free; it can
  // change during the run). What the bands can always show is that two of them were ready to
  // execute at the same time: their time running or waiting in the run queue for a core, over
  // the span, is about 2 for parallel bands and about 1 for bands that run one at a time (a band
  // waiting for a lock sleeps; it does not wait for a core).
  const double demanded = std::chrono::duration<double>(recorder.demanded()).count() /
                          std::chrono::duration<double>(trace.span()).count();
  EXPECT_GE(demanded, 1.5)
      << course::kTimingMark << "The bands of one image did not execute in parallel: parallelism "
      << two_decimals(trace.parallelism())
      << " (CPU time over span; two bands on two cores give about 2). Nor were they ready to run "
         "at the same time: their time running or waiting for a core, over the span, is "
      << two_decimals(demanded)
      << " (about 2 when two bands run at once, about 1 when they take turns). Give each band its "
         "own thread and start them all before joining any.\n(For comparison, two plain "
         "CPU-bound threads reached parallelism "
      << two_decimals(available) << " just before; load average " << load_average() << ".)\n"
      << trace.timeline();
}

// ---- level 4 (optional): processes ----

// CPU time used by this process's children that have ended and been waited for.
std::chrono::microseconds children_cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  const auto seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec;
  const auto micros = usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  return std::chrono::seconds(seconds) + std::chrono::microseconds(micros);
}

// The processes level filters in worker processes, not in threads: their CPU time shows up as
// this process's children's (getrusage), whatever the scheduling.
TEST(Processes, RunsInWorkerProcesses) {
  const std::vector<Image> images = {test_image(768, 768, 3, 9)};
  const auto before = children_cpu_time();
  const auto self_before = scheduler_times().first;
  const auto got = run_filter_images(images, parse_chain("blur,smooth_more,sharpen"),
                                     options_for(Mode::processes, 2));
  const auto in_children = children_cpu_time() - before;
  const auto on_this_thread = scheduler_times().first - self_before;
  ASSERT_EQ(got.size(), 1U);
  EXPECT_GE(in_children, std::chrono::milliseconds(10))
      << "filtering a 768x768 image three times took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(in_children).count()
      << " ms of CPU in child processes (and "
      << std::chrono::duration_cast<std::chrono::milliseconds>(on_this_thread).count()
      << " ms on the calling thread): the processes mode must fork worker processes that "
         "filter the bands (the notes' multiprocessing), not run threads";
}

TEST(Processes, SameBytesForEveryN) { expect_same_bytes_for_every_n(Mode::processes, 3); }

}  // namespace
}  // namespace imgfilter::testing
