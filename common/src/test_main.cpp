// The main() of every exercise's test binary (course::test_main), in place of gtest_main.
//
// Run by hand or by ctest it is gtest_main. Run by the grader, it reports each test over a
// result channel instead of a file the submission could rewrite:
//
//  - The grader starts the binary with two pipes, named in COURSE_GRADER_CHANNEL as
//    "<secret fd>,<report fd>". The first holds a secret made for this run. It is read here
//    from .preinit_array, which runs before any static initialiser of the executable, so before
//    any code of the submission, and the pipe is closed.
//  - Every line written to the report pipe starts with the secret: "start <test>", "failure
//    <text>", "skip <text>", "tamper <text>", "end <test> passed|failed|skipped", "test <name>"
//    (listing) and "done <count>" when RUN_ALL_TESTS returns. The grader accepts a run only when
//    the expected test started, ended and the program reached "done", every line carrying the
//    secret, so exit(0) from a test, a forged JSON file or a line without the secret is a failed
//    test, never a pass.
//  - A success "canary" is reported at the start and at the end of each test. If it does not
//    come back through GoogleTest's reporter to this listener, something replaced that reporter
//    (a ScopedFakeTestPartResultReporter swallowing failures) and the test fails.
//
// Code that shares the test's process could still try to read the secret from memory and write
// the lines itself. The secret is therefore kept where a scan of readable memory does not find
// it: a page of its own, mapped by the kernel wherever it likes and readable only while the
// harness writes a line (PROT_NONE otherwise), wiped and unmapped when the program reaches
// "done". Each line is one raw writev from that page and a buffer with the rest, so the secret
// is never copied into the heap, and no interposed write() sees it. The grader's link
// check refuses the calls and strings that would reach the page (mprotect, /proc/self/mem,
// process_vm_readv), and grader/README.md ("Threat model") says what remains.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t kSecretCapacity = 128;
constexpr std::size_t kPageSize = 4096;

struct Channel {
  char* secret_page = nullptr;  // PROT_NONE except inside SecretView
  std::size_t secret_size = 0;
  int report_fd = -1;
};
constinit Channel g_channel;

// Raw system calls only: this runs before libc's interceptors (ASan, TSan) are set up.
long read_fd(int fd, char* buffer, std::size_t size) { return syscall(SYS_read, fd, buffer, size); }

void protect_secret(int protection) {
  syscall(SYS_mprotect, g_channel.secret_page, kPageSize, protection);
}

// The secret, readable for the lifetime of this object (the caller holds g_write_mutex).
class SecretView {
 public:
  SecretView() { protect_secret(PROT_READ); }
  ~SecretView() { protect_secret(PROT_NONE); }
  SecretView(const SecretView&) = delete;
  SecretView& operator=(const SecretView&) = delete;
  [[nodiscard]] std::string_view text() const {
    return {g_channel.secret_page, g_channel.secret_size};
  }
};

int parse_fd(const char*& text) {
  int value = 0;
  bool any = false;
  while (*text >= '0' && *text <= '9') {
    value = value * 10 + (*text - '0');
    ++text;
    any = true;
  }
  return any ? value : -1;
}

// The dynamic linker calls this before libc has set up environ, so it reads envp itself.
const char* channel_variable(char** envp) {
  static constexpr char kName[] = "COURSE_GRADER_CHANNEL=";
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, kName, sizeof kName - 1) == 0) return *e + sizeof kName - 1;
  }
  return nullptr;
}

void take_channel(int /*argc*/, char** /*argv*/, char** envp) {
  const char* spec = channel_variable(envp);
  if (spec == nullptr) return;
  const int secret_fd = parse_fd(spec);
  if (*spec != ',') return;
  ++spec;
  const int report_fd = parse_fd(spec);
  if (secret_fd < 0 || report_fd < 0) return;
  const long mapped = syscall(SYS_mmap, nullptr, kPageSize, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == -1) return;
  auto* page = reinterpret_cast<char*>(mapped);  // NOLINT(performance-no-int-to-ptr)
  syscall(SYS_madvise, page, kPageSize, MADV_DONTDUMP);
  std::size_t size = 0;
  while (size < kSecretCapacity) {
    const long n = read_fd(secret_fd, page + size, kSecretCapacity - size);
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  syscall(SYS_close, secret_fd);
  g_channel.secret_page = page;
  protect_secret(PROT_NONE);
  // Programs the tests exec do not inherit the channel.
  syscall(SYS_fcntl, report_fd, F_SETFD, FD_CLOEXEC);
  if (size == 0) return;
  g_channel.secret_size = size;
  g_channel.report_fd = report_fd;
}

// Runs before every static initialiser of the executable (and so of the submission).
[[gnu::used,
  gnu::section(".preinit_array")]] void (*const course_take_channel)(int, char**,
                                                                     char**) = &take_channel;

std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

std::mutex g_write_mutex;

// Writes the secret and the rest of the line in one writev: the secret goes from its page to the
// kernel and is never copied into memory the process keeps (the caller holds g_write_mutex).
void write_line(std::string_view rest) {
  const SecretView secret;
  iovec parts[2] = {{const_cast<char*>(secret.text().data()), secret.text().size()},
                    {const_cast<char*>(rest.data()), rest.size()}};
  std::size_t total = parts[0].iov_len + parts[1].iov_len;
  int first = 0;
  while (total > 0 && first < 2) {
    const long n = syscall(SYS_writev, g_channel.report_fd, parts + first, 2 - first);
    if (n <= 0) return;
    auto written = static_cast<std::size_t>(n);
    total -= written;
    while (first < 2 && written >= parts[first].iov_len) written -= parts[first++].iov_len;
    if (first < 2) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + written;
      parts[first].iov_len -= written;
    }
  }
}

void send(std::string_view kind, std::string_view payload) {
  const std::lock_guard lock(g_write_mutex);
  if (g_channel.report_fd < 0) return;
  std::string rest = " ";
  rest += kind;
  rest += ' ';
  rest += escaped(payload);
  rest += '\n';
  write_line(rest);
}

// After "done" nothing more is reported: the secret is wiped and unmapped and the channel closed,
// so code that runs at exit (static destructors, atexit) finds neither.
void close_channel() {
  const std::lock_guard lock(g_write_mutex);
  if (g_channel.report_fd < 0) return;
  protect_secret(PROT_READ | PROT_WRITE);
  std::fill_n(g_channel.secret_page, kPageSize, '\0');
  syscall(SYS_munmap, g_channel.secret_page, kPageSize);
  g_channel.secret_page = nullptr;
  syscall(SYS_close, g_channel.report_fd);
  g_channel.report_fd = -1;
}

std::string full_name(const testing::TestInfo& info) {
  return std::string(info.test_suite_name()) + "." + info.name();
}

constexpr const char* kCanaryFile = "course-harness-canary";

class ChannelReporter : public testing::EmptyTestEventListener {
 public:
  void OnTestStart(const testing::TestInfo& info) override {
    failures_ = 0;
    skipped_ = false;
    canaries_ = 0;
    send("start", full_name(info));
    emit_canary();
  }

  void OnTestPartResult(const testing::TestPartResult& part) override {
    if (part.type() == testing::TestPartResult::kSuccess) {
      if (part.file_name() != nullptr && std::strcmp(part.file_name(), kCanaryFile) == 0)
        ++canaries_;
      return;
    }
    std::string text;
    if (part.file_name() != nullptr) {
      text = std::string(part.file_name()) + ":" + std::to_string(part.line_number()) + "\n";
    }
    text += part.message();
    if (part.type() == testing::TestPartResult::kSkip) {
      skipped_ = true;
      send("skip", text);
    } else {
      ++failures_;
      send("failure", text);
    }
  }

  void OnTestEnd(const testing::TestInfo& info) override {
    emit_canary();
    const bool tampered = canaries_ != 2;
    if (tampered) {
      send("tamper",
           "GoogleTest's failure reporting was replaced while the test ran (something installed "
           "its own TestPartResultReporter), so its result cannot be trusted");
    }
    const char* status = "passed";
    if (tampered || failures_ > 0 || info.result()->Failed()) {
      status = "failed";
    } else if (skipped_ || info.result()->Skipped()) {
      status = "skipped";
    }
    send("end", full_name(info) + " " + status);
  }

 private:
  // A success result that a genuine reporter hands to every listener.
  static void emit_canary() {
    GTEST_MESSAGE_AT_(kCanaryFile, 1, "course harness canary", ::testing::TestPartResult::kSuccess);
  }

  std::atomic<int> failures_{0};
  std::atomic<bool> skipped_{false};
  std::atomic<int> canaries_{0};
};

void send_test_list() {
  const auto& unit = *testing::UnitTest::GetInstance();
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const auto& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t)
      send("test", full_name(*suite.GetTestInfo(t)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (g_channel.report_fd >= 0) {
    testing::UnitTest::GetInstance()->listeners().Append(new ChannelReporter);
  }
  const int result = RUN_ALL_TESTS();
  if (GTEST_FLAG_GET(list_tests)) send_test_list();
  send("done", std::to_string(testing::UnitTest::GetInstance()->test_to_run_count()));
  close_channel();
  return result;
}
