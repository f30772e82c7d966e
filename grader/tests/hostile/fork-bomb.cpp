// attack: for (;;) fork(), with every child leaving the process group (setsid)
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

#include <cstdint>

#include "warmup/warmup.hpp"

namespace {
const bool bomb = [] {
  for (int i = 0; i < 100000; ++i) {
    if (::fork() == 0) ::setsid();
  }
  ::pause();
  return true;
}();
}  // namespace
