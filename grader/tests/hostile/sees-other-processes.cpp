// attack: lists /proc for the grader and other processes, and reads its init's memory
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {

// Says what it achieved where the selfcheck looks: a trace file, which the grader keeps.
[[maybe_unused]] void escaped(const std::string& what) {
  std::fprintf(stderr, "hostile-escaped: %s\n", what.c_str());
  if (const char* dir = std::getenv("COURSE_TRACE_DIR"))
    std::ofstream(std::string(dir) + "/hostile-escaped.json", std::ios::app)
        << "hostile-escaped: " << what << "\n";
}

const bool looked = [] {
  int processes = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return true;
  while (const dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    ++processes;
    std::ifstream in(std::string("/proc/") + entry->d_name + "/cmdline");
    const std::string command((std::istreambuf_iterator<char>(in)), {});
    // Pid 1 is the namespace's init, a copy of the grader that runs no code of the test.
    if (command.find("course-grader") != std::string::npos && std::string(entry->d_name) != "1")
      escaped(std::string("sees the grader, pid ") + entry->d_name);
  }
  ::closedir(proc);
  // The init's memory is a copy of the grader's, made when it forked: it must not be readable.
  for (const char* file : {"/proc/1/mem", "/proc/1/environ"}) {
    std::ifstream memory(file);
    char byte = 0;
    if (memory && memory.read(&byte, 1)) escaped(std::string("reads ") + file);
  }
  // Its namespace holds its init, itself and its threads' process: a handful.
  if (processes > 4) escaped("sees " + std::to_string(processes) + " processes");
  return true;
}();

}  // namespace
