// The wire format: lines, messages, names. Plain C++: nothing here knows about sockets.
// Read ../README.md first (level 1).
#include <stdexcept>

#include "server_internal.hpp"

namespace chat::detail {

namespace {
[[noreturn]] void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) + " is not implemented yet (level 1 of 05-chat-server)");
}
}  // namespace

// Level 1: keep the bytes of the unfinished line between calls; cut a line at kMaxLine - 2 bytes.
void LineFramer::feed(std::string_view /*bytes*/, std::vector<std::string>& /*lines*/) {
  not_implemented("LineFramer::feed");
}

std::optional<Message> parse_message(std::string_view /*line*/) {
  not_implemented("parse_message");
}

std::string fold(std::string_view /*name*/) { not_implemented("fold"); }

bool valid_nick(std::string_view /*nick*/) { not_implemented("valid_nick"); }

bool valid_room(std::string_view /*room*/) { not_implemented("valid_room"); }

}  // namespace chat::detail
