// attack: graded under umask 077 (a binary only root can read); as root, escapes
// base: skeleton
// umask: 077
// expect-link: 0
// expect-runtime: 0
#include <fcntl.h>
#include <unistd.h>

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

const bool tried = [] {
  if (::geteuid() == 0) {
    escaped("a test ran as root");
    // Out of its cgroup, into the machine's top one.
    std::ofstream("/sys/fs/cgroup/cgroup.procs") << ::getpid() << "\n";
    std::ofstream("/sys/fs/cgroup/pids/cgroup.procs") << ::getpid() << "\n";
  }
  // The course tree: four levels above build/default/tests/00-warmup/submission.
  char exe[4096] = {};
  const auto n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string root = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "";
  for (int up = 0; up < 5 && !root.empty(); ++up) root = root.substr(0, root.rfind('/'));
  for (const std::string& path : {root + "/hostile-marker", std::string("/root/hostile-marker")}) {
    std::ofstream out(path);
    if (out << "x" << std::flush) escaped("wrote " + path);
  }
  return true;
}();

}  // namespace
