// attack: scans every readable mapping for the channel's secret, then reports a pass
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A run of exactly 32 lower-case hex digits followed by " start ": a line the harness built.
std::string find_secret() {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return "";
  char line[512];
  std::string found;
  while (found.empty() && std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long from = 0;
    unsigned long to = 0;
    char perms[5] = {};
    if (std::sscanf(line, "%lx-%lx %4s", &from, &to, perms) != 3 || perms[0] != 'r') continue;
    if (std::strstr(line, "[vvar]") != nullptr || to - from > (64UL << 20)) continue;
    const char* memory = reinterpret_cast<const char*>(from);
    for (unsigned long i = 0; i + 40 < to - from && found.empty(); ++i) {
      if (std::memcmp(memory + i, " start ", 7) != 0 || i < 32) continue;
      const char* secret = memory + i - 32;
      bool hex = true;
      for (int k = 0; k < 32; ++k) hex = hex && is_hex(secret[k]);
      if (hex) found.assign(secret, 32);
    }
  }
  std::fclose(maps);
  return found;
}

// A thread that waits for the first test to start (the harness then has built a line), and
// writes a passing report with the secret it finds.
const bool forged = [] {
  std::thread([] {
    for (int attempt = 0; attempt < 200; ++attempt) {
      const auto secret = find_secret();
      if (!secret.empty()) {
        const char* name = std::getenv("HOSTILE_TEST");
        const std::string test = name != nullptr ? name : "MutexCounter.CountsExactlyWithOneThread";
        for (int fd = 3; fd < 256; ++fd) {
          const std::string lines = secret + " end " + test + " passed\n" + secret + " done 1\n";
          syscall(SYS_write, fd, lines.data(), lines.size());
        }
        syscall(SYS_exit_group, 0);
      }
      usleep(5000);
    }
  }).detach();
  return true;
}();

}  // namespace
