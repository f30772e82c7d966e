// Levels 2 and 3: running the chain over many images on a pool of threads that take whole
// images, or one image at a time in bands of rows that the threads share. Level 1 (sequential)
// is given.
#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "imgfilter_internal.hpp"

namespace imgfilter::detail {
namespace {

// Given: calls options.on_progress once per finished image, never twice at once.
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

// Given. A whole image is the work item in sequential and images mode; in tiles mode the bands
// are.
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

// Level 2: the notes' Pool(N).map: min(N, n) std::jthread workers that each take the next image
// until none is left. Never more than N images at once.
void for_each_image_on_a_pool(std::size_t /*n*/, const Options& /*options*/,
                              const std::function<void(std::size_t)>& /*work*/) {
  throw std::logic_error("the images mode is not implemented yet (level 2 of 02-image-filter)");
}

// Level 3: every pass of the chain split into bands of rows (bands_for) that options.jobs
// threads share. Each band is a work item: wrap it in a WorkScope.
Image filter_chain_in_bands(const Image& /*image*/, const std::vector<Filter>& /*chain*/,
                            const Options& /*options*/, std::size_t /*index*/) {
  throw std::logic_error("the tiles mode is not implemented yet (level 3 of 02-image-filter)");
}

}  // namespace

// Given.
void check(const Options& options) {
  if (options.jobs < 1) throw std::invalid_argument("options.jobs must be at least 1");
  if (options.band_rows < 0) throw std::invalid_argument("options.band_rows must be >= 0");
}

// Given: bands of band_rows rows, or four bands per worker when band_rows is 0.
std::vector<std::pair<int, int>> bands_for(int height, std::size_t workers, int band_rows) {
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

// Given.
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
