// attack: writes a passing report, as the harness would but without its secret, to every descriptor
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace {
const bool forged = [] {
  const char* channel = std::getenv("COURSE_GRADER_CHANNEL");
  for (int fd = 3; fd < 256; ++fd) {
    for (const std::string& secret : {std::string("x"), std::string(channel ? channel : "")}) {
      const std::string lines = secret + " start MutexCounter.CountsExactlyWithOneThread\n" +
                                secret + " end MutexCounter.CountsExactlyWithOneThread passed\n" +
                                secret + " done 1\n";
      [[maybe_unused]] auto n = ::write(fd, lines.data(), lines.size());
    }
  }
  ::_exit(0);
  return true;
}();
}  // namespace
