// Loopback networking helpers. Tests never contact any address other than 127.0.0.1.
#pragma once

#include <cstddef>
#include <cstdint>

namespace course {

inline constexpr const char* kLoopback = "127.0.0.1";

// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks one for a socket bound to
// port 0, which is then closed. Another process may take the port before the caller binds it,
// so prefer servers that bind port 0 themselves and report their port (as HttpTestServer does).
std::uint16_t free_port();

// Raises this process's soft limit on open files (RLIMIT_NOFILE) to at least `needed`, as far as
// the hard limit allows, and returns the soft limit now in force. A test that holds a thousand
// connections open (both their ends, when the server runs in the test's process) calls it first.
std::size_t raise_open_file_limit(std::size_t needed);

}  // namespace course
