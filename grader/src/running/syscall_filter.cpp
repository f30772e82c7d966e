#include "running/syscall_filter.hpp"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "course/util.hpp"

namespace grader {

const std::vector<const char*>& always_denied_syscalls() {
  static const std::vector<const char*> names = {
      // Reading or changing another process, or this one from outside.
      "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
      // Mounts and namespaces: the sandbox made them, the test keeps them.
      "mount", "umount2", "unshare", "setns", "chroot", "pivot_root", "mount_setattr", "move_mount",
      "open_tree", "fsopen", "fsmount", "fspick", "open_by_handle_at",
      // The kernel itself.
      "bpf", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
      "reboot", "swapon", "swapoff", "acct", "quotactl", "settimeofday", "clock_settime",
      "clock_adjtime", "adjtimex", "syslog", "perf_event_open", "userfaultfd", "fanotify_init",
      "lookup_dcookie",
      // Keyrings outlive the process; io_uring performs calls this filter would not see.
      "add_key", "request_key", "keyctl", "io_uring_setup", "io_uring_enter", "io_uring_register"};
  return names;
}

namespace {

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

void check(int rc, const char* what) {
  if (rc < 0) throw GraderError(std::string("seccomp: ") + what + ": " + std::strerror(-rc));
}

void deny(scmp_filter_ctx ctx, const char* name) {
  const int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return;  // not on this architecture
  check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0), name);
}

}  // namespace

std::vector<sock_filter> build_syscall_filter(const SyscallPolicy& policy,
                                              std::uint64_t exec_path_pointer) {
  Context owner(seccomp_init(SCMP_ACT_ALLOW));
  auto* ctx = static_cast<scmp_filter_ctx>(owner.get());
  if (ctx == nullptr) throw GraderError("seccomp: cannot create a filter");
  // The child sets no_new_privs itself, before the filter, as every unprivileged filter needs.
  check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "no_new_privs");
  for (const char* name : always_denied_syscalls()) deny(ctx, name);
  if (!policy.tracer) deny(ctx, "ptrace");
  // clone3 passes its flags in memory, which a filter cannot read: the C library falls back to
  // clone on ENOSYS, and clone's flags are an argument.
  check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");
  if (!policy.fork) {
    deny(ctx, "fork");
    deny(ctx, "vfork");
    // A clone without CLONE_THREAD makes a process. LeakSanitizer's tracer is one, made with
    // CLONE_UNTRACED, which nothing else in a test uses.
    const scmp_datum_t mask = policy.tracer ? (CLONE_THREAD | CLONE_UNTRACED) : CLONE_THREAD;
    // The comparison SCMP_A0 would make, spelled out: the macro is a C compound literal, an
    // extension in C++.
    const scmp_arg_cmp no_thread{.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = 0};
    check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, no_thread), "clone");
  }
  if (!policy.exec) {
    const scmp_arg_cmp other_path{
        .arg = 0, .op = SCMP_CMP_NE, .datum_a = exec_path_pointer, .datum_b = 0};
    check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 1, other_path), "execve");
    deny(ctx, "execveat");
  }

  // seccomp_export_bpf writes the program to a descriptor; a pipe brings it back.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw GraderError("seccomp: pipe2 failed");
  const int rc = seccomp_export_bpf(ctx, fds[1]);
  ::close(fds[1]);
  std::string bytes;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    bytes.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  check(rc, "export");
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0)
    throw GraderError("seccomp: the exported filter has an odd size");
  std::vector<sock_filter> program(bytes.size() / sizeof(sock_filter));
  std::memcpy(program.data(), bytes.data(), bytes.size());
  return program;
}

}  // namespace grader
