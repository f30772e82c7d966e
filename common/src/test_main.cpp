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
// Code that shares the test's process could still read the secret from memory and write the
// lines itself; the grader's link check refuses the symbols that make that easy, and
// grader/README.md ("Threat model") says what remains.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

namespace {

struct Channel {
  char secret[129] = {};
  std::size_t secret_size = 0;
  int report_fd = -1;
};
constinit Channel g_channel;

// Raw system calls only: this runs before libc's interceptors (ASan, TSan) are set up.
long read_fd(int fd, char* buffer, std::size_t size) { return syscall(SYS_read, fd, buffer, size); }

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
  std::size_t size = 0;
  while (size < sizeof g_channel.secret - 1) {
    const long n = read_fd(secret_fd, g_channel.secret + size, sizeof g_channel.secret - 1 - size);
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  syscall(SYS_close, secret_fd);
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

void send(std::string_view kind, std::string_view payload) {
  if (g_channel.report_fd < 0) return;
  std::string line(g_channel.secret, g_channel.secret_size);
  line += ' ';
  line += kind;
  line += ' ';
  line += escaped(payload);
  line += '\n';
  const std::lock_guard lock(g_write_mutex);
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(g_channel.report_fd, line.data() + written, line.size() - written);
    if (n <= 0) return;
    written += static_cast<std::size_t>(n);
  }
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
  return result;
}
