// The seccomp filter of a test's process (see SyscallPolicy in isolation.hpp), built with
// libseccomp in the grader and installed by the child as its last step before exec.
//
// The test binary's own exec must pass the filter, and no later one may unless the policy allows
// it: the filter allows execve only with the exact pathname pointer the child passes, an address
// in the grader's copied heap that the new program never sees (and execveat not at all).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "running/isolation.hpp"

namespace grader {

// The BPF program; throws GraderError when libseccomp cannot build it.
std::vector<sock_filter> build_syscall_filter(const SyscallPolicy& policy,
                                              std::uint64_t exec_path_pointer);

// The names of the system calls every filter denies, for the threat model and the tests.
const std::vector<const char*>& always_denied_syscalls();

}  // namespace grader
