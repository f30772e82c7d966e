// The image filter's benchmark: every filter on a 4096 x 4096 RGB image, at 1 and 2 threads
// (tiles mode), beside Pillow on the same image and the memory-bandwidth bound.
//
//   bench [--size 4096] [--runs 5] [--threads 1,2] [--filters blur,sharpen,...] [--no-pillow]
//
// Prints, per filter, the median time and megapixels per second at each thread count, the
// speedup, Pillow's median time and the ratio to it, and the ratios of the 1-thread pass and of
// the fastest pass to one memcpy of the image (reading and writing every byte once: the least a
// pass can cost). Build it in the release
// preset: cmake --preset release && cmake --build build/release --target
// 02-image-filter_bench_solutions
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "imgfilter/imgfilter.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

imgfilter::Image bench_image(int size) {
  imgfilter::Image image(size, size, 3);
  std::uint32_t state = 12345;
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    state = state * 1664525U + 1013904223U;
    const std::size_t x = (i / 3) % static_cast<std::size_t>(size);
    const std::size_t y = i / 3 / static_cast<std::size_t>(size);
    image.pixels[i] = static_cast<std::uint8_t>((x / 2 + y / 3 + (state >> 27)) & 0xff);
  }
  return image;
}

double time_ms(const std::function<void()>& run) {
  const auto start = Clock::now();
  run();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The median time of one memcpy of `bytes`: reads and writes each byte once.
double memcpy_ms(std::size_t bytes, int runs) {
  std::vector<std::uint8_t> from(bytes, 1);
  std::vector<std::uint8_t> to(bytes, 0);
  std::vector<double> times;
  for (int r = 0; r < runs + 1; ++r) {
    from[static_cast<std::size_t>(r) % bytes] = static_cast<std::uint8_t>(r);
    const double t = time_ms([&] { std::memcpy(to.data(), from.data(), bytes); });
    if (r > 0) times.push_back(t);  // the first run pays the page faults
  }
  volatile std::uint8_t sink = to[bytes / 2];
  (void)sink;
  return median(times);
}

std::map<std::string, double> pillow_ms(const imgfilter::Image& image, int runs,
                                        const std::vector<std::string>& filters) {
  std::map<std::string, double> out;
  if (std::system("/usr/bin/python3 -c 'import PIL' >/dev/null 2>&1") != 0) return out;
  const auto raw = std::filesystem::temp_directory_path() /
                   ("imgfilter-bench-" + std::to_string(::getpid()) + ".rgb");
  std::ofstream(raw, std::ios::binary)
      .write(reinterpret_cast<const char*>(image.pixels.data()),
             static_cast<std::streamsize>(image.pixels.size()));
  std::string command = std::string("/usr/bin/python3 ") + COURSE_EXERCISE_DIR +
                        "/bench/pillow_bench.py " + raw.string() + " " +
                        std::to_string(image.width) + " " + std::to_string(image.height) + " " +
                        std::to_string(runs);
  for (const auto& f : filters) command += " " + f;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char name[64];
    double ms = 0;
    while (std::fscanf(pipe, "%63s %lf", name, &ms) == 2) out[name] = ms;
    ::pclose(pipe);
  }
  std::filesystem::remove(raw);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmarks the filters at 1 and 2 threads against Pillow and memcpy."};
  int size = 4096;
  int runs = 5;
  std::vector<std::size_t> threads = {1, 2};
  std::string filters_text =
      "blur,sharpen,contour,smooth,smooth_more,detail,edge_enhance,emboss,grayscale,contrast";
  bool no_pillow = false;
  bool fresh_memory = false;
  app.add_option("--size", size, "the image is size x size RGB")->check(CLI::Range(16, 8192));
  app.add_option("--runs", runs, "runs per measurement (the median is printed)")
      ->check(CLI::Range(1, 100));
  app.add_option("--threads", threads, "thread counts (tiles mode)")->delimiter(',');
  app.add_option("--filters", filters_text, "filters to measure");
  app.add_flag("--no-pillow", no_pillow, "do not run Pillow");
  app.add_flag("--fresh-memory", fresh_memory,
               "let glibc return each freed image to the kernel (every pass then pays the page "
               "faults of a new 50 MB output)");
  CLI11_PARSE(app, argc, argv);

  // glibc hands blocks above 32 MiB straight back to the kernel when they are freed, so every
  // pass would fault in its 50 MB output page by page (about 20 ms here, more than the filter
  // itself). A program that filters image after image keeps that memory instead:
  if (!fresh_memory) {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  std::vector<imgfilter::Filter> filters;
  std::vector<std::string> names;
  try {
    filters = imgfilter::parse_chain(filters_text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 2;
  }
  for (const auto& f : filters) names.push_back(imgfilter::name_of(f));

  const std::vector<imgfilter::Image> images = {bench_image(size)};
  const double megapixels = static_cast<double>(images[0].pixel_count()) / 1e6;
  const double copy_ms = memcpy_ms(images[0].pixels.size(), runs);
  std::printf("image %dx%d RGB (%.1f MP, %.1f MB); %d runs per figure, medians\n", size, size,
              megapixels, static_cast<double>(images[0].pixels.size()) / 1e6, runs);
  std::printf("%s\n", fresh_memory ? "fresh memory for every output (page faults included)"
                                   : "freed images are reused by the next pass (no page faults)");
  std::printf("memcpy of the image: %.2f ms (%.1f GB/s read + write)\n", copy_ms,
              2.0 * static_cast<double>(images[0].pixels.size()) / copy_ms / 1e6);
  std::map<std::string, double> pillow;
  if (!no_pillow) pillow = pillow_ms(images[0], runs, names);
  if (!no_pillow && pillow.empty())
    std::printf("(Pillow not found: python3-pil is not installed)\n");

  std::printf("\n%-18s", "filter");
  for (const std::size_t t : threads)
    std::printf(" %9s %8s", (std::to_string(t) + "T ms").c_str(), "MP/s");
  std::printf(" %8s %10s %9s %9s %9s\n", "speedup", "Pillow ms", "xPillow", "1T/copy", "best/copy");
  for (std::size_t f = 0; f < filters.size(); ++f) {
    std::printf("%-18s", names[f].c_str());
    std::vector<double> medians;
    for (const std::size_t t : threads) {
      imgfilter::Options options;
      options.mode = imgfilter::Mode::tiles;
      options.jobs = t;
      std::vector<double> times;
      for (int r = 0; r < runs; ++r) {
        times.push_back(
            time_ms([&] { (void)imgfilter::filter_images(images, {filters[f]}, options); }));
      }
      medians.push_back(median(times));
      std::printf(" %9.2f %8.1f", medians.back(), megapixels / medians.back() * 1000.0);
    }
    const double speedup = medians.size() > 1 ? medians.front() / medians.back() : 1.0;
    std::printf(" %7.2fx", speedup);
    if (const auto it = pillow.find(names[f]); it != pillow.end()) {
      std::printf(" %10.2f %8.1fx", it->second, it->second / medians.front());
    } else {
      std::printf(" %10s %9s", "-", "-");
    }
    // A pass on every core is what the bandwidth bound limits: the best time counts too.
    const double best = *std::min_element(medians.begin(), medians.end());
    std::printf(" %8.2fx %8.2fx\n", medians.front() / copy_ms, best / copy_ms);
  }
  std::printf(
      "\nspeedup: 1 thread / %zu threads; xPillow: Pillow's time / ours on 1 thread; "
      "1T/copy: ours on 1 thread / one memcpy of the image; best/copy: our fastest pass (any "
      "thread count) / one memcpy.\n",
      threads.empty() ? 0 : threads.back());
  return 0;
}
