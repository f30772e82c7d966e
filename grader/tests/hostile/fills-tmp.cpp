// attack: writes 20 files of 200 MiB into /tmp, /var/tmp and /dev/shm and leaves them there
// base: skeleton
// expect-runtime: 0
#include <fstream>
#include <string>
#include <vector>

#include "warmup/warmup.hpp"

namespace {
const bool filled = [] {
  const std::vector<char> block(1 << 20, 'x');
  for (const char* dir : {"/tmp", "/var/tmp", "/dev/shm"}) {
    for (int f = 0; f < 20; ++f) {
      std::ofstream out(std::string(dir) + "/hostile-fill-" + std::to_string(f));
      for (int mib = 0; mib < 200 && out; ++mib) out.write(block.data(), block.size());
    }
  }
  return true;
}();
}  // namespace
