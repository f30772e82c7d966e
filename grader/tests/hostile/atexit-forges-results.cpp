// attack: an atexit handler writes a passing result and ends the process with status 0
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {
const bool installed = [] {
  std::atexit([] {
    std::puts("[       OK ] MutexCounter.CountsExactlyWithOneThread (0 ms)");
    ::_exit(0);
  });
  return true;
}();
}  // namespace
