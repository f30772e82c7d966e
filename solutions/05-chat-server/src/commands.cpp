// What one line from a client does. Registration is this connection's own business; everything
// other connections can see (nicknames, rooms, messages) goes through the Hub.
#include <algorithm>
#include <utility>

#include "server_internal.hpp"

namespace chat::detail {

namespace {

// "a,b,c" -> {"a", "b", "c"} (JOIN and PART take lists of rooms).
std::vector<std::string_view> split_list(std::string_view list) {
  std::vector<std::string_view> items;
  while (!list.empty()) {
    const auto comma = std::min(list.find(','), list.size());
    if (comma > 0) items.push_back(list.substr(0, comma));
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
  return items;
}

}  // namespace

CommandHandler::CommandHandler(Hub& hub, std::shared_ptr<Client> client)
    : hub_(hub), client_(std::move(client)) {}

void CommandHandler::send_reply(std::string_view numeric, std::string_view rest) {
  client_->answer(hub_.reply(*client_, numeric, rest));
}

bool CommandHandler::enough_params(const Message& message, std::size_t needed) {
  if (message.params.size() >= needed) return true;
  send_reply("461", message.command + " :Not enough parameters");
  return false;
}

void CommandHandler::handle(std::string_view line) {
  const auto message = parse_message(line);
  if (!message) return;  // an empty line is not an error
  const auto& command = message->command;
  if (command == "PING") {
    if (message->params.empty()) return send_reply("409", ":No origin specified");
    return client_->answer(":" + hub_.server_name() + " PONG " + hub_.server_name() + " :" +
                           message->params.front());
  }
  if (command == "PONG") return;
  if (command == "QUIT") {
    const std::string reason = message->params.empty() ? "Client Quit" : message->params.front();
    hub_.quit(client_, reason);
    client_->close("ERROR :Closing link: " + client_->host() + " (Quit: " + reason + ")");
    return;
  }
  if (command == "CAP") {
    // No capabilities: answer LS and LIST with an empty list so that a client that asked goes
    // on with its registration; refuse any request.
    const auto sub = message->params.empty() ? std::string() : fold(message->params.front());
    const std::string head =
        ":" + hub_.server_name() + " CAP " + (client_->nick.empty() ? "*" : client_->nick);
    if (sub == "ls" || sub == "list") {
      client_->answer(head + " " + (sub == "ls" ? "LS" : "LIST") + " :");
    } else if (sub == "req") {
      client_->answer(head + " NAK :" + (message->params.size() > 1 ? message->params[1] : ""));
    } else if (sub != "end") {
      send_reply("410", (message->params.empty() ? std::string("*") : message->params.front()) +
                            " :Invalid CAP command");
    }
    return;
  }
  if (client_->registered) {
    handle_registered(*message);
  } else {
    handle_unregistered(*message);
  }
}

void CommandHandler::handle_unregistered(const Message& message) {
  if (message.command == "NICK") {
    if (message.params.empty() || message.params.front().empty()) {
      return send_reply("431", ":No nickname given");
    }
    const auto& nick = message.params.front();
    if (!valid_nick(nick)) return send_reply("432", nick + " :Erroneous nickname");
    hub_.nick(client_, nick);
    has_nick_ = !client_->nick.empty();
  } else if (message.command == "USER") {
    if (has_user_) return send_reply("462", ":You may not reregister");
    if (!enough_params(message, 4)) return;
    client_->user = message.params[0];
    client_->realname = message.params[3];
    has_user_ = true;
  } else {
    return send_reply("451", ":You have not registered");
  }
  // NICK and USER in either order: registration completes when both have been accepted.
  if (has_nick_ && has_user_) hub_.register_user(client_, client_->user, client_->realname);
}

void CommandHandler::handle_registered(const Message& message) {
  const auto& command = message.command;
  const auto& params = message.params;
  if (command == "NICK") {
    if (params.empty() || params.front().empty()) return send_reply("431", ":No nickname given");
    if (!valid_nick(params.front())) {
      return send_reply("432", params.front() + " :Erroneous nickname");
    }
    hub_.nick(client_, params.front());
  } else if (command == "USER") {
    send_reply("462", ":You may not reregister");
  } else if (command == "JOIN") {
    if (!enough_params(message, 1)) return;
    for (const auto room : split_list(params[0])) {
      if (!valid_room(room)) {
        send_reply("403", std::string(room) + " :No such channel");
      } else {
        hub_.join(client_, room);
      }
    }
  } else if (command == "PART") {
    if (!enough_params(message, 1)) return;
    const std::string reason = params.size() > 1 ? params[1] : "";
    for (const auto room : split_list(params[0])) hub_.part(client_, room, reason);
  } else if (command == "PRIVMSG" || command == "NOTICE") {
    const bool notice = command == "NOTICE";
    if (params.empty() || params[0].empty()) {
      if (!notice) send_reply("411", ":No recipient given (" + command + ")");
      return;
    }
    if (params.size() < 2 || params[1].empty()) {
      if (!notice) send_reply("412", ":No text to send");
      return;
    }
    hub_.message(client_, command, params[0], params[1]);
  } else if (command == "TOPIC") {
    if (!enough_params(message, 1)) return;
    hub_.topic(client_, params[0], params.size() > 1 ? &params[1] : nullptr);
  } else if (command == "NAMES") {
    if (params.empty()) return send_reply("366", "* :End of /NAMES list");
    for (const auto room : split_list(params[0])) hub_.names(client_, room);
  } else if (command == "WHO") {
    hub_.who(client_, params.empty() ? "*" : params[0]);
  } else if (command == "MODE") {
    if (!enough_params(message, 1)) return;
    const bool ban_list = params.size() > 1 && (params[1] == "b" || params[1] == "+b");
    hub_.mode(client_, params[0], ban_list);
  } else {
    send_reply("421", command + " :Unknown command");
  }
}

}  // namespace chat::detail
