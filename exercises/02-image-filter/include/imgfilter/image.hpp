// An 8-bit image in memory, and loading and saving it with stb (PNG, JPEG and BMP in, PNG out).
//
// Exercise 02's given library (lib/image.cpp), used by the implementations, the tests and the
// tools. Loading never trusts a file: the dimensions its header claims are checked against
// kMaxPixels before any pixel memory is allocated, and every error names the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace imgfilter {

// Interleaved 8-bit samples, row after row with no padding: pixel (x, y) channel c is at
// pixels[(y * width + x) * channels + c]. channels is 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA), the
// same meaning as Pillow's modes of the same names.
// An allocator that leaves new elements default-initialised: for bytes, not written at all. A
// std::vector<std::uint8_t> zeroes every byte it grows by, on the thread that grows it; for a
// 50 MB output image that memset is a serial step before the parallel work (Amdahl's law).
// With this allocator the threads that compute the pixels are the first to touch them.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>  // implicit, as std::allocator's: containers convert rebound allocators
  DefaultInitAllocator(const DefaultInitAllocator<U>& /*other*/) noexcept {}  // NOLINT

  template <class U>
  void construct(U* where) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(where)) U;  // default-initialisation: no value is written
  }
  template <class U, class... Args>
  void construct(U* where, Args&&... args) {
    std::construct_at(where, std::forward<Args>(args)...);
  }
};

// The samples of an image.
using Bytes = std::vector<std::uint8_t, DefaultInitAllocator<std::uint8_t>>;

// Asks for an image whose samples are not set: every one must be written before it is read.
struct Uninitialized {};
inline constexpr Uninitialized uninitialized{};

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  Bytes pixels;

  Image() = default;
  // A width x height image with `channels` channels, every sample `fill`. Throws
  // std::invalid_argument for negative sizes, channels outside 1..4 or more than kMaxPixels.
  Image(int width, int height, int channels, std::uint8_t fill = 0);
  // The same shape, with samples left unset: for outputs whose every byte is computed.
  Image(int width, int height, int channels, Uninitialized /*tag*/);

  std::size_t row_bytes() const { return static_cast<std::size_t>(width) * channels; }
  std::size_t pixel_count() const { return static_cast<std::size_t>(width) * height; }
  std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * row_bytes(); }
  const std::uint8_t* row(int y) const {
    return pixels.data() + static_cast<std::size_t>(y) * row_bytes();
  }
  std::uint8_t& at(int x, int y, int c) {
    return row(y)[static_cast<std::size_t>(x) * channels + c];
  }
  std::uint8_t at(int x, int y, int c) const {
    return row(y)[static_cast<std::size_t>(x) * channels + c];
  }

  friend bool operator==(const Image&, const Image&) = default;
};

// The largest image load_image accepts: 64 megapixels (for example 8192 x 8192), at most 65535
// pixels on a side. A header that claims more is refused before its pixels are decoded, so a
// 100000 x 100000 "PNG" of a few bytes costs nothing.
inline constexpr std::size_t kMaxPixels = std::size_t{1} << 26;
inline constexpr int kMaxSide = 65535;

// What load_image and save_png throw: the message names the file and says what is wrong with it.
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads a PNG, JPEG or BMP file with its own number of channels (1 to 4). 16-bit PNGs are
// reduced to 8 bits. Throws ImageError for a missing or unreadable file, an empty one, a format
// stb does not read, a truncated or corrupt file, and dimensions above kMaxPixels or kMaxSide.
Image load_image(const std::filesystem::path& path);
// The same for a file's bytes already in memory; `name` is used in error messages.
Image decode_image(std::span<const std::uint8_t> bytes, const std::string& name);

// Writes `image` as a PNG the way every course command writes a file (course/output_file.hpp):
// a regular file or a new path atomically (the bytes go to a temporary file in the destination's
// directory, ".<file name>-XXXXXX.part", renamed over `path` only when complete), a link
// followed, a device or a FIFO written in place. On failure the destination keeps its previous
// content and no temporary file is left behind. Throws ImageError (an invalid image, an
// unwritable directory, a full disk).
void save_png(const Image& image, const std::filesystem::path& path);
// The PNG bytes of `image` (what save_png writes).
std::vector<std::uint8_t> encode_png(const Image& image);

}  // namespace imgfilter
