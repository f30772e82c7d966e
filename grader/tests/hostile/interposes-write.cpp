// attack: defines write() over libc's to drop failures and turn failed into passed
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

// The executable's definition wins over libc's for every caller in the process, the harness's
// report included, unless the link check refuses it and the harness writes with raw system calls.
extern "C" ssize_t write(int fd, const void* data, size_t size) {
  std::string line(static_cast<const char*>(data), size);
  if (line.find(" failure ") != std::string::npos) return static_cast<ssize_t>(size);
  if (const auto at = line.find(" failed"); at != std::string::npos) line.replace(at, 7, " passed");
  syscall(SYS_write, fd, line.data(), line.size());
  if (line.find(" done ") != std::string::npos) pthread_exit(nullptr);
  return static_cast<ssize_t>(size);
}
