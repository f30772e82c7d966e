// attack: a setsid + double-fork daemon outlives the test, then rewrites the reports and the tests
// base: reference
// expect-link: 0
// expect-runtime: 25
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {
const bool daemon_started = [] {
  if (::fork() != 0) return true;
  ::setsid();
  if (::fork() != 0) ::_exit(0);
  ::sleep(1);
  const auto root = std::filesystem::canonical("/proc/self/exe")
                        .parent_path()
                        .parent_path()
                        .parent_path()
                        .parent_path()
                        .parent_path();
  std::ofstream(root / "build" / "reports" / "last" / "report.json") << R"({"score": 999})";
  std::ofstream(root / "exercises" / "00-warmup" / "tests" / "hostile-marker") << "written\n";
  std::ofstream("/tmp/hostile-daemon-marker") << "written\n";
  ::_exit(0);
}();
}  // namespace
