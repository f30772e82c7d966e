// Misbehaving programs for the runner's tests, built into the test binary
// itself: when GRADER_TEST_HELPER is set, the binary runs that helper before
// GoogleTest starts and exits. The tests run /proc/self/exe this way.
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void crash_with_segv() {
  // A sanitizer build of this binary would catch the signal and exit instead.
  std::signal(SIGSEGV, SIG_DFL);
  // Not a null pointer, so that UBSan does not stop first: an unmapped page.
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the point is an address that is not mapped
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

// A fork bomb whose children each leave the process group, as a hostile test would. Bounded at
// 20000 forks so that a broken sandbox still cannot exhaust the machine for long.
[[noreturn]] void fork_bomb_setsid() {
  for (int i = 0; i < 20000; ++i) {
    if (::fork() == 0) ::setsid();
  }
  ::pause();
  ::_exit(0);
}

// Stops, then kills, its parent and every process it may signal. Exits 0 when every attempt
// was refused (EPERM), as it must be for a process of the sandbox's own user.
int signal_the_grader() {
  const pid_t parent = ::getppid();
  const bool stop = ::kill(parent, SIGSTOP) != 0 && errno == EPERM;
  const bool kill = ::kill(parent, SIGKILL) != 0 && errno == EPERM;
  ::kill(-1, SIGKILL);  // kills only what belongs to the same user: this process
  return stop && kill ? 0 : 1;
}

// Bit 0: could write into GRADER_TEST_ARG (the course tree); bit 1: a 4 MiB file in /tmp
// failed; bit 2: 1 GiB fitted in /tmp (no size bound); bit 3: could write $HOME outside /tmp.
int write_everywhere() {
  int result = 0;
  const char* tree = std::getenv("GRADER_TEST_ARG");
  const std::string probe = std::string(tree != nullptr ? tree : "/") + "/sandbox-probe";
  if (FILE* f = std::fopen(probe.c_str(), "w")) {
    std::fclose(f);
    result |= 1;
  }
  std::vector<char> block(1 << 20, 'x');
  auto write_mib = [&](const char* path, int mib) {
    FILE* f = std::fopen(path, "w");
    if (f == nullptr) return 0;
    int written = 0;
    for (; written < mib; ++written) {
      if (std::fwrite(block.data(), 1, block.size(), f) != block.size() || std::fflush(f) != 0)
        break;
    }
    std::fclose(f);
    return written;
  };
  if (write_mib("/tmp/sandbox-small", 4) != 4) result |= 2;
  if (write_mib("/tmp/sandbox-large", 1024) == 1024) result |= 4;
  if (FILE* f = std::fopen("/root/sandbox-probe", "w")) {
    std::fclose(f);
    result |= 8;
  }
  return result;
}

// Touches 1 GiB, 64 MiB at a time.
int hog_memory() {
  for (int i = 0; i < 16; ++i) {
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): kept on purpose, for the limit to count it
    void* block = std::malloc(64U << 20);
    if (block == nullptr) return 3;
    std::memset(block, 1, 64U << 20);
  }
  return 0;
}

// Exit 0 when the file named by GRADER_TEST_ARG can be read.
int read_arg_file() {
  const char* path = std::getenv("GRADER_TEST_ARG");
  FILE* f = path != nullptr ? std::fopen(path, "r") : nullptr;
  if (f == nullptr) return 1;
  std::fclose(f);
  return 0;
}

// Leaves a daemon behind (out of the process group with setsid, sleeping for a minute) and
// exits 0 once the daemon has left the group.
int leave_a_daemon() {
  int left[2];
  if (::pipe(left) != 0) return 3;
  if (::fork() == 0) {
    ::setsid();
    [[maybe_unused]] const auto n = ::write(left[1], "x", 1);
    ::sleep(60);
    ::_exit(0);
  }
  char byte = 0;
  return ::read(left[0], &byte, 1) == 1 ? 0 : 3;
}

// Exit code 0 when the seccomp filter refused both a new process and another program (fork and
// execve fail with EPERM); 1 when one of them started; 2 when the program ran.
int start_programs() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  if (child > 0) {
    ::waitpid(child, nullptr, 0);
    return 1;
  }
  const int fork_error = errno;
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  ::execve("/bin/true", argv, environ);
  const int exec_error = errno;
  return fork_error == EPERM && exec_error == EPERM ? 0 : 2;
}

// The number of processes its /proc shows, as the exit code (at most 100).
int count_processes() {
  int count = 0;
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(proc)) {
      if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9') ++count;
    }
    ::closedir(proc);
  }
  return count > 100 ? 100 : count;
}

// Exit code 0 when a file cannot be made in the directory GRADER_TEST_ARG names, 1 when it can.
int write_arg_dir() {
  const char* dir = std::getenv("GRADER_TEST_ARG");
  if (dir == nullptr) return 3;
  const std::string path = std::string(dir) + "/sandbox-probe";
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return 0;
  std::fclose(f);
  return 1;
}

int run_helper(const char* mode) {
  if (std::strcmp(mode, "start-programs") == 0) return start_programs();
  if (std::strcmp(mode, "count-processes") == 0) return count_processes();
  if (std::strcmp(mode, "write-arg-dir") == 0) return write_arg_dir();
  if (std::strcmp(mode, "segv") == 0) crash_with_segv();
  if (std::strcmp(mode, "fork-many") == 0) fork_many();
  if (std::strcmp(mode, "fork-bomb-setsid") == 0) fork_bomb_setsid();
  if (std::strcmp(mode, "signal-the-grader") == 0) return signal_the_grader();
  if (std::strcmp(mode, "write-everywhere") == 0) return write_everywhere();
  if (std::strcmp(mode, "hog-memory") == 0) return hog_memory();
  if (std::strcmp(mode, "read-arg-file") == 0) return read_arg_file();
  if (std::strcmp(mode, "leave-a-daemon") == 0) return leave_a_daemon();
  std::fprintf(stderr, "unknown GRADER_TEST_HELPER mode '%s'\n", mode);
  return 99;
}

[[maybe_unused]] const bool helper_ran = [] {
  const char* mode = std::getenv("GRADER_TEST_HELPER");
  if (mode != nullptr) ::_exit(run_helper(mode));
  return false;
}();

}  // namespace
