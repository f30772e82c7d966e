// attack: SIGSTOP and SIGKILL to its parent (the grader) and to every process it may signal
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

#include <csignal>

namespace {
const bool signalled = [] {
  ::kill(::getppid(), SIGSTOP);
  ::kill(::getppid(), SIGKILL);
  ::kill(-1, SIGKILL);
  return true;
}();
}  // namespace
