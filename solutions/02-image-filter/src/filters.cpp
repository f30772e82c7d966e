// The filters, byte for byte as Pillow 9.4 computes them (Filter.c, Convert.c, Blend.c).
//
// Every pass writes the rows it is given and nothing else, so that bands of rows can be filtered
// by different threads at once. BLUR, SHARPEN and CONTOUR take exact integer shortcuts that g++
// vectorises; every other kernel repeats Pillow's single-precision arithmetic in Pillow's order,
// which is the only way to agree with it on every byte.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "imgfilter_internal.hpp"

namespace imgfilter::detail {
namespace {

// Pillow adds 0.5 to the kernel's offset "for rounding", then truncates.
constexpr float kRounding = 0.5F;

// ---- Borders and small images ----

// Pillow leaves the outer `radius` rows and columns as they were in the source, and copies an
// image smaller than the kernel whole.
bool is_copied_whole(const Image& src, int size) { return src.width < size || src.height < size; }

void copy_rows(const Image& src, Image& dst, int first_row, int end_row) {
  if (first_row >= end_row) return;
  std::memcpy(dst.row(first_row), src.row(first_row),
              src.row_bytes() * static_cast<std::size_t>(end_row - first_row));
}

// Copies the rows of [first_row, end_row) that lie in the top or bottom border, and returns the
// interior part of the band, whose rows still need their border columns copied.
std::pair<int, int> copy_border_rows(const Image& src, Image& dst, int radius, int first_row,
                                     int end_row) {
  copy_rows(src, dst, first_row, std::min(end_row, radius));
  copy_rows(src, dst, std::max(first_row, src.height - radius), end_row);
  const int begin = std::max(first_row, radius);
  const int end = std::min(end_row, src.height - radius);
  return {begin, std::max(begin, end)};
}

void copy_border_columns(const Image& src, Image& dst, int radius, int y) {
  const std::size_t edge = static_cast<std::size_t>(radius) * src.channels;
  std::memcpy(dst.row(y), src.row(y), edge);
  std::memcpy(dst.row(y) + src.row_bytes() - edge, src.row(y) + src.row_bytes() - edge, edge);
}

// Pillow's clip8: clamp to 0..255, then truncate towards zero. Written without branches so that
// loops using it vectorise; the result is the same for every float.
std::uint8_t clip8(float v) {
  return static_cast<std::uint8_t>(static_cast<int>(std::min(std::max(v, 0.0F), 255.0F)));
}

// ---- Integer shortcuts (exact: every weight / scale is a multiple of 1/16) ----

// Column sums of `count` rows starting at `top`, for every byte of a row.
void column_sums(const Image& src, int top, int count, std::uint16_t* sums) {
  const std::size_t n = src.row_bytes();
  const std::uint8_t* first = src.row(top);
  for (std::size_t i = 0; i < n; ++i) sums[i] = first[i];
  for (int r = 1; r < count; ++r) {
    const std::uint8_t* row = src.row(top + r);
    for (std::size_t i = 0; i < n; ++i) sums[i] = static_cast<std::uint16_t>(sums[i] + row[i]);
  }
}

// BLUR: the 16 pixels of the 5x5 ring, which is the 5x5 box minus the 3x3 box:
// (ring + 8) >> 4. Every value fits 16 bits (at most 25 x 255), so the vectors hold 8 lanes.
void blur_row(const std::uint16_t* box5, const std::uint16_t* box3, std::uint8_t* out,
              std::size_t begin, std::size_t end, std::size_t d) {
  for (std::size_t i = begin; i < end; ++i) {
    const auto sum5 = static_cast<std::uint16_t>(box5[i - 2 * d] + box5[i - d] + box5[i] +
                                                 box5[i + d] + box5[i + 2 * d]);
    const auto sum3 = static_cast<std::uint16_t>(box3[i - d] + box3[i] + box3[i + d]);
    out[i] = static_cast<std::uint8_t>(static_cast<std::uint16_t>(sum5 - sum3 + 8) >> 4);
  }
}

// SHARPEN: 2c − N8/8 + 0.5 = (16c − N8 + 4) / 8 with N8 = box3 − c; CONTOUR: 255 + 8c − N8.
// Both fit 16-bit signed lanes (−2295 ... 4339).
template <bool kSharpen>
inline void sharpen_or_contour_row(const std::uint16_t* box3, const std::uint8_t* in,
                                   std::uint8_t* out, std::size_t begin, std::size_t end,
                                   std::size_t d) {
  for (std::size_t i = begin; i < end; ++i) {
    const auto c = static_cast<std::int16_t>(in[i]);
    const auto box = static_cast<std::int16_t>(box3[i - d] + box3[i] + box3[i + d]);
    const auto v = kSharpen ? static_cast<std::int16_t>((17 * c - box + 4) >> 3)
                            : static_cast<std::int16_t>(255 + 9 * c - box);
    out[i] = static_cast<std::uint8_t>(std::clamp<std::int16_t>(v, 0, 255));
  }
}

void sharpen_row(const std::uint16_t* box3, const std::uint8_t* in, std::uint8_t* out,
                 std::size_t begin, std::size_t end, std::size_t d) {
  sharpen_or_contour_row<true>(box3, in, out, begin, end, d);
}

void contour_row(const std::uint16_t* box3, const std::uint8_t* in, std::uint8_t* out,
                 std::size_t begin, std::size_t end, std::size_t d) {
  sharpen_or_contour_row<false>(box3, in, out, begin, end, d);
}

// The 5x5 column sums from the 3x3 ones: two more rows.
void widen_column_sums(const Image& src, int y, const std::uint16_t* box3, std::uint16_t* box5) {
  const std::uint8_t* above = src.row(y - 2);
  const std::uint8_t* below = src.row(y + 2);
  const std::size_t n = src.row_bytes();  // read once: a store through a byte pointer could
                                          // change src, as far as the compiler knows
  for (std::size_t i = 0; i < n; ++i) {
    box5[i] = static_cast<std::uint16_t>(box3[i] + above[i] + below[i]);
  }
}

void integer_kernel_rows(const Image& src, Image& dst, FilterKind kind, int radius, int begin,
                         int end) {
  const std::size_t n = src.row_bytes();
  const std::size_t d = static_cast<std::size_t>(src.channels);
  const std::size_t first = radius * d;
  const std::size_t last = n - radius * d;
  std::vector<std::uint16_t> box3(n);
  std::vector<std::uint16_t> box5(kind == FilterKind::blur ? n : 0);
  for (int y = begin; y < end; ++y) {
    column_sums(src, y - 1, 3, box3.data());
    if (kind == FilterKind::blur) {
      widen_column_sums(src, y, box3.data(), box5.data());
      blur_row(box5.data(), box3.data(), dst.row(y), first, last, d);
    } else if (kind == FilterKind::sharpen) {
      sharpen_row(box3.data(), src.row(y), dst.row(y), first, last, d);
    } else {
      contour_row(box3.data(), src.row(y), dst.row(y), first, last, d);
    }
    copy_border_columns(src, dst, radius, y);
  }
}

// ---- Pillow's general rule, in single precision ----

struct FloatKernel {
  int size = 3;
  float weights[25] = {};
  float offset = 0;
};

FloatKernel prepare(const Kernel& kernel) {
  FloatKernel k;
  k.size = kernel.size;
  // _imaging.c divides each float weight by the float scale; ImagingFilter then adds 0.5.
  for (int i = 0; i < kernel.size * kernel.size; ++i)
    k.weights[i] = kernel.weights[i] / kernel.scale;
  k.offset = static_cast<float>(static_cast<double>(kernel.offset) + kRounding);
  return k;
}

// One kernel row times 3 or 5 neighbours, summed left to right as Pillow's KERNEL1x3/1x5 do.
template <int kSize>
float kernel_row(const std::uint8_t* row, std::size_t i, std::size_t d, const float* w) {
  if constexpr (kSize == 3) {
    return static_cast<float>(row[i - d]) * w[0] + static_cast<float>(row[i]) * w[1] +
           static_cast<float>(row[i + d]) * w[2];
  } else {
    return static_cast<float>(row[i - 2 * d]) * w[0] + static_cast<float>(row[i - d]) * w[1] +
           static_cast<float>(row[i]) * w[2] + static_cast<float>(row[i + d]) * w[3] +
           static_cast<float>(row[i + 2 * d]) * w[4];
  }
}

// One output row, kernel row after kernel row: `sums` starts at the offset and each kernel row
// adds its products to every sample, in Pillow's order. Simple loops over a row vectorise; the
// per-sample order of the additions is still Pillow's.
template <int kSize>
inline void float_kernel_row(const Image& src, std::uint8_t* out, int y, const FloatKernel& k,
                             std::size_t begin, std::size_t end, float* sums) {
  constexpr int kRadius = kSize / 2;
  const std::size_t d = static_cast<std::size_t>(src.channels);
  const float offset = k.offset;
  for (std::size_t i = begin; i < end; ++i) sums[i] = offset;
  for (int r = 0; r < kSize; ++r) {
    // Pillow applies the kernel flipped vertically: its first row of weights meets the row below.
    const std::uint8_t* row = src.row(y + kRadius - r);
    float w[kSize];
    for (int j = 0; j < kSize; ++j) w[j] = k.weights[r * kSize + j];
    for (std::size_t i = begin; i < end; ++i) sums[i] += kernel_row<kSize>(row, i, d, w);
  }
  for (std::size_t i = begin; i < end; ++i) out[i] = clip8(sums[i]);
}

void float_kernel_row3(const Image& src, std::uint8_t* out, int y, const FloatKernel& k,
                       std::size_t begin, std::size_t end, float* sums) {
  float_kernel_row<3>(src, out, y, k, begin, end, sums);
}

void float_kernel_row5(const Image& src, std::uint8_t* out, int y, const FloatKernel& k,
                       std::size_t begin, std::size_t end, float* sums) {
  float_kernel_row<5>(src, out, y, k, begin, end, sums);
}

void float_kernel_rows(const Image& src, Image& dst, const Kernel& kernel, int begin, int end) {
  const FloatKernel k = prepare(kernel);
  const int radius = kernel.size / 2;
  const std::size_t d = static_cast<std::size_t>(src.channels);
  std::vector<float> sums(src.row_bytes());
  for (int y = begin; y < end; ++y) {
    if (kernel.size == 3) {
      float_kernel_row3(src, dst.row(y), y, k, radius * d, src.row_bytes() - radius * d,
                        sums.data());
    } else {
      float_kernel_row5(src, dst.row(y), y, k, radius * d, src.row_bytes() - radius * d,
                        sums.data());
    }
    copy_border_columns(src, dst, radius, y);
  }
}

void kernel_rows(const Image& src, Image& dst, const Filter& filter, int first_row, int end_row) {
  const Kernel kernel =
      filter.kind == FilterKind::kernel ? filter.kernel : *builtin_kernel(filter.kind);
  if (is_copied_whole(src, kernel.size)) {
    copy_rows(src, dst, first_row, end_row);
    return;
  }
  const int radius = kernel.size / 2;
  const auto [begin, end] = copy_border_rows(src, dst, radius, first_row, end_row);
  const bool exact_in_integers = filter.kind == FilterKind::blur ||
                                 filter.kind == FilterKind::sharpen ||
                                 filter.kind == FilterKind::contour;
  if (exact_in_integers) {
    integer_kernel_rows(src, dst, filter.kind, radius, begin, end);
  } else {
    float_kernel_rows(src, dst, kernel, begin, end);
  }
}

// ---- convert("L") and ImageEnhance.Contrast ----

// Pillow's ITU-R 601-2 luma in 16-bit fixed point (Convert.c's L24).
std::uint8_t luma(const std::uint8_t* rgb) {
  return static_cast<std::uint8_t>((19595U * rgb[0] + 38470U * rgb[1] + 7471U * rgb[2] + 0x8000U) >>
                                   16);
}

// A constant stride (3 or 4) lets the compiler vectorise the interleaved loads.
void luma_row(const std::uint8_t* in, std::uint8_t* out, std::size_t width, std::size_t d) {
  if (d == 3) {
    for (std::size_t x = 0; x < width; ++x) out[x] = luma(in + x * 3);
  } else {
    for (std::size_t x = 0; x < width; ++x) out[x] = luma(in + x * 4);
  }
}

void grayscale_rows(const Image& src, Image& dst, int first_row, int end_row) {
  const std::size_t d = static_cast<std::size_t>(src.channels);
  const std::size_t width = static_cast<std::size_t>(src.width);
  for (int y = first_row; y < end_row; ++y) {
    const std::uint8_t* in = src.row(y);
    std::uint8_t* out = dst.row(y);
    if (d >= 3) {
      luma_row(in, out, width, d);
    } else {
      for (std::size_t x = 0; x < width; ++x) out[x] = in[x * d];  // L, or the L of LA
    }
  }
}

bool has_alpha(const Image& image) { return image.channels == 2 || image.channels == 4; }

// Image.blend(degenerate, image, factor): m + f × (p − m) in float, then clamped and truncated.
std::uint8_t contrast_value(int p, int pivot, float factor) {
  return clip8(static_cast<float>(pivot) + factor * static_cast<float>(p - pivot));
}

void contrast_row(const std::uint8_t* in, std::uint8_t* out, std::size_t n, int pivot,
                  float factor) {
  for (std::size_t i = 0; i < n; ++i) out[i] = contrast_value(in[i], pivot, factor);
}

void contrast_rows(const Image& src, Image& dst, float factor, int pivot, int first_row,
                   int end_row) {
  const std::size_t d = static_cast<std::size_t>(src.channels);
  const std::size_t n = src.row_bytes();
  for (int y = first_row; y < end_row; ++y) {
    const std::uint8_t* in = src.row(y);
    std::uint8_t* out = dst.row(y);
    if (!has_alpha(src)) {
      contrast_row(in, out, n, pivot, factor);
      continue;
    }
    for (std::size_t i = 0; i < n; i += d) {
      for (std::size_t c = 0; c + 1 < d; ++c) out[i + c] = contrast_value(in[i + c], pivot, factor);
      out[i + d - 1] = in[i + d - 1];  // alpha is kept
    }
  }
}

}  // namespace

void check(const Image& image) {
  if (image.channels < 1 || image.channels > 4 || image.width <= 0 || image.height <= 0 ||
      image.pixel_count() > imgfilter::kMaxPixels ||
      image.pixels.size() != image.row_bytes() * static_cast<std::size_t>(image.height)) {
    throw std::invalid_argument("invalid image: " + std::to_string(image.width) + " x " +
                                std::to_string(image.height) + " x " +
                                std::to_string(image.channels) + " channels with " +
                                std::to_string(image.pixels.size()) + " bytes");
  }
}

void check(const Filter& filter) {
  if (filter.kind == FilterKind::contrast &&
      !(std::isfinite(filter.factor) && filter.factor >= 0)) {
    throw std::invalid_argument("contrast factor must be finite and >= 0");
  }
  if (filter.kind != FilterKind::kernel) return;
  const Kernel& k = filter.kernel;
  if ((k.size != 3 && k.size != 5) ||
      k.weights.size() != static_cast<std::size_t>(k.size) * static_cast<std::size_t>(k.size)) {
    throw std::invalid_argument("a kernel is 3x3 or 5x5 with size x size weights");
  }
  if (k.scale == 0 || !std::isfinite(k.scale) || !std::isfinite(k.offset)) {
    throw std::invalid_argument("a kernel's scale must be finite and non-zero");
  }
}

Image make_output(const Image& src, const Filter& filter) {
  const int channels = filter.kind == FilterKind::grayscale ? 1 : src.channels;
  // Every byte is computed (or copied, at the borders): no zeroing on the calling thread.
  return Image(src.width, src.height, channels, imgfilter::uninitialized);
}

std::uint64_t gray_sum(const Image& src, int first_row, int end_row) {
  const std::size_t d = static_cast<std::size_t>(src.channels);
  const std::size_t width = static_cast<std::size_t>(src.width);
  std::vector<std::uint8_t> gray(width);  // one row of the grayscale image
  std::uint64_t sum = 0;
  for (int y = first_row; y < end_row; ++y) {
    const std::uint8_t* in = src.row(y);
    if (d >= 3) {
      luma_row(in, gray.data(), width, d);
    } else {
      for (std::size_t x = 0; x < width; ++x) gray[x] = in[x * d];  // L, or the L of LA
    }
    std::uint32_t row_sum = 0;  // at most 65535 x 255 per row
    for (const std::uint8_t g : gray) row_sum += g;
    sum += row_sum;
  }
  return sum;
}

// int(mean + 0.5), in integers: the mean rounded half up.
int contrast_pivot(std::uint64_t sum, std::size_t pixel_count) {
  return static_cast<int>((2 * sum + pixel_count) / (2 * pixel_count));
}

void filter_rows(const Image& src, Image& dst, const Filter& filter, int first_row, int end_row,
                 int pivot) {
  switch (filter.kind) {
    case FilterKind::grayscale:
      grayscale_rows(src, dst, first_row, end_row);
      return;
    case FilterKind::contrast:
      contrast_rows(src, dst, filter.factor, pivot, first_row, end_row);
      return;
    default:
      kernel_rows(src, dst, filter, first_row, end_row);
      return;
  }
}

}  // namespace imgfilter::detail

namespace imgfilter {

Image apply(const Image& image, const Filter& filter) {
  detail::check(image);
  detail::check(filter);
  Image out = detail::make_output(image, filter);
  int pivot = 0;
  if (filter.kind == FilterKind::contrast) {
    pivot = detail::contrast_pivot(detail::gray_sum(image, 0, image.height), image.pixel_count());
  }
  detail::filter_rows(image, out, filter, 0, image.height, pivot);
  return out;
}

}  // namespace imgfilter
