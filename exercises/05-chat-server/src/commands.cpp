// What one line from a client does. Read ../README.md first (levels 2 and 3).
#include <stdexcept>

#include "server_internal.hpp"

namespace chat::detail {

namespace {
[[noreturn]] void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) + " is not implemented yet (level 2 of 05-chat-server)");
}
}  // namespace

CommandHandler::CommandHandler(Hub& hub, std::shared_ptr<Client> client)
    : hub_(hub), client_(std::move(client)) {}

void CommandHandler::handle(std::string_view /*line*/) {
  not_implemented("CommandHandler::handle");
}
void CommandHandler::handle_unregistered(const Message& /*message*/) {
  not_implemented("CommandHandler::handle_unregistered");
}
void CommandHandler::handle_registered(const Message& /*message*/) {
  not_implemented("CommandHandler::handle_registered");
}
bool CommandHandler::enough_params(const Message& /*message*/, std::size_t /*needed*/) {
  not_implemented("CommandHandler::enough_params");
}
void CommandHandler::send_reply(std::string_view /*numeric*/, std::string_view /*rest*/) {
  not_implemented("CommandHandler::send_reply");
}

}  // namespace chat::detail
