// Levels 1 to 3: running the chain over many images, sequentially, on a pool of threads that
// take whole images, or one image at a time in bands of rows that the threads share.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "imgfilter_internal.hpp"

namespace imgfilter::detail {
namespace {

// Calls options.on_progress once per finished image, never twice at once.
class ProgressReporter {
 public:
  ProgressReporter(const Options& options, std::size_t total) : options_(options), total_(total) {}

  void image_done(std::size_t index) {
    const std::scoped_lock lock(mutex_);
    ++done_;
    if (options_.on_progress) {
      options_.on_progress(
          Progress{.index = index, .images_done = done_, .images_total = total_, .error = {}});
    }
  }

 private:
  const Options& options_;
  std::size_t total_;
  std::mutex mutex_;
  std::size_t done_ = 0;
};

// A whole image is the work item in sequential and images mode; in tiles mode the bands are.
void run_one(std::size_t i, const Options& options, const std::function<void(std::size_t)>& work,
             ProgressReporter& progress) {
  if (options.mode == Mode::sequential || options.mode == Mode::images) {
    const WorkScope scope(options.hooks, WorkItem{.image = i});
    work(i);
  } else {
    work(i);
  }
  progress.image_done(i);
}

// Level 1 (given): one image after the other.
void for_each_image_sequentially(std::size_t n, const Options& options,
                                 const std::function<void(std::size_t)>& work) {
  ProgressReporter progress(options, n);
  for (std::size_t i = 0; i < n && !options.stop.stop_requested(); ++i) {
    run_one(i, options, work, progress);
  }
}

// Level 2: the notes' Pool(N).map. min(N, n) workers take the next image index with fetch_add,
// so each image is filtered exactly once and never more than N at a time.
void for_each_image_on_a_pool(std::size_t n, const Options& options,
                              const std::function<void(std::size_t)>& work) {
  ProgressReporter progress(options, n);
  std::atomic<std::size_t> next{0};
  const std::size_t workers = std::min(options.jobs, n);
  std::vector<std::jthread> pool;
  pool.reserve(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (std::size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        if (options.stop.stop_requested()) return;
        run_one(i, options, work, progress);
      }
    });
  }
  // The jthreads join here, before `next` and `progress` go out of scope.
}

// Runs task(b) for every band b on min(N, bands) threads; returns when all are done. The calling
// thread is one of the workers, so N = 1 starts no thread at all.
void run_bands(std::size_t bands, std::size_t jobs, const std::function<void(std::size_t)>& task) {
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t b = next.fetch_add(1); b < bands; b = next.fetch_add(1)) task(b);
  };
  const std::size_t workers = std::min(jobs, bands);
  std::vector<std::jthread> helpers;
  helpers.reserve(workers > 0 ? workers - 1 : 0);
  for (std::size_t w = 1; w < workers; ++w) helpers.emplace_back(worker);
  worker();
}

// Level 3: each pass of the chain is split into bands of rows that the threads share. A pass
// reads the previous pass's output, so every band of pass k ends before pass k + 1 starts
// (run_bands joins its threads). Contrast first needs the mean: a sum per band, then one pivot.
Image filter_chain_in_bands(const Image& image, const std::vector<Filter>& chain,
                            const Options& options, std::size_t index) {
  // Each pass reads `source` (the input, then the previous pass's output) and writes `next`.
  const Image* source = &image;
  Image current = chain.empty() ? image : Image();
  const auto bands = bands_for(image.height, options.jobs, options.band_rows);
  for (std::size_t pass = 0; pass < chain.size(); ++pass) {
    const Filter& filter = chain[pass];
    const Image& in = *source;
    Image next = make_output(in, filter);
    int pivot = 0;
    if (filter.kind == FilterKind::contrast) {
      std::vector<std::uint64_t> sums(bands.size(), 0);  // one slot per band: no shared counter
      run_bands(bands.size(), options.jobs,
                [&](std::size_t b) { sums[b] = gray_sum(in, bands[b].first, bands[b].second); });
      std::uint64_t total = 0;
      for (const std::uint64_t s : sums) total += s;
      pivot = contrast_pivot(total, in.pixel_count());
    }
    run_bands(bands.size(), options.jobs, [&](std::size_t b) {
      const auto [first, end] = bands[b];
      const WorkScope scope(options.hooks, WorkItem{index, pass, first, end});
      filter_rows(in, next, filter, first, end, pivot);
    });
    current = std::move(next);
    source = &current;
  }
  return current;
}

}  // namespace

void check(const Options& options) {
  if (options.jobs < 1) throw std::invalid_argument("options.jobs must be at least 1");
  if (options.band_rows < 0) throw std::invalid_argument("options.band_rows must be >= 0");
}

std::vector<std::pair<int, int>> bands_for(int height, std::size_t workers, int band_rows) {
  // Four bands per worker by default, so that a worker that finishes early takes another band.
  int rows = band_rows;
  if (rows == 0) {
    const int wanted = static_cast<int>(std::min<std::size_t>(workers * 4, 1024));
    rows = std::max(1, (height + wanted - 1) / wanted);
  }
  std::vector<std::pair<int, int>> bands;
  for (int first = 0; first < height; first += rows) {
    bands.emplace_back(first, std::min(height, first + rows));
  }
  return bands;
}

void for_each_image(std::size_t n, const Options& options,
                    const std::function<void(std::size_t)>& work) {
  if (options.mode == Mode::images) {
    for_each_image_on_a_pool(n, options, work);
  } else {
    for_each_image_sequentially(n, options, work);
  }
}

Image filter_chain(const Image& image, const std::vector<Filter>& chain, const Options& options,
                   std::size_t index) {
  switch (options.mode) {
    case Mode::tiles:
      return filter_chain_in_bands(image, chain, options, index);
    case Mode::processes:
      return filter_chain_in_processes(image, chain, options);
    case Mode::sequential:
    case Mode::images:
      break;
  }
  if (chain.empty()) return image;
  Image current = apply(image, chain.front());
  for (std::size_t pass = 1; pass < chain.size(); ++pass) current = apply(current, chain[pass]);
  return current;
}

}  // namespace imgfilter::detail

namespace imgfilter {

std::vector<Image> filter_images(const std::vector<Image>& images, const std::vector<Filter>& chain,
                                 const Options& options) {
  detail::check(options);
  for (const Image& image : images) detail::check(image);
  for (const Filter& filter : chain) detail::check(filter);
  std::vector<Image> out(images.size());
  detail::for_each_image(images.size(), options, [&](std::size_t i) {
    out[i] = detail::filter_chain(images[i], chain, options, i);
  });
  return out;
}

}  // namespace imgfilter
