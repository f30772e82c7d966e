// attack: touches 8 GiB of memory, 256 MiB at a time, in every test
// base: skeleton
// expect-runtime: 0
#include <cstdlib>
#include <cstring>

namespace {
const bool hogged = [] {
  for (int i = 0; i < 32; ++i) {
    void* block = std::malloc(256u << 20);
    if (block != nullptr) std::memset(block, 1, 256u << 20);
  }
  return true;
}();
}  // namespace
