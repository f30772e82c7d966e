#include "imgfilter/image.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "course/temp_dir.hpp"

namespace imgfilter {
namespace {

Image pattern(int width, int height, int channels) {
  Image image(width, height, channels);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    image.pixels[i] = static_cast<std::uint8_t>((i * 37 + i / 7) & 0xff);
  }
  return image;
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The PNG signature and an IHDR chunk (CRC left zero: stb does not check it) claiming
// width x height RGB pixels, and nothing else.
std::string png_header_claiming(std::uint32_t width, std::uint32_t height) {
  std::string png = "\x89PNG\r\n\x1a\n";
  const auto be32 = [&png](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) png += static_cast<char>((v >> shift) & 0xff);
  };
  be32(13);
  png += "IHDR";
  be32(width);
  be32(height);
  png += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, no filter, no interlace
  be32(0);
  return png;
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(Image, PngRoundTripKeepsEveryModeAndSize) {
  const course::TempDir dir("image");
  for (const int channels : {1, 2, 3, 4}) {
    for (const auto& [w, h] : {std::pair{1, 1}, std::pair{2, 3}, std::pair{33, 17}}) {
      const Image original = pattern(w, h, channels);
      const auto path = dir.file("p.png");
      save_png(original, path);
      EXPECT_EQ(load_image(path), original) << channels << " channels, " << w << "x" << h;
    }
  }
  EXPECT_EQ(files_in(dir.path()), 1U) << "save_png left a temporary file behind";
}

TEST(Image, SavedPngsAreReadableByEveryone) {
  const course::TempDir dir("image");
  const auto path = dir.file("p.png");
  save_png(pattern(2, 2, 3), path);
  const auto perms = std::filesystem::status(path).permissions();
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  EXPECT_EQ(static_cast<mode_t>(perms & std::filesystem::perms::all), 0666 & ~umask_now)
      << "0666 less the umask (0644 with the usual 022), as Pillow and the downloader write, not "
         "mkstemp's 0600";
}

TEST(Image, ConstructorRefusesBadShapes) {
  EXPECT_THROW(Image(2, 2, 0), std::invalid_argument);
  EXPECT_THROW(Image(2, 2, 5), std::invalid_argument);
  EXPECT_THROW(Image(-1, 2, 3), std::invalid_argument);
  EXPECT_THROW(Image(1 << 14, 1 << 14, 1), std::invalid_argument);
  const Image ok(3, 2, 4, 7);
  EXPECT_EQ(ok.pixels.size(), 24U);
  EXPECT_EQ(ok.at(2, 1, 3), 7);
}

void expect_load_error(const std::filesystem::path& path, const std::string& words) {
  try {
    (void)load_image(path);
    ADD_FAILURE() << "load_image(" << path << ") should have thrown";
  } catch (const ImageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }
}

TEST(Image, BadFilesGiveErrorsNamingTheFile) {
  const course::TempDir dir("image");
  save_png(pattern(16, 16, 3), dir.file("good.png"));
  const std::string good = read_bytes(dir.file("good.png"));
  write_bytes(dir.file("empty.png"), "");
  write_bytes(dir.file("text.png"), "this is not an image at all");
  write_bytes(dir.file("truncated.png"), good.substr(0, good.size() / 2));
  std::string corrupt = good;
  for (std::size_t i = 60; i < corrupt.size() - 12; ++i) corrupt[i] = static_cast<char>(0xA5);
  write_bytes(dir.file("corrupt.png"), corrupt);
  write_bytes(dir.file("huge.png"), png_header_claiming(100000, 100000));

  expect_load_error(dir.file("missing.png"), "cannot open");
  expect_load_error(dir.path(), "directory");
  expect_load_error(dir.file("empty.png"), "empty");
  expect_load_error(dir.file("text.png"), "not a PNG, JPEG or BMP");
  expect_load_error(dir.file("truncated.png"), "corrupt or truncated");
  expect_load_error(dir.file("corrupt.png"), "corrupt or truncated");
  expect_load_error(dir.file("huge.png"), "100000 x 100000");
}

TEST(Image, FifosDevicesAndOversizedFilesAreRefusedAtOnceWithoutReading) {
  const course::TempDir dir("image");
  // A FIFO with no writer would block open() for good. So that this test ends even then, a
  // thread opens the writing side whenever a reader waits (which only a blocked open can be);
  // the reader then sees an empty file, whose error is not the one expected.
  const auto fifo = dir.file("pipe.png");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  {
    const std::jthread unblocker([&fifo](const std::stop_token& token) {
      while (!token.stop_requested()) {
        const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);  // ENXIO while nobody reads
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    expect_load_error(fifo, "not a regular file");
  }
  // /dev/zero never ends.
  expect_load_error("/dev/zero", "not a regular file");
  // Larger than any image of kMaxPixels can be: refused from its size, before a byte is read
  // (a sparse file, so the test itself writes nothing).
  const auto big = dir.file("big.bmp");
  { std::ofstream(big.string()) << "BM"; }
  // 64 GiB: reading it first would fail for memory, with another message, or take minutes.
  std::filesystem::resize_file(big, std::uintmax_t{64} << 30);
  const auto start = std::chrono::steady_clock::now();
  expect_load_error(big, "MiB, more than any image");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "the 64 GiB file was read before its size was checked";
}

TEST(Image, HugeHeaderIsRefusedBeforeAllocating) {
  const course::TempDir dir("image");
  write_bytes(dir.file("huge.png"), png_header_claiming(60000, 60000));  // 10.8 GB of RGB
  // Under a 1 GiB address-space limit an attempt to allocate the pixels would fail with
  // bad_alloc or stb's "outofmem"; refusing from the header needs no memory at all. Sanitizer
  // builds reserve terabytes of address space, so the limit applies to the normal build only.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_AS, &old), 0);
  rlimit tight = old;
  tight.rlim_cur = std::min<rlim_t>(old.rlim_cur, rlim_t{1} << 30);
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &tight), 0);
#endif
  std::string message;
  try {
    (void)load_image(dir.file("huge.png"));
  } catch (const ImageError& e) {
    message = e.what();
  }
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  ::setrlimit(RLIMIT_AS, &old);
#endif
  EXPECT_NE(message.find("60000 x 60000"), std::string::npos) << message;
  EXPECT_NE(message.find("refused"), std::string::npos) << message;
}

TEST(Image, JpegAndBmpLoad) {
  // A 1x1 BMP (24 bits, bottom-up) with the pixel (B=10, G=20, R=30).
  std::string bmp = std::string("BM") + std::string("\x3a\0\0\0", 4) + std::string(4, '\0') +
                    std::string("\x36\0\0\0", 4) + std::string("\x28\0\0\0", 4) +
                    std::string("\x01\0\0\0\x01\0\0\0\x01\0\x18\0", 12) + std::string(24, '\0') +
                    std::string("\x0a\x14\x1e\0", 4);
  const course::TempDir dir("image");
  write_bytes(dir.file("one.bmp"), bmp);
  const Image image = load_image(dir.file("one.bmp"));
  ASSERT_EQ(image.channels, 3);
  EXPECT_EQ(image.width, 1);
  EXPECT_EQ(image.pixels, (imgfilter::Bytes{30, 20, 10}));
}

TEST(Image, SaveIsAtomicAndLeavesNothingOnFailure) {
  const course::TempDir dir("image");
  const auto path = dir.file("out.png");
  save_png(pattern(4, 4, 3), path);
  const std::string before = read_bytes(path);
  // An invalid image: the old file stays as it was, no temporary file appears.
  Image broken = pattern(4, 4, 3);
  broken.pixels.resize(5);
  EXPECT_THROW(save_png(broken, path), ImageError);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(files_in(dir.path()), 1U);
  // A directory that cannot exist (its parent is a regular file), even for root.
  write_bytes(dir.file("plain"), "x");
  try {
    save_png(pattern(2, 2, 1), dir.file("plain") / "out.png");
    ADD_FAILURE() << "save_png into a regular file's child should have thrown";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("plain/out.png"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_in(dir.path()), 2U);
}

}  // namespace
}  // namespace imgfilter
