// Loopback networking helpers. Tests never contact any address other than 127.0.0.1.
#pragma once

#include <cstdint>

namespace course {

inline constexpr const char* kLoopback = "127.0.0.1";

// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks one for a socket bound to
// port 0, which is then closed. Another process may take the port before the caller binds it,
// so prefer servers that bind port 0 themselves and report their port (as HttpTestServer does).
std::uint16_t free_port();

}  // namespace course
