#include "course/temp_dir.hpp"

#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace course {

TempDir::TempDir(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = pattern;
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir::~TempDir() {
  if (path_.empty()) return;
  // A destructor must not throw; a directory left behind in /tmp is the lesser evil.
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace course
