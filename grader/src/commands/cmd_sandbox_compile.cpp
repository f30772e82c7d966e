// `course-grader sandbox-compile -- <compiler> <arguments>`: the compiler launcher of student code
// (grader/sandbox-compile) when the grader builds as root. The compiler runs as a sandbox user of
// its own, in a mount namespace where the course tree is read-only but for the object and the
// dependency file it writes, so that no feature of the compiler or the assembler (an .incbin, an
// #include of an absolute path that the source check missed) can read a file only root can read.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "commands/commands.hpp"
#include "course/util.hpp"
#include "running/process.hpp"
#include "running/sandbox.hpp"

namespace grader {

namespace {

// The files the compiler writes: the value of -o and of -MF (Ninja's dependency file).
std::vector<fs::path> outputs_of(const std::vector<std::string>& command) {
  std::vector<fs::path> files;
  for (std::size_t i = 0; i + 1 < command.size(); ++i) {
    if (command[i] == "-o" || command[i] == "-MF") files.push_back(fs::absolute(command[i + 1]));
  }
  return files;
}

// Creates each output empty, owned by `uid`, so that it can be bound writable over the read-only
// tree; gives it back to the grader's user afterwards.
class OwnedOutputs {
 public:
  OwnedOutputs(std::vector<fs::path> files, uid_t uid) : files_(std::move(files)) {
    for (const auto& file : files_) {
      fs::create_directories(file.parent_path());
      write_file(file, "");
      if (::chown(file.c_str(), uid, uid) != 0)
        throw GraderError("cannot hand " + file.string() + " to the sandbox's user");
    }
  }
  ~OwnedOutputs() {
    for (const auto& file : files_) {
      [[maybe_unused]] const int ignored = ::chown(file.c_str(), ::getuid(), ::getgid());
    }
  }
  OwnedOutputs(const OwnedOutputs&) = delete;
  OwnedOutputs& operator=(const OwnedOutputs&) = delete;
  [[nodiscard]] const std::vector<fs::path>& files() const { return files_; }

 private:
  std::vector<fs::path> files_;
};

[[noreturn]] void run_unsandboxed(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv.front(), argv.data());
  std::cerr << "sandbox-compile: cannot run " << command.front() << ": " << std::strerror(errno)
            << "\n";
  std::_Exit(127);
}

}  // namespace

int cmd_sandbox_compile(const fs::path& root, const std::vector<std::string>& command) {
  if (command.empty()) throw GraderError("sandbox-compile: no compiler command");
  const auto& support = sandbox_support();
  if (!support.separate_users || !support.mount_namespaces) run_unsandboxed(command);

  SandboxRequest request;
  request.root = root;
  request.cgroup.max_memory_bytes = 6ULL << 30;  // an Asio and Beast file under ASan needs ~2 GiB
  request.syscalls = SyscallPolicy{.fork = true, .exec = true};
  request.writable = outputs_of(command);
  std::optional<RunSandbox> sandbox;
  try {
    sandbox.emplace(request);
  } catch (const SandboxRefused& refused) {
    throw GraderError(std::string("sandbox-compile: ") + refused.what());
  }
  const OwnedOutputs outputs(request.writable, *sandbox->uid());

  ProcessSpec spec;
  spec.argv = command;
  spec.cwd = fs::current_path();
  spec.env = environment_with({{"HOME", "/tmp"}, {"TMPDIR", "/tmp"}, {"CCACHE_DISABLE", "1"}});
  spec.limits.wall_timeout_s = 900.0;
  spec.limits.output_cap_bytes = 16U << 20;
  spec.limits.max_group_processes = 64;
  spec.isolation = sandbox->isolation();
  const auto result = run_process(spec);
  std::cerr << result.output;
  const bool compiled = result.ending == Ending::exited && result.exit_code == 0;
  if (!compiled) {
    // No empty or half-written object may look newer than its source.
    std::error_code ec;
    for (const auto& file : outputs.files()) fs::remove(file, ec);
  }
  if (result.ending == Ending::exited) return result.exit_code;
  std::cerr << "sandbox-compile: the compiler did not finish ("
            << (result.ending == Ending::spawn_failed ? result.error
                : result.ending == Ending::signaled   ? describe_signal(result.signal)
                                                      : std::string("a limit was hit"))
            << ")\n";
  return 1;
}

}  // namespace grader
