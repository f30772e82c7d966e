// attack: 300 sleeping processes, each in a process group of its own
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

namespace {
const bool spread = [] {
  for (int i = 0; i < 300; ++i) {
    if (::fork() == 0) {
      ::setpgid(0, 0);
      ::sleep(600);
      ::_exit(0);
    }
  }
  return true;
}();
}  // namespace
