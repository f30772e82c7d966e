// The `async_server` command. Read ../README.md first (level 4).
#include <stdexcept>

#include "async_server/server.hpp"

namespace async_server {

// Level 4: parse --port, --threads, --scale (and --seed, --quiet) with CLI11, start a Server, print
// "listening on http://127.0.0.1:<port>", wait for SIGINT or SIGTERM with an asio::signal_set
// created before the server starts, then stop() it and return 0.
int run_command_line(std::span<const std::string_view> /*args*/, std::ostream& /*out*/,
                     std::ostream& /*err*/) {
  throw std::logic_error("run_command_line is not implemented yet (level 4 of 03-async-server)");
}

}  // namespace async_server
