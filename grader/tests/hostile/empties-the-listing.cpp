// attack: a static initialiser calls _exit(0), so listing the tests finds none
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

namespace {
[[maybe_unused]] const bool gone = [] {
  ::_exit(0);
  return true;
}();
}  // namespace
