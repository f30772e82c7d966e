// imgfilter: the notes' parallel image processor as a command.
//
//   imgfilter --filters blur,contrast,grayscale [--jobs N] [--mode images|tiles|processes]
//             IN... -o OUTDIR
//
// Writes OUTDIR/blur_contrast_grayscale_<name>.png for every input, atomically. A file that
// cannot be read, decoded or written is reported and the others go on; the exit status is 1 when
// any file failed, 2 for a bad command line. A progress bar shows on a terminal; Ctrl-C stops
// starting new images and exits cleanly.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "course/signal_stop.hpp"
#include "imgfilter/imgfilter.hpp"

namespace {

// "[##########..........]  12/40 images" rewritten in place on a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}

  void update(const imgfilter::Progress& progress) {
    if (!enabled_) return;
    constexpr std::size_t kWidth = 30;
    const std::size_t filled =
        progress.images_total == 0 ? kWidth : kWidth * progress.images_done / progress.images_total;
    const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    std::fprintf(stderr, "\r[%s] %zu/%zu images", bar.c_str(), progress.images_done,
                 progress.images_total);
    std::fflush(stderr);
  }
  void done() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

  // A line above the bar: the bar's line is cleared first and redrawn at the next update.
  void print_above(const std::string& line) const {
    std::fprintf(stderr, "%s%s\n", enabled_ ? "\r\033[K" : "", line.c_str());
  }

 private:
  bool enabled_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Applies a chain of Pillow-exact filters to many images in parallel."};
  std::string filters;
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string mode_name = "images";
  std::size_t jobs = std::max(1U, std::thread::hardware_concurrency());
  int band_rows = 0;
  bool quiet = false;
  app.add_option("--filters,-f", filters,
                 "comma-separated chain: blur, contour, detail, edge_enhance, edge_enhance_more, "
                 "emboss, find_edges, sharpen, smooth, smooth_more, grayscale, contrast[=F]")
      ->required();
  app.add_option("inputs", inputs, "input images (PNG, JPEG, BMP)")->required();
  app.add_option("--output,-o", out_dir, "output directory (created when missing)")
      ->required()
      ->check([](const std::string& dir) {
        return dir.empty() ? std::string("the output directory cannot be an empty name")
                           : std::string();
      });
  app.add_option("--mode,-m", mode_name, "sequential, images, tiles or processes")
      ->check(CLI::IsMember({"sequential", "images", "tiles", "processes"}))
      ->capture_default_str();
  app.add_option("--jobs,-j", jobs, "worker threads or processes")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  app.add_option("--band-rows", band_rows, "rows per band in tiles/processes mode (0: automatic)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet,-q", quiet, "no progress bar and no summary");
  CLI11_PARSE(app, argc, argv);

  std::vector<imgfilter::Filter> chain;
  try {
    chain = imgfilter::parse_chain(filters);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "imgfilter: %s\n", e.what());
    return 2;
  }

  const course::SignalStop signals("stopping: no new image starts...");
  ProgressBar bar(!quiet && ::isatty(STDERR_FILENO) != 0);
  imgfilter::Options options;
  options.mode = *imgfilter::parse_mode(mode_name);
  options.jobs = jobs;
  options.band_rows = band_rows;
  options.stop = signals.token();
  // A failure is reported when its image is done, not at the end of a long run. Progress is
  // reported by one thread at a time, so `reported` needs no lock.
  std::vector<bool> reported(inputs.size(), false);
  options.on_progress = [&](const imgfilter::Progress& progress) {
    if (!progress.error.empty() && progress.index < reported.size()) {
      bar.print_above("imgfilter: " + progress.error);
      reported[progress.index] = true;
    }
    bar.update(progress);
  };

  std::vector<std::filesystem::path> paths(inputs.begin(), inputs.end());
  std::error_code error;
  const bool out_dir_existed = std::filesystem::exists(out_dir, error);
  const auto start = std::chrono::steady_clock::now();
  std::vector<imgfilter::FileResult> results;
  try {
    results = imgfilter::process_files(paths, out_dir, chain, options);
  } catch (const std::exception& e) {
    bar.done();
    std::fprintf(stderr, "imgfilter: %s\n", e.what());
    return 1;
  }
  bar.done();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::size_t failed = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) continue;
    ++failed;
    // Those not reported yet: cancelled images, or an implementation whose progress has no error.
    if (i >= reported.size() || !reported[i]) {
      std::fprintf(stderr, "imgfilter: %s\n", results[i].error.c_str());
    }
  }
  // A folder made for outputs that all failed would only mislead: nothing was written.
  if (!out_dir_existed && failed == results.size()) std::filesystem::remove(out_dir, error);
  if (!quiet) {
    std::fprintf(stderr, "%zu of %zu images written to %s in %.2f s (%s mode, %zu jobs)%s\n",
                 results.size() - failed, results.size(), out_dir.c_str(), seconds,
                 mode_name.c_str(), jobs, failed > 0 ? "; see the errors above" : "");
  }
  return failed == 0 ? 0 : 1;
}
