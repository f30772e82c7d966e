// attack: writes 5 trace files of 120 MB, and a symlink to /etc/passwd, where traces are collected
// base: skeleton
// expect-runtime: 0
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace {
const bool traced = [] {
  const char* dir = std::getenv("COURSE_TRACE_DIR");
  if (dir == nullptr) return false;
  const std::string filler(1 << 20, ' ');
  for (int f = 0; f < 5; ++f) {
    std::ofstream out(std::string(dir) + "/huge-" + std::to_string(f) + ".json");
    out << "{\"title\": \"";
    for (int mib = 0; mib < 120 && out; ++mib) out << filler;
    out << "\", \"unit\": \"ms\", \"tasks\": []}";
  }
  [[maybe_unused]] int ignored =
      ::symlink("/etc/passwd", (std::string(dir) + "/passwd.json").c_str());
  return true;
}();
}  // namespace
