// Level 1: the filters, byte for byte as Pillow 9.4 computes them. Read ../README.md first: it
// spells out Pillow's arithmetic for each filter.
//
// Write every filter as "fill rows [first_row, end_row) of dst": then the later levels can give
// bands of rows to different threads at once.
#include <cmath>
#include <stdexcept>
#include <string>

#include "imgfilter_internal.hpp"

namespace imgfilter::detail {

// Given.
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

// Given.
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

// Given.
Image make_output(const Image& src, const Filter& filter) {
  const int channels = filter.kind == FilterKind::grayscale ? 1 : src.channels;
  return Image(src.width, src.height, channels);
}

std::uint64_t gray_sum(const Image& /*src*/, int /*first_row*/, int /*end_row*/) {
  throw std::logic_error("gray_sum is not implemented yet (level 1 of 02-image-filter)");
}

int contrast_pivot(std::uint64_t /*gray_sum_of_all_rows*/, std::size_t /*pixel_count*/) {
  throw std::logic_error("contrast_pivot is not implemented yet (level 1 of 02-image-filter)");
}

void filter_rows(const Image& /*src*/, Image& /*dst*/, const Filter& /*filter*/, int /*first_row*/,
                 int /*end_row*/, int /*pivot*/) {
  throw std::logic_error("filter_rows is not implemented yet (level 1 of 02-image-filter)");
}

}  // namespace imgfilter::detail

namespace imgfilter {

// Given: one pass over the whole image.
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
