// Exercise 02: a parallel image filter.
//
// This header belongs to the course: the tests, the `imgfilter` command and the benchmark are
// written against it, so keep it as it is. Your code goes in the files under src/.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "imgfilter/image.hpp"

namespace imgfilter {

using imgfilter::Image;

// ---- Filters: byte for byte what Pillow 9.4 computes. ----

enum class FilterKind {
  // Pillow's ImageFilter kernels (3x3 or 5x5 convolutions).
  blur,
  contour,
  detail,
  edge_enhance,
  edge_enhance_more,
  emboss,
  find_edges,
  sharpen,
  smooth,
  smooth_more,
  kernel,     // a Kernel of your own: Pillow's ImageFilter.Kernel
  grayscale,  // Pillow's image.convert("L")
  contrast,   // Pillow's ImageEnhance.Contrast(image).enhance(factor)
};

// A convolution as Pillow's ImageFilter.Kernel(size, weights, scale, offset) defines it:
//   out = clamp(offset + sum of weight[i] / scale × pixel) to 0..255, then truncated,
// with the weights listed row by row and applied flipped vertically (Pillow's quirk: the first
// row of weights multiplies the row *below* the pixel). The arithmetic is single-precision float
// in Pillow's order; see the statement.
struct Kernel {
  int size = 3;                // 3 or 5
  std::vector<float> weights;  // size × size
  float scale = 1;             // non-zero
  float offset = 0;
  friend bool operator==(const Kernel&, const Kernel&) = default;
};

struct Filter {
  FilterKind kind = FilterKind::blur;
  float factor = 1.5F;  // contrast only: finite and >= 0
  Kernel kernel;        // kernel only
  friend bool operator==(const Filter&, const Filter&) = default;
};

// The kernel Pillow uses for one of its named filters (blur ... smooth_more); kernel,
// grayscale and contrast have none and give std::nullopt.
std::optional<Kernel> builtin_kernel(FilterKind kind);

// "blur", "contour", "detail", "edge_enhance", "edge_enhance_more", "emboss", "find_edges",
// "sharpen", "smooth", "smooth_more", "kernel", "grayscale", "contrast".
std::string_view to_string(FilterKind kind);
// The name as output files use it: to_string(kind), except for a contrast whose factor is not the
// default 1.5, which gets the shortest text of its factor: "contrast2", "contrast0.6".
std::string name_of(const Filter& filter);

// Parses a comma-separated chain such as "blur,contrast,grayscale" or "contrast=2,sharpen"
// (contrast=F sets the factor, finite and >= 0). Throws std::invalid_argument naming the unknown
// filter or the bad factor. A
// kernel filter cannot be written this way: build its Filter in code.
std::vector<Filter> parse_chain(std::string_view text);

// Applies one filter to the whole image, on the calling thread (level 1, sequential).
//   - Kernels filter every channel alike, alpha included; the outer 1 (3x3) or 2 (5x5) rows and
//     columns are copied unchanged, and an image narrower or lower than the kernel is copied
//     whole.
//   - grayscale gives one channel: (19595 R + 38470 G + 7471 B + 0x8000) >> 16 for RGB and RGBA,
//     the L channel of L and LA.
//   - contrast pivots on m = the mean of the grayscale image, rounded half up; each sample
//     becomes m + factor × (p − m) in float, clamped and truncated. Alpha is unchanged.
// Throws std::invalid_argument for an invalid image, kernel or contrast factor.
Image apply(const Image& image, const Filter& filter);

// ---- Running a chain of filters over many images. ----

enum class Mode {
  sequential,  // level 1 (given): one image after another, on the calling thread
  images,      // level 2: a pool of `jobs` worker threads, one image each at a time (Pool.map)
  tiles,       // level 3: one image at a time, its rows split into bands that `jobs` threads share
  processes,   // level 4 (optional): `jobs` worker processes filter bands in shared memory (mmap)
};

inline constexpr std::array<Mode, 4> kAllModes = {Mode::sequential, Mode::images, Mode::tiles,
                                                  Mode::processes};

constexpr std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::sequential:
      return "sequential";
    case Mode::images:
      return "images";
    case Mode::tiles:
      return "tiles";
    case Mode::processes:
      return "processes";
  }
  return "?";
}

constexpr std::optional<Mode> parse_mode(std::string_view name) {
  for (const Mode mode : kAllModes) {
    if (to_string(mode) == name) return mode;
  }
  return std::nullopt;
}

// What a work item is, for Hooks: one whole image (images mode) or one band of rows of one
// filter pass (tiles mode).
struct WorkItem {
  std::size_t image = 0;  // index of the image in the input
  std::size_t pass = 0;   // index of the filter in the chain (0 for a whole image)
  int first_row = 0;      // the rows [first_row, end_row) of the output it writes
  int end_row = 0;
  std::string name() const;  // "image 3" or "image 0 pass 1 rows 64-128"
};

// Observers of the work, for the tests and the progress bar. Each is optional; each may be called
// from several threads at once (they are thread-safe in the tests).
struct Hooks {
  // Called on the thread that does the work, right before it starts and right after it ends.
  std::function<void(const WorkItem&)> started;
  std::function<void(const WorkItem&)> finished;
};

// Calls hooks.started now and hooks.finished at the end of the scope, on the calling thread:
//   { const WorkScope scope(options.hooks, item); ... filter the item ... }
class WorkScope {
 public:
  WorkScope(const Hooks& hooks, WorkItem item) : hooks_(hooks), item_(item) {
    if (hooks_.started) hooks_.started(item_);
  }
  WorkScope(const WorkScope&) = delete;
  WorkScope& operator=(const WorkScope&) = delete;
  ~WorkScope() {
    if (hooks_.finished) hooks_.finished(item_);
  }

 private:
  const Hooks& hooks_;
  WorkItem item_;
};

struct Progress {
  std::size_t index = 0;        // the image that just finished (its position in the input)
  std::size_t images_done = 0;  // 1, 2, ... images_total
  std::size_t images_total = 0;
  // process_files: why that image failed (as in its FileResult), empty when it was written, so
  // that a caller can report a failure as it happens. The strategies leave it empty.
  std::string error;
};

struct Options {
  Mode mode = Mode::sequential;
  std::size_t jobs = 1;  // N: worker threads (images, tiles) or processes; >= 1
  int band_rows = 0;     // tiles and processes: rows per band; 0 picks one (several per worker)
  Hooks hooks;           // every work item goes through a WorkScope
  // Called once per finished image, never twice at once.
  std::function<void(const Progress&)> on_progress;
  std::stop_token stop;  // a stop request: images not started yet are not filtered
};

// Applies the chain to every image; result i belongs to images[i]. The output is the same for
// every mode and every N: that of apply() called filter after filter. Throws
// std::invalid_argument, on the calling thread and before any work, for invalid options, an
// invalid image or an invalid filter.
std::vector<Image> filter_images(const std::vector<Image>& images, const std::vector<Filter>& chain,
                                 const Options& options = {});

// ---- Files ----

// The output name the notes use: the filters' names joined by '_', then '_' and the input's stem,
// then ".png": "blur_contrast_grayscale_photo.png" for photo.jpg. Characters outside
// [A-Za-z0-9._-] become '_' and a leading '.' becomes '_', so the name stays inside the output
// directory.
std::string output_name(const std::vector<Filter>& chain, const std::filesystem::path& input);

struct FileResult {
  std::filesystem::path input;
  std::filesystem::path output;  // empty when it failed
  std::string error;             // empty on success; else names the file and the problem
  bool ok() const { return error.empty(); }
};

// Loads every input, applies the chain and saves the result as out_dir / output_name(...),
// atomically (imgfilter::save_png). Creates out_dir when missing. One result per input, in input
// order; a file that cannot be read, decoded or written gets its error and the others go on.
// When several inputs have the same output name, the first keeps it and the later ones fail.
// Work items are whole images in images mode and bands otherwise, exactly as in filter_images.
std::vector<FileResult> process_files(const std::vector<std::filesystem::path>& inputs,
                                      const std::filesystem::path& out_dir,
                                      const std::vector<Filter>& chain,
                                      const Options& options = {});

}  // namespace imgfilter
