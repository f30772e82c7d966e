// The isolation plan of one run: what the child process becomes between fork and exec (its
// cgroup, its user, its namespaces and mounts, its system-call filter). The sandbox (sandbox.hpp)
// chooses it from what the machine allows; the child's side of run_process (child.cpp) applies
// it; nothing else decides a layer.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <vector>

namespace grader {

class RunCgroup;

// What the test's process may do beyond ordinary work, for its seccomp filter (see sandbox.hpp).
// Denied always: ptrace, process_vm_readv/writev, mount and the other mount calls, unshare,
// setns, chroot, pivot_root, bpf, kexec, modules, keyrings, pidfd_getfd, perf_event_open,
// userfaultfd, io_uring, and clone3 (answered ENOSYS, so the C library falls back to clone,
// whose flags the filter can read).
struct SyscallPolicy {
  bool fork = false;    // processes of its own (fork, vfork, posix_spawn); threads always
  bool exec = false;    // execve beyond the test binary's own
  bool tracer = false;  // LeakSanitizer's tracer: an untraced clone, and ptrace of its threads
};

// Isolation applied in the child between fork and exec (chosen by RunSandbox, sandbox.hpp).
// Everything here is optional; an empty Isolation runs the child as the grader's own user.
struct Isolation {
  RunCgroup* cgroup = nullptr;  // joined first, watched while it runs, emptied at the end
  std::optional<uid_t> uid;     // run as this user and group (the grader must be root)
  // A new mount namespace in which this directory is /tmp, /var/tmp and /dev/shm.
  std::filesystem::path private_tmp;
  // Mounted read-only in that namespace (the course tree).
  std::vector<std::filesystem::path> read_only;
  // An ancestor of read_only[0] that `uid` cannot search: an empty tmpfs is mounted on it and
  // read_only[0] bound back into it, so the run can reach the course tree and nothing else there.
  // Without root, $HOME is covered the same way.
  std::optional<std::filesystem::path> cover;
  // Without root: the mount namespace sits in a user namespace of its own (mapping the grader's
  // user to itself).
  bool user_namespace = false;
  // With a private /tmp (as root or in a user namespace), the run also gets:
  //  - a PID namespace whose init runs the test, with its own /proc: nothing outside is visible
  //    or can be signalled, and everything in it ends with the test;
  //  - an IPC namespace (System V and POSIX IPC objects die with the run) and a UTS namespace;
  //  - every other mount of the machine read-only (listed at start, not by hand), so the only
  //    places it can write are its own /tmp, /var/tmp and /dev/shm.
  bool read_only_root = true;
  // A system-call filter (seccomp) installed as the last step before the exec; nullopt: none.
  std::optional<SyscallPolicy> syscalls;
  // Address-space randomisation off (what `setarch -R` does), for ThreadSanitizer.
  bool no_aslr = false;
  // Existing files inside the read-only course tree that the run may write (a sandboxed compile's
  // object and dependency file): each is bound onto itself read-write.
  std::vector<std::filesystem::path> writable;
};

}  // namespace grader
