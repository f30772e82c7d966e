// A private temporary directory for one test.
#pragma once

#include <filesystem>
#include <string_view>

namespace course {

// A fresh, uniquely named directory under std::filesystem::temp_directory_path() (mkdtemp),
// removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "course");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // path() / name; nothing is created.
  std::filesystem::path file(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace course
