// Misbehaving programs for the runner's tests, built into the test binary
// itself: when GRADER_TEST_HELPER is set, the binary runs that helper before
// GoogleTest starts and exits. The tests run /proc/self/exe this way.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

[[noreturn]] void crash_with_segv() {
  // A sanitizer build of this binary would catch the signal and exit instead.
  std::signal(SIGSEGV, SIG_DFL);
  // Not a null pointer, so that UBSan does not stop first: an unmapped page.
  volatile int* invalid = reinterpret_cast<volatile int*>(std::uintptr_t{16});
  *invalid = 1;
  std::raise(SIGSEGV);  // not reached
  std::abort();
}

// Starts children that only wait, far more than the grader allows in one
// group; bounded at 2000 so that a broken grader still cannot exhaust the
// machine's process table.
[[noreturn]] void fork_many() {
  for (int i = 0; i < 2000; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  ::pause();
  ::_exit(0);
}

int run_helper(const char* mode) {
  if (std::strcmp(mode, "segv") == 0) crash_with_segv();
  if (std::strcmp(mode, "fork-many") == 0) fork_many();
  std::fprintf(stderr, "unknown GRADER_TEST_HELPER mode '%s'\n", mode);
  return 99;
}

[[maybe_unused]] const bool helper_ran = [] {
  const char* mode = std::getenv("GRADER_TEST_HELPER");
  if (mode != nullptr) ::_exit(run_helper(mode));
  return false;
}();

}  // namespace
