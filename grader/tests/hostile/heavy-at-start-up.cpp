// attack: at start-up (so also while the tests are listed) touches 5 GiB and writes a 400 MiB file
// base: skeleton
// expect-runtime: 0
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace {
const bool heavy = [] {
  for (int i = 0; i < 20; ++i) {
    void* block = std::malloc(256u << 20);
    if (block != nullptr) std::memset(block, 1, 256u << 20);
  }
  const std::vector<char> block(1 << 20, 'x');
  std::ofstream out("/tmp/hostile-start-up");
  for (int mib = 0; mib < 400 && out; ++mib) out.write(block.data(), block.size());
  return true;
}();
}  // namespace
