// attack: fork() and kill() by name, compiled in the sanitizer builds only
// base: reference
// builds: sanitizers
// expect-link: 19
// expect-runtime: 25
#include <signal.h>
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

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
const bool forked = [] {
  const pid_t child = ::fork();
  if (child == 0) {
    ::sleep(30);  // a daemon that outlives the test
    ::_exit(0);
  }
  if (child > 0) escaped("forked " + std::to_string(child));
  if (::kill(::getppid(), SIGSTOP) == 0 && ::getppid() != 1) escaped("stopped the grader");
  return true;
}();
#endif

}  // namespace
