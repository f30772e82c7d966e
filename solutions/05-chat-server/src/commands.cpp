// What one line from a client does. Registration is this connection's own business; everything
// other connections can see (nicknames, rooms, messages) goes through the Hub.
#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

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

// ---- the commands of a registered client ----

using Replier = std::function<void(std::string_view numeric, std::string_view rest)>;

// What a command works with: the shared state, the client that sent it, and its reply channel.
struct Caller {
  Hub& hub;
  const std::shared_ptr<Client>& client;
  const Replier& reply;
};
using Params = std::vector<std::string>;

void change_nick(const Caller& caller, const Params& params) {
  if (params.empty() || params.front().empty()) {
    return caller.reply(numeric::ERR_NONICKNAMEGIVEN, ":No nickname given");
  }
  if (!valid_nick(params.front())) {
    return caller.reply(numeric::ERR_ERRONEUSNICKNAME, params.front() + " :Erroneous nickname");
  }
  caller.hub.nick(caller.client, params.front());
}

void refuse_user_again(const Caller& caller, const Params& /*params*/) {
  caller.reply(numeric::ERR_ALREADYREGISTRED, ":You may not reregister");
}

void join(const Caller& caller, const Params& params) {
  for (const auto room : split_list(params[0])) {
    if (!valid_room(room)) {
      caller.reply(numeric::ERR_NOSUCHCHANNEL, std::string(room) + " :No such channel");
    } else {
      caller.hub.join(caller.client, room);
    }
  }
}

void part(const Caller& caller, const Params& params) {
  const std::string reason = params.size() > 1 ? params[1] : "";
  for (const auto room : split_list(params[0])) caller.hub.part(caller.client, room, reason);
}

// PRIVMSG and NOTICE: the same delivery, but a NOTICE is never answered with an error (RFC 2812
// 3.3.2), so that two programs cannot answer each other's notices forever.
void send_text(const Caller& caller, const Params& params, std::string_view command) {
  const bool notice = command == "NOTICE";
  if (params.empty() || params[0].empty()) {
    if (!notice) {
      caller.reply(numeric::ERR_NORECIPIENT, ":No recipient given (" + std::string(command) + ")");
    }
    return;
  }
  if (params.size() < 2 || params[1].empty()) {
    if (!notice) caller.reply(numeric::ERR_NOTEXTTOSEND, ":No text to send");
    return;
  }
  caller.hub.message(caller.client, command, params[0], params[1]);
}

void privmsg(const Caller& caller, const Params& params) { send_text(caller, params, "PRIVMSG"); }
void notice(const Caller& caller, const Params& params) { send_text(caller, params, "NOTICE"); }

void topic(const Caller& caller, const Params& params) {
  caller.hub.topic(caller.client, params[0], params.size() > 1 ? &params[1] : nullptr);
}

void names(const Caller& caller, const Params& params) {
  if (params.empty()) return caller.reply(numeric::RPL_ENDOFNAMES, "* :End of /NAMES list");
  for (const auto room : split_list(params[0])) caller.hub.names(caller.client, room);
}

void who(const Caller& caller, const Params& params) {
  caller.hub.who(caller.client, params.empty() ? "*" : params[0]);
}

void mode(const Caller& caller, const Params& params) {
  const bool ban_list = params.size() > 1 && (params[1] == "b" || params[1] == "+b");
  caller.hub.mode(caller.client, params[0], ban_list);
}

struct Command {
  std::string_view name;
  std::size_t min_params;  // fewer: ERR_NEEDMOREPARAMS, and the command does not run
  void (*run)(const Caller&, const Params&);
};

// What a registered client may send. NICK, PRIVMSG and NOTICE check their own parameters: each
// has its own reply for a missing one.
constexpr std::array kRegisteredCommands{
    Command{"NICK", 0, change_nick}, Command{"USER", 0, refuse_user_again},
    Command{"JOIN", 1, join},        Command{"PART", 1, part},
    Command{"PRIVMSG", 0, privmsg},  Command{"NOTICE", 0, notice},
    Command{"TOPIC", 1, topic},      Command{"NAMES", 0, names},
    Command{"WHO", 0, who},          Command{"MODE", 1, mode},
};

}  // namespace

CommandHandler::CommandHandler(Hub& hub, std::shared_ptr<Client> client)
    : hub_(hub), client_(std::move(client)) {}

void CommandHandler::send_reply(std::string_view numeric, std::string_view rest) {
  client_->answer(hub_.reply(*client_, numeric, rest));
}

bool CommandHandler::enough_params(const Message& message, std::size_t needed) {
  if (message.params.size() >= needed) return true;
  send_reply(numeric::ERR_NEEDMOREPARAMS, message.command + " :Not enough parameters");
  return false;
}

void CommandHandler::handle(std::string_view line) {
  const auto message = parse_message(line);
  if (!message) return;  // an empty line is not an error
  const auto& command = message->command;
  if (command == "PING") {
    if (message->params.empty()) return send_reply(numeric::ERR_NOORIGIN, ":No origin specified");
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
      send_reply(numeric::ERR_INVALIDCAPCMD,
                 (message->params.empty() ? std::string("*") : message->params.front()) +
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
      return send_reply(numeric::ERR_NONICKNAMEGIVEN, ":No nickname given");
    }
    const auto& nick = message.params.front();
    if (!valid_nick(nick))
      return send_reply(numeric::ERR_ERRONEUSNICKNAME, nick + " :Erroneous nickname");
    hub_.nick(client_, nick);
    has_nick_ = !client_->nick.empty();
  } else if (message.command == "USER") {
    if (has_user_) return send_reply(numeric::ERR_ALREADYREGISTRED, ":You may not reregister");
    if (!enough_params(message, 4)) return;
    client_->user = message.params[0];
    client_->realname = message.params[3];
    has_user_ = true;
  } else {
    return send_reply(numeric::ERR_NOTREGISTERED, ":You have not registered");
  }
  // NICK and USER in either order: registration completes when both have been accepted.
  if (has_nick_ && has_user_) hub_.register_user(client_, client_->user, client_->realname);
}

void CommandHandler::handle_registered(const Message& message) {
  const auto command = std::find_if(kRegisteredCommands.begin(), kRegisteredCommands.end(),
                                    [&](const Command& c) { return c.name == message.command; });
  if (command == kRegisteredCommands.end()) {
    return send_reply(numeric::ERR_UNKNOWNCOMMAND, message.command + " :Unknown command");
  }
  if (!enough_params(message, command->min_params)) return;
  const Replier reply = [this](std::string_view numeric, std::string_view rest) {
    send_reply(numeric, rest);
  };
  command->run(Caller{hub_, client_, reply}, message.params);
}

}  // namespace chat::detail
