// imgfilter::Image loading and saving with stb. This is the one translation unit that compiles
// stb_image and stb_image_write (PNG, JPEG and BMP only, to keep it small).
#include "imgfilter/image.hpp"

#include "course/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // files are read here, so that every error can name the file
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace imgfilter {
namespace {

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

void check_shape(int width, int height, int channels, const std::string& what) {
  if (width < 0 || height < 0) throw std::invalid_argument(what + ": negative size");
  if (channels < 1 || channels > 4) {
    throw std::invalid_argument(what + ": channels must be 1 to 4, not " +
                                std::to_string(channels));
  }
  if (static_cast<std::size_t>(width) * static_cast<std::size_t>(height) > kMaxPixels) {
    throw std::invalid_argument(what + ": more than " + std::to_string(kMaxPixels) + " pixels");
  }
}

// The largest file an image of kMaxPixels can take: an uncompressed 32-bit BMP, plus headers.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{kMaxPixels} * 4 + (1U << 20);

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  // O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw ImageError("cannot open " + quoted(path) + ": " + std::strerror(errno));
  const std::unique_ptr<const int, void (*)(const int*)> closer(&fd,
                                                                [](const int* f) { ::close(*f); });
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw ImageError("cannot read " + quoted(path) + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw ImageError("cannot read " + quoted(path) + ": it is a directory");
  if (!S_ISREG(st.st_mode)) {
    throw ImageError("cannot read " + quoted(path) +
                     ": it is not a regular file (a FIFO, a device or a socket)");
  }
  // Checked before reading, so a huge file costs nothing.
  const auto size = static_cast<std::uintmax_t>(st.st_size);
  if (size > kMaxFileBytes) {
    throw ImageError("cannot read " + quoted(path) + ": it is " + std::to_string(size >> 20) +
                     " MiB, more than any image of at most " + std::to_string(kMaxPixels) +
                     " pixels can take (" + std::to_string(kMaxFileBytes >> 20) + " MiB)");
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes.resize(size);
  } catch (const std::bad_alloc&) {
    throw ImageError("cannot read " + quoted(path) + ": not enough memory for its " +
                     std::to_string(size >> 20) + " MiB");
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ImageError("cannot read " + quoted(path) + ": " + std::strerror(errno));
    if (n == 0) break;  // the file shrank while it was read
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// The format a file's first bytes announce, for error messages.
std::string format_of(std::span<const std::uint8_t> b) {
  if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "PNG";
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return "JPEG";
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
  return "";
}

std::uint32_t big_endian(std::span<const std::uint8_t> b, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[at + i];
  return v;
}

struct Claimed {
  std::int64_t width = 0;
  std::int64_t height = 0;
};

// The dimensions a PNG, BMP or JPEG header claims, read without decoding anything: stb refuses
// huge headers too, but its reason is lost when it then tries the other formats.
std::optional<Claimed> claimed_size(std::span<const std::uint8_t> b) {
  const std::string format = format_of(b);
  if (format == "PNG" && b.size() >= 24) {
    return Claimed{big_endian(b, 16, 4), big_endian(b, 20, 4)};
  }
  if (format == "BMP" && b.size() >= 26) {
    const auto le32 = [&b](std::size_t at) {
      return static_cast<std::int32_t>(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) |
                                       (static_cast<std::uint32_t>(b[at + 3]) << 24));
    };
    const std::int64_t height = le32(22);
    return Claimed{le32(18), height < 0 ? -height : height};
  }
  if (format == "JPEG") {
    // Walk the marker segments up to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
    std::size_t at = 2;
    while (at + 9 < b.size() && b[at] == 0xFF) {
      const std::uint8_t marker = b[at + 1];
      const std::size_t length = big_endian(b, at + 2, 2);
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
        return Claimed{big_endian(b, at + 7, 2), big_endian(b, at + 5, 2)};
      }
      at += 2 + length;
    }
  }
  return std::nullopt;
}

struct StbFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

}  // namespace

Image::Image(int width_, int height_, int channels_, std::uint8_t fill)
    : width(width_), height(height_), channels(channels_) {
  check_shape(width_, height_, channels_, "imgfilter::Image");
  pixels.assign(row_bytes() * static_cast<std::size_t>(height_), fill);
}

Image::Image(int width_, int height_, int channels_, Uninitialized /*tag*/)
    : width(width_), height(height_), channels(channels_) {
  check_shape(width_, height_, channels_, "imgfilter::Image");
  pixels.resize(row_bytes() * static_cast<std::size_t>(height_));
}

Image decode_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  const std::string file = "'" + name + "'";
  if (bytes.empty()) throw ImageError(file + " is empty (0 bytes): not an image");
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) {
    throw ImageError(file + " is larger than 2 GiB: refused");
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  // The header first: refuse huge dimensions before anything is allocated for the pixels.
  if (const auto claimed = claimed_size(bytes)) {
    if (claimed->width > kMaxSide || claimed->height > kMaxSide ||
        claimed->width * claimed->height > static_cast<std::int64_t>(kMaxPixels)) {
      throw ImageError(file + " claims " + std::to_string(claimed->width) + " x " +
                       std::to_string(claimed->height) + " pixels, above the limit of " +
                       std::to_string(kMaxPixels) + " pixels and " + std::to_string(kMaxSide) +
                       " per side: refused");
    }
  }
  int width = 0;
  int height = 0;
  int channels = 0;
  if (stbi_info_from_memory(data, size, &width, &height, &channels) == 0) {
    const std::string format = format_of(bytes);
    if (!format.empty()) {
      throw ImageError(file + " is a " + format + " file stb cannot decode (" +
                       stbi_failure_reason() +
                       "): its header is corrupt or truncated, or it is a variant stb does not "
                       "read (e.g. RLE-compressed BMP, progressive 12-bit JPEG)");
    }
    throw ImageError(file + " is not a PNG, JPEG or BMP image stb can read (" +
                     stbi_failure_reason() + ")");
  }
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide ||
      static_cast<std::size_t>(width) * static_cast<std::size_t>(height) > kMaxPixels) {
    throw ImageError(file + " claims " + std::to_string(width) + " x " + std::to_string(height) +
                     " pixels, above the limit of " + std::to_string(kMaxPixels) + " pixels and " +
                     std::to_string(kMaxSide) + " per side: refused");
  }
  std::unique_ptr<stbi_uc, StbFree> pixels(
      stbi_load_from_memory(data, size, &width, &height, &channels, 0));
  if (!pixels) {
    throw ImageError(file + " is corrupt or truncated (" + stbi_failure_reason() + ")");
  }
  if (channels < 1 || channels > 4) {
    throw ImageError(file + " has " + std::to_string(channels) + " channels (1 to 4 expected)");
  }
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.assign(pixels.get(), pixels.get() + image.row_bytes() * height);
  return image;
}

Image load_image(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return decode_image(bytes, path.string());
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  check_shape(image.width, image.height, image.channels, "encode_png");
  if (image.width == 0 || image.height == 0) {
    throw ImageError("encode_png: an empty image (" + std::to_string(image.width) + " x " +
                     std::to_string(image.height) + ") cannot be a PNG");
  }
  if (image.pixels.size() != image.row_bytes() * static_cast<std::size_t>(image.height)) {
    throw ImageError("encode_png: the image holds " + std::to_string(image.pixels.size()) +
                     " bytes, not width x height x channels");
  }
  std::vector<std::uint8_t> png;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    out->insert(out->end(), bytes, bytes + size);
  };
  const int ok = stbi_write_png_to_func(append, &png, image.width, image.height, image.channels,
                                        image.pixels.data(), static_cast<int>(image.row_bytes()));
  if (ok == 0) throw ImageError("encode_png: stb could not encode the image");
  return png;
}

void save_png(const Image& image, const std::filesystem::path& path) {
  std::vector<std::uint8_t> png;
  try {
    png = encode_png(image);
  } catch (const std::invalid_argument& e) {
    throw ImageError("cannot write " + quoted(path) + ": " + e.what());
  } catch (const ImageError& e) {
    throw ImageError("cannot write " + quoted(path) + ": " + e.what());
  }
  // The rule of every course command (course/output_file.hpp): a regular file or a new path is
  // replaced atomically, a link followed, a device or a FIFO written in place.
  try {
    course::write_output_file(
        path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
  } catch (const course::OutputError& e) {
    throw ImageError(e.what());
  }
}

}  // namespace imgfilter
