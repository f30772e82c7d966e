// Level 1: every filter gives Pillow 9.4's bytes on RGB, RGBA, L and LA images, from 1x1 (smaller
// than any kernel) through 4x4, 5x5 and odd sizes to 33x17, 257x131 and 131x257. The golden files
// come from golden/make_golden.py.
#include <cmath>
#include <limits>

#include "test_support.hpp"

namespace imgfilter::testing {
namespace {

TEST(Golden, Blur) { expect_golden({"blur"}); }

TEST(Golden, Sharpen) { expect_golden({"sharpen"}); }

TEST(Golden, Contour) { expect_golden({"contour"}); }

TEST(Golden, OtherBuiltinKernels) {
  expect_golden({"detail", "edge_enhance", "edge_enhance_more", "emboss", "find_edges", "smooth",
                 "smooth_more"});
}

TEST(Golden, KernelIsAppliedFlippedVertically) { expect_golden({"asym3", "asym5"}); }

TEST(Golden, Grayscale) { expect_golden({"grayscale"}); }

TEST(Golden, Contrast) { expect_golden({"contrast", "contrast=0.6", "contrast=2.5"}); }

// Sums in the billions (past 32-bit integers), a negative scale, an offset past 255: Pillow's float
// arithmetic clamps them; integer shortcuts overflow or round differently.
TEST(Golden, ExtremeKernelWeights) { expect_golden({"extreme3", "negscale5"}); }

// A factor of 0 makes every sample the mean (the bound: a negative factor is refused), 100 pushes
// nearly all to 0 or 255.
TEST(Golden, ExtremeContrastFactors) { expect_golden({"contrast=0", "contrast=100"}); }

// Images past 256 in one dimension, RGB and RGBA (the small ones never reach an index or a sum
// that needs more than 8 or 16 bits).
TEST(Golden, LargeImages) {
  expect_golden({"blur,contrast,grayscale", "extreme3", "smooth_more,asym3,emboss"},
                [](const std::string& input) {
                  return input == "rgb_257x131.png" || input == "rgba_131x257.png";
                });
}

TEST(Golden, Chains) {
  expect_golden(
      {"blur,contrast,grayscale", "grayscale,sharpen,contrast=3", "smooth_more,asym3,emboss"});
}

// Pillow's grayscale is not stb's: stb's one-channel load averages with other weights and gives
// other bytes on many pixels. Every value of R, G and B is checked here against the formula.
TEST(Golden, GrayscaleUsesPillowsFixedPointWeights) {
  Image image(256, 3, 3);
  for (int x = 0; x < 256; ++x) {
    for (int c = 0; c < 3; ++c) {
      image.at(x, 0, c) = static_cast<std::uint8_t>(c == 0 ? x : 0);
      image.at(x, 1, c) = static_cast<std::uint8_t>(c == 1 ? x : 0);
      image.at(x, 2, c) = static_cast<std::uint8_t>(c == 2 ? x : 0);
    }
  }
  Filter grayscale;
  grayscale.kind = FilterKind::grayscale;
  const Image gray = apply(image, grayscale);
  ASSERT_EQ(gray.channels, 1);
  for (int x = 0; x < 256; ++x) {
    const unsigned weights[3] = {19595, 38470, 7471};
    for (int y = 0; y < 3; ++y) {
      ASSERT_EQ(gray.at(x, y, 0), (weights[y] * x + 0x8000) >> 16)
          << "channel "
          << "RGB"[y] << " = " << x << ": L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16";
    }
  }
}

TEST(Filters, RejectInvalidImagesAndKernels) {
  Image broken(4, 4, 3);
  broken.pixels.resize(7);
  EXPECT_THROW(apply(broken, Filter{}), std::invalid_argument) << "an image with the wrong size";
  Image no_channels;
  no_channels.width = 2;
  no_channels.height = 2;
  EXPECT_THROW(apply(no_channels, Filter{}), std::invalid_argument) << "an image with 0 channels";

  const Image ok = test_image(6, 6, 3, 1);
  Filter even = asym_kernel(3);
  even.kernel.size = 4;
  even.kernel.weights.assign(16, 1);
  EXPECT_THROW(apply(ok, even), std::invalid_argument) << "a 4x4 kernel";
  Filter short_kernel = asym_kernel(3);
  short_kernel.kernel.weights.pop_back();
  EXPECT_THROW(apply(ok, short_kernel), std::invalid_argument) << "8 weights for a 3x3 kernel";
  Filter zero_scale = asym_kernel(3);
  zero_scale.kernel.scale = 0;
  EXPECT_THROW(apply(ok, zero_scale), std::invalid_argument) << "a kernel with scale 0";
  Filter nan_contrast;
  nan_contrast.kind = FilterKind::contrast;
  nan_contrast.factor = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(apply(ok, nan_contrast), std::invalid_argument) << "contrast factor NaN";
  Filter negative_contrast = nan_contrast;
  negative_contrast.factor = -1.5F;
  EXPECT_THROW(apply(ok, negative_contrast), std::invalid_argument)
      << "a contrast factor must be >= 0";
  Filter identity = nan_contrast;
  identity.factor = 1.0F;
  EXPECT_EQ(apply(ok, identity), ok) << "contrast 1.0 leaves the image as it is";
}

}  // namespace
}  // namespace imgfilter::testing
