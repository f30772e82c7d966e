// attack: syscall(SYS_fork), syscall(SYS_execve), and system() found in libc's table
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <elf.h>
#include <link.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

using SystemFunction = int (*)(const char*);

// Walks libc's dynamic symbol table, as a student who read the grader would.
int find_system(dl_phdr_info* info, std::size_t /*size*/, void* result) {
  if (std::strstr(info->dlpi_name, "libc.so") == nullptr) return 0;
  const ElfW(Dyn)* dynamic = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  }
  const ElfW(Sym)* symbols = nullptr;
  const char* names = nullptr;
  for (; dynamic != nullptr && dynamic->d_tag != DT_NULL; ++dynamic) {
    if (dynamic->d_tag == DT_SYMTAB)
      symbols = reinterpret_cast<const ElfW(Sym)*>(dynamic->d_un.d_ptr);
    if (dynamic->d_tag == DT_STRTAB) names = reinterpret_cast<const char*>(dynamic->d_un.d_ptr);
  }
  if (symbols == nullptr || names == nullptr) return 0;
  for (int i = 1; i < 4096; ++i) {
    if (std::strcmp(names + symbols[i].st_name, "system") == 0 && symbols[i].st_value != 0) {
      *static_cast<SystemFunction*>(result) =
          reinterpret_cast<SystemFunction>(info->dlpi_addr + symbols[i].st_value);
      return 1;
    }
  }
  return 0;
}

const bool ran = [] {
  const long child = syscall(SYS_fork);
  if (child == 0) {
    const char* argv[] = {"/bin/sh", "-c", "touch /tmp/hostile-exec; sleep 30", nullptr};
    syscall(SYS_execve, "/bin/sh", argv, nullptr);
    syscall(SYS_exit_group, 0);
  }
  if (child > 0) escaped("a raw fork made " + std::to_string(child));
  SystemFunction run = nullptr;
  dl_iterate_phdr(find_system, &run);
  if (run != nullptr && run("touch /tmp/hostile-system; sleep 30 &") == 0)
    escaped("system() ran a shell");
  return true;
}();

}  // namespace
