#include "course/temp_dir.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "course/net.hpp"

namespace course {
namespace {

TEST(TempDir, CreatesAUniqueDirectoryAndRemovesItWithItsContents) {
  std::filesystem::path kept;
  {
    const TempDir first;
    const TempDir second;
    kept = first.path();
    EXPECT_TRUE(std::filesystem::is_directory(first.path()));
    EXPECT_NE(first.path(), second.path());
    EXPECT_EQ(first.path().parent_path(), std::filesystem::temp_directory_path());
    EXPECT_EQ(first.file("a.txt"), first.path() / "a.txt");
    std::filesystem::create_directories(first.path() / "sub" / "dir");
    std::ofstream(first.file("a.txt")) << "data";
    std::ofstream(first.path() / "sub" / "dir" / "b.txt") << "data";
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(TempDir, MovingTransfersOwnership) {
  std::filesystem::path kept;
  {
    TempDir original("moved");
    kept = original.path();
    EXPECT_NE(kept.filename().string().find("moved-"), std::string::npos);
    const TempDir owner(std::move(original));
    EXPECT_EQ(owner.path(), kept);
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(Net, FreePortCanBeBoundOnLoopback) {
  const std::uint16_t port = free_port();
  EXPECT_GT(port, 0);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, kLoopback, &address.sin_addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
}

}  // namespace
}  // namespace course
