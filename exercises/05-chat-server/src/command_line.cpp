// The `chat_server` command. Read ../README.md first (level 5).
#include <stdexcept>

#include "chat/server.hpp"

namespace chat {

// Level 5: parse --port, --threads and --quiet with CLI11, start the server, print
// "listening on 127.0.0.1:<port>", wait for SIGINT or SIGTERM (asio::signal_set), stop().
int run_command_line(std::span<const std::string_view> /*args*/, std::ostream& /*out*/,
                     std::ostream& err) {
  err << "chat_server: run_command_line is not implemented yet (level 5 of 05-chat-server)\n";
  return 3;
}

}  // namespace chat
