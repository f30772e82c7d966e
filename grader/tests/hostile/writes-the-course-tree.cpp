// attack: rewrites the exercise's tests, the manifest and files in $HOME so the next grade passes
// base: skeleton
// expect-link: 0
// expect-runtime: 0
// needs: sandbox
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {
const bool written = [] {
  namespace fs = std::filesystem;
  const auto root = fs::canonical("/proc/self/exe")
                        .parent_path()
                        .parent_path()
                        .parent_path()
                        .parent_path()
                        .parent_path();
  const auto exercise = root / "exercises" / "00-warmup";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(exercise / "tests", ec)) {
    std::ofstream(entry.path(), std::ios::app) << "\n// hostile\n";
  }
  std::ofstream(exercise / "exercise.toml", std::ios::app) << "\n# hostile\n";
  std::ofstream(root / "hostile-marker") << "written\n";
  const char* const homes[] = {std::getenv("HOME"), "/root"};
  for (const char* home : homes) {
    if (home != nullptr) std::ofstream(fs::path(home) / "hostile-marker") << "written\n";
  }
  return true;
}();
}  // namespace
