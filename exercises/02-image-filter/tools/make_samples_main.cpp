// make_samples: writes the notes' sample images, a folder of "photos" to filter.
//
//   make_samples -o DIR [--count 8] [--width 1024] [--height 768]
//
// The images are synthetic and deterministic: sky and ground gradients, a sun, hills, and
// noise, in RGB (some in RGBA and grayscale), so that every filter has edges, flat areas and
// texture to work on. Named photo_01.png, photo_02.png, ...
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "imgfilter/image.hpp"

namespace {

imgfilter::Image sample(int width, int height, int channels, unsigned seed) {
  imgfilter::Image image(width, height, channels);
  std::uint32_t state = seed * 2654435761U + 12345U;
  const double sun_x = width * (0.2 + 0.6 * ((seed * 37) % 100) / 100.0);
  const double sun_y = height * 0.25;
  const double sun_r = std::min(width, height) * 0.08;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double hill = height * (0.6 + 0.1 * std::sin(x * 6.28 / width * (1 + seed % 3) + seed));
      state = state * 1664525U + 1013904223U;
      const int noise = static_cast<int>(state >> 28) - 8;
      int r = 0;
      int g = 0;
      int b = 0;
      if (y > hill) {  // ground
        r = 60 + (y * 80) / height;
        g = 110 + ((x ^ y) & 31);
        b = 40;
      } else if (std::hypot(x - sun_x, y - sun_y) < sun_r) {  // sun
        r = 255;
        g = 220;
        b = 90;
      } else {  // sky
        r = 90 + (y * 100) / height;
        g = 150 + (y * 60) / height;
        b = 235;
      }
      const int rgb[3] = {r + noise, g + noise, b + noise};
      for (int c = 0; c < std::min(channels, 3); ++c) {
        image.at(x, y, c) = static_cast<std::uint8_t>(std::clamp(rgb[c], 0, 255));
      }
      if (channels == 1) {
        image.at(x, y, 0) = static_cast<std::uint8_t>(std::clamp((r * 3 + g * 6 + b) / 10, 0, 255));
      }
      if (channels == 4) image.at(x, y, 3) = static_cast<std::uint8_t>(255 - (x * 64) / width);
    }
  }
  return image;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"make_samples: writes the notes' sample images"};
  std::string out_dir;
  int count = 8;
  int width = 1024;
  int height = 768;
  app.add_option("-o,--output", out_dir, "folder to write photo_01.png, ... into")->required();
  app.add_option("-n,--count", count, "how many images")->check(CLI::Range(1, 1000));
  app.add_option("--width", width, "width in pixels")->check(CLI::Range(1, 8192));
  app.add_option("--height", height, "height in pixels")->check(CLI::Range(1, 8192));
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(out_dir);
    for (int i = 1; i <= count; ++i) {
      // Every fourth image is RGBA and every fifth grayscale, to try every mode.
      const int channels = i % 5 == 0 ? 1 : i % 4 == 0 ? 4 : 3;
      char name[32];
      std::snprintf(name, sizeof name, "photo_%02d.png", i);
      imgfilter::save_png(sample(width, height, channels, static_cast<unsigned>(i)),
                          std::filesystem::path(out_dir) / name);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_samples: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "%d images of %dx%d written to %s\n", count, width, height, out_dir.c_str());
  return 0;
}
