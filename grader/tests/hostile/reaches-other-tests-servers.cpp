// attack: connects to every port of 127.0.0.1, to reach another test's servers or the machine's
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

// Says what it achieved where the selfcheck looks: a trace file, which the grader keeps.
[[maybe_unused]] void escaped(const std::string& what) {
  std::fprintf(stderr, "hostile-escaped: %s\n", what.c_str());
  if (const char* dir = std::getenv("COURSE_TRACE_DIR"))
    std::ofstream(std::string(dir) + "/hostile-escaped.json", std::ios::app)
        << "hostile-escaped: " << what << "\n";
}

// Another test's rendezvous server could be completed from here, and a service of the machine
// (a database, the grader's own helpers) reached: while it runs, the selfcheck listens on a port.
const bool scanned = [] {
  int reached = 0;
  for (int port = 1; port < 65536 && reached < 5; ++port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr_in local{};
    socklen_t length = sizeof local;
    // A connection to its own ephemeral port (TCP's simultaneous open) reaches nothing.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
        local.sin_port != address.sin_port) {
      escaped("reached 127.0.0.1:" + std::to_string(port));
      ++reached;
    }
    ::close(fd);
  }
  return true;
}();

}  // namespace
