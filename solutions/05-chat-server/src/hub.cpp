// The state every connection shares (nicknames and rooms) and each client's outbound queue.
// Plain C++ with one mutex: see Hub in server_internal.hpp for why broadcasts hold it.
#include <algorithm>
#include <utility>

#include "server_internal.hpp"

namespace chat::detail {

namespace {

template <class T>
void raise_to(std::atomic<T>& peak, T value) {
  T seen = peak.load();
  while (seen < value && !peak.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

// ---- Counters ----

void Counters::queued(std::size_t lines, std::size_t bytes) {
  raise_to(peak_queued_lines, lines);
  raise_to(peak_queued_bytes, bytes);
}

void Counters::handled_on_this_thread() {
  const auto id = std::this_thread::get_id();
  const std::scoped_lock lock(threads_mutex);
  if (std::find(loop_threads.begin(), loop_threads.end(), id) == loop_threads.end()) {
    loop_threads.push_back(id);
  }
}

// ---- Client: the outbound queue ----

Client::Client(std::string host, QueueLimits limits, Counters& counters, std::function<void()> wake)
    : host_(std::move(host)), limits_(limits), counters_(counters), wake_(std::move(wake)) {}

SharedLine make_line(std::string_view text) {
  constexpr std::size_t kMaxText = kMaxLine - 2;  // room for the CRLF
  if (text.size() > kMaxText) {
    std::size_t cut = kMaxText;
    // Back up to the first byte of a UTF-8 character: a continuation byte is 10xxxxxx.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
    text = text.substr(0, cut);
  }
  std::string line;
  line.reserve(text.size() + 2);
  line.append(text).append("\r\n");
  return std::make_shared<const std::string>(std::move(line));
}

bool Client::over_mark_locked() const {
  return queue_.size() > limits_.max_lines / 2 || queued_bytes_ > limits_.max_bytes / 2;
}

bool Client::push_locked(SharedLine line) {
  const bool was_over = over_mark_locked();
  queued_bytes_ += line->size();
  queue_.push_back(std::move(line));
  counters_.queued(queue_.size(), queued_bytes_);
  return !was_over && over_mark_locked();
}

std::vector<std::function<void()>> Client::drain_locked() {
  queue_.clear();
  queued_bytes_ = 0;
  lines_from_others_ = 0;
  bytes_from_others_ = 0;
  return std::exchange(on_drained_, {});
}

void Client::run(const std::vector<std::function<void()>>& callbacks) {
  for (const auto& callback : callbacks) callback();
}

bool Client::send(const SharedLine& line) {
  std::vector<std::function<void()>> held_back;
  bool wake = false;
  bool over = false;
  {
    const std::scoped_lock lock(mutex_);
    if (closing_) return false;
    const auto size = line->size();
    if (lines_from_others_ + 1 > limits_.max_lines ||
        bytes_from_others_ + size > limits_.max_bytes) {
      // The slow-consumer policy: the client is not keeping up. Holding more lines for it would
      // grow the server's memory without bound, so its queue is dropped and it is disconnected.
      held_back = drain_locked();
      push_locked(make_line("ERROR :Closing link: slow consumer"));
      closing_ = true;
      slow_ = true;
      ++counters_.slow_consumers;
      wake = true;  // always wake the writer: it must start closing
    } else {
      ++lines_from_others_;
      bytes_from_others_ += size;
      const bool was_empty = queue_.empty();
      // Wake the writer for the first line (the later ones find it awake), and when the queue
      // goes over its mark (the session starts its slow-consumer timer).
      wake = push_locked(line) || was_empty;
      over = over_mark_locked();
    }
  }
  run(held_back);
  if (wake) wake_();
  return over;
}

void Client::answer(const SharedLine& line) {
  bool wake = false;
  {
    const std::scoped_lock lock(mutex_);
    if (closing_) return;
    const bool was_empty = queue_.empty();
    wake = push_locked(line) || was_empty;
  }
  if (wake) wake_();
}

void Client::close(std::string_view error_line) {
  std::vector<std::function<void()>> held_back;
  {
    const std::scoped_lock lock(mutex_);
    if (closing_) return;
    push_locked(make_line(error_line));
    closing_ = true;
    held_back = std::exchange(on_drained_, {});  // nobody waits for a client that is leaving
  }
  run(held_back);
  wake_();
}

void Client::disconnect_slow() {
  std::vector<std::function<void()>> held_back;
  {
    const std::scoped_lock lock(mutex_);
    if (closing_) return;
    held_back = drain_locked();
    push_locked(make_line("ERROR :Closing link: slow consumer"));
    closing_ = true;
    slow_ = true;
    ++counters_.slow_consumers;
  }
  run(held_back);
  wake_();
}

void Client::take(std::vector<SharedLine>& lines) {
  lines.clear();
  std::vector<std::function<void()>> held_back;
  {
    const std::scoped_lock lock(mutex_);
    if (queue_.empty()) {
      queue_.shrink_to_fit();  // the writer is going to wait: an idle client holds no batch
      return;
    }
    ++takes_;
    std::swap(lines, queue_);
    held_back = drain_locked();
  }
  run(held_back);
}

bool Client::closing() const {
  const std::scoped_lock lock(mutex_);
  return closing_;
}

bool Client::slow() const {
  const std::scoped_lock lock(mutex_);
  return slow_;
}

bool Client::finished() const {
  const std::scoped_lock lock(mutex_);
  return closing_ && queue_.empty();
}

bool Client::over_mark() const {
  const std::scoped_lock lock(mutex_);
  return over_mark_locked();
}

std::size_t Client::takes() const {
  const std::scoped_lock lock(mutex_);
  return takes_;
}

void Client::when_drained(std::function<void()> resume) {
  {
    const std::scoped_lock lock(mutex_);
    if (!closing_ && over_mark_locked()) {
      on_drained_.push_back(std::move(resume));
      return;
    }
  }
  resume();
}

std::shared_ptr<Client> Client::blocker() {
  if (over_mark()) return shared_from_this();
  while (!blockers_.empty()) {
    auto member = blockers_.back().lock();
    if (member && !member->closing() && member->over_mark()) return member;
    blockers_.pop_back();  // drained, or gone
  }
  return nullptr;
}

void Client::blocked_by(const std::shared_ptr<Client>& member) {
  blockers_.push_back(member);  // a repeat is harmless: blocker() forgets it once drained
}

// ---- Hub ----

Hub::Hub(const Config& config, Counters& counters)
    : server_name_(config.server_name), log_(config.log), counters_(counters) {}

void Hub::log(const std::string& line) const {
  if (log_) log_(line);
}

std::string Hub::reply(const Client& client, std::string_view numeric,
                       std::string_view rest) const {
  // Before a nickname is accepted the target is '*'. The nick is read without the lock: only
  // the client's own connection calls reply(), and only that connection changes its nick.
  const std::string target = client.nick.empty() ? "*" : client.nick;
  std::string line = ":" + server_name_ + " ";
  line.append(numeric).append(" ").append(target).append(" ").append(rest);
  return line;
}

void Hub::connected(const std::shared_ptr<Client>& client, std::string_view peer) {
  const std::scoped_lock lock(mutex_);
  clients_.insert(client);
  peak_connections_ = std::max(peak_connections_, clients_.size());
  log("connect " + std::string(peer));
}

void Hub::nick(const std::shared_ptr<Client>& client, std::string_view nick) {
  const std::scoped_lock lock(mutex_);
  const auto key = fold(nick);
  const auto [it, inserted] = nicks_.try_emplace(key, client);
  if (!inserted && it->second != client) {
    // Looked up and taken under one lock: two clients racing for a nickname cannot both win.
    client->answer(reply(*client, numeric::ERR_NICKNAMEINUSE,
                         std::string(nick) + " :Nickname is already in use"));
    return;
  }
  const std::string old_prefix = client->prefix();
  if (!client->nick.empty() && fold(client->nick) != key) nicks_.erase(fold(client->nick));
  const bool announce = client->registered.load();
  const std::string old_nick = std::exchange(client->nick, std::string(nick));
  if (!announce) return;
  const auto line = make_line(":" + old_prefix + " NICK :" + client->nick);
  client->answer(line);
  for (const auto& peer : peers_locked(*client)) deliver_locked(*client, peer, line);
  log("nick " + old_nick + " " + client->nick);
}

void Hub::register_user(const std::shared_ptr<Client>& client, std::string_view user,
                        std::string_view realname) {
  const std::scoped_lock lock(mutex_);
  client->user = user;
  client->realname = realname;
  client->registered = true;
  ++users_;
  const auto& me = *client;
  client->answer(reply(me, numeric::RPL_WELCOME, ":Welcome to the chat, " + me.prefix()));
  client->answer(reply(me, numeric::RPL_YOURHOST,
                       ":Your host is " + server_name_ + ", running chat-course-1.0"));
  client->answer(reply(me, numeric::RPL_CREATED, ":This server was created for the course"));
  client->answer(reply(me, numeric::RPL_MYINFO, server_name_ + " chat-course-1.0 i t"));
  client->answer(reply(me, numeric::RPL_ISUPPORT,
                       "CASEMAPPING=ascii CHANTYPES=# NICKLEN=16 CHANNELLEN=50 PREFIX=() "
                       ":are supported by this server"));
  client->answer(reply(me, numeric::ERR_NOMOTD, ":MOTD File is missing"));
  log("register " + me.nick);
}

void Hub::deliver_locked(Client& from, const std::shared_ptr<Client>& to, const SharedLine& line) {
  if (to.get() == &from) {
    to->answer(line);
  } else if (to->send(line)) {
    from.blocked_by(to);  // flow control: `from` is not read until `to` has drained
  }
}

void Hub::broadcast_locked(Client& from, const Room& room, const std::string& text, bool echo) {
  const auto line = make_line(text);  // one copy, shared by every member's queue
  for (const auto& member : room.members) {
    if (echo || member.get() != &from) deliver_locked(from, member, line);
  }
}

std::vector<std::shared_ptr<Client>> Hub::peers_locked(const Client& client) const {
  std::vector<std::shared_ptr<Client>> peers;
  for (const auto& key : client.rooms) {
    for (const auto& member : rooms_.at(key).members) {
      if (member.get() != &client && std::find(peers.begin(), peers.end(), member) == peers.end()) {
        peers.push_back(member);
      }
    }
  }
  return peers;
}

void Hub::names_locked(Client& client, const Room& room) {
  // One 353 line per batch of names, short enough for any client's 512-byte lines.
  std::string names;
  const auto flush = [&] {
    client.answer(reply(client, numeric::RPL_NAMREPLY, "= " + room.name + " :" + names));
    names.clear();
  };
  for (const auto& member : room.members) {
    if (!names.empty() && names.size() + member->nick.size() > 400) flush();
    if (!names.empty()) names += ' ';
    names += member->nick;
  }
  if (!names.empty()) flush();
  client.answer(reply(client, numeric::RPL_ENDOFNAMES, room.name + " :End of /NAMES list"));
}

void Hub::join(const std::shared_ptr<Client>& client, std::string_view name) {
  const std::scoped_lock lock(mutex_);
  const auto key = fold(name);
  if (client->rooms.contains(key)) return;  // already a member: nothing happens
  auto [it, created] = rooms_.try_emplace(key);
  Room& room = it->second;
  if (created) room.name = name;
  room.members.push_back(client);
  client->rooms.insert(key);
  broadcast_locked(*client, room, ":" + client->prefix() + " JOIN " + room.name, true);
  if (!room.topic.empty())
    client->answer(reply(*client, numeric::RPL_TOPIC, room.name + " :" + room.topic));
  names_locked(*client, room);
  log("join " + client->nick + " " + room.name);
}

void Hub::leave_locked(const std::shared_ptr<Client>& client, const std::string& key) {
  auto& members = rooms_.at(key).members;
  members.erase(std::remove(members.begin(), members.end(), client), members.end());
  client->rooms.erase(key);
  if (members.empty()) rooms_.erase(key);  // the last member left: the room goes
}

void Hub::part(const std::shared_ptr<Client>& client, std::string_view name,
               std::string_view reason) {
  const std::scoped_lock lock(mutex_);
  const auto key = fold(name);
  const auto it = rooms_.find(key);
  if (it == rooms_.end()) {
    client->answer(
        reply(*client, numeric::ERR_NOSUCHCHANNEL, std::string(name) + " :No such channel"));
    return;
  }
  if (!client->rooms.contains(key)) {
    client->answer(reply(*client, numeric::ERR_NOTONCHANNEL,
                         it->second.name + " :You're not on that channel"));
    return;
  }
  std::string line = ":" + client->prefix() + " PART " + it->second.name;
  if (!reason.empty()) line.append(" :").append(reason);
  broadcast_locked(*client, it->second, line, true);  // the one leaving gets its echo too
  log("part " + client->nick + " " + it->second.name);
  leave_locked(client, key);
}

void Hub::message(const std::shared_ptr<Client>& client, std::string_view command,
                  std::string_view target, std::string_view text) {
  const std::scoped_lock lock(mutex_);
  const bool notice = command == "NOTICE";
  const auto fail = [&](std::string_view numeric, const std::string& rest) {
    if (!notice) client->answer(reply(*client, numeric, rest));
  };
  const std::string line = ":" + client->prefix() + " " + std::string(command) + " " +
                           std::string(target) + " :" + std::string(text);
  const auto key = fold(target);
  if (target.starts_with('#')) {
    const auto it = rooms_.find(key);
    if (it == rooms_.end())
      return fail(numeric::ERR_NOSUCHCHANNEL, std::string(target) + " :No such channel");
    if (!client->rooms.contains(key)) {
      return fail(numeric::ERR_CANNOTSENDTOCHAN, it->second.name + " :Cannot send to channel");
    }
    broadcast_locked(*client, it->second, line, false);
    return;
  }
  const auto it = nicks_.find(key);
  if (it == nicks_.end() || !it->second->registered) {
    return fail(numeric::ERR_NOSUCHNICK, std::string(target) + " :No such nick/channel");
  }
  deliver_locked(*client, it->second, make_line(line));
}

void Hub::topic(const std::shared_ptr<Client>& client, std::string_view name,
                const std::string* new_topic) {
  const std::scoped_lock lock(mutex_);
  const auto key = fold(name);
  const auto it = rooms_.find(key);
  if (it == rooms_.end()) {
    client->answer(
        reply(*client, numeric::ERR_NOSUCHCHANNEL, std::string(name) + " :No such channel"));
    return;
  }
  Room& room = it->second;
  if (!client->rooms.contains(key)) {
    client->answer(
        reply(*client, numeric::ERR_NOTONCHANNEL, room.name + " :You're not on that channel"));
    return;
  }
  if (new_topic == nullptr) {
    client->answer(room.topic.empty()
                       ? reply(*client, numeric::RPL_NOTOPIC, room.name + " :No topic is set")
                       : reply(*client, numeric::RPL_TOPIC, room.name + " :" + room.topic));
    return;
  }
  room.topic = *new_topic;
  broadcast_locked(*client, room,
                   ":" + client->prefix() + " TOPIC " + room.name + " :" + room.topic, true);
}

void Hub::names(const std::shared_ptr<Client>& client, std::string_view name) {
  const std::scoped_lock lock(mutex_);
  const auto it = rooms_.find(fold(name));
  if (it == rooms_.end()) {
    client->answer(
        reply(*client, numeric::RPL_ENDOFNAMES, std::string(name) + " :End of /NAMES list"));
    return;
  }
  names_locked(*client, it->second);
}

void Hub::who(const std::shared_ptr<Client>& client, std::string_view mask) {
  const std::scoped_lock lock(mutex_);
  const auto who_line = [&](const Client& user, std::string_view room) {
    client->answer(reply(*client, numeric::RPL_WHOREPLY,
                         std::string(room) + " " + user.user + " " + user.host() + " " +
                             server_name_ + " " + user.nick + " H :0 " + user.realname));
  };
  const auto key = fold(mask);
  if (const auto room = rooms_.find(key); room != rooms_.end()) {
    for (const auto& member : room->second.members) who_line(*member, room->second.name);
  } else if (const auto user = nicks_.find(key); user != nicks_.end() && user->second->registered) {
    who_line(*user->second, "*");
  }
  client->answer(reply(*client, numeric::RPL_ENDOFWHO, std::string(mask) + " :End of WHO list"));
}

void Hub::mode(const std::shared_ptr<Client>& client, std::string_view target, bool ban_list) {
  const std::scoped_lock lock(mutex_);
  const auto key = fold(target);
  if (!target.starts_with('#')) {
    if (key == fold(client->nick)) {
      client->answer(reply(*client, numeric::RPL_UMODEIS, "+"));
    } else {
      client->answer(
          reply(*client, numeric::ERR_USERSDONTMATCH, ":Cannot change mode for other users"));
    }
    return;
  }
  const auto it = rooms_.find(key);
  if (it == rooms_.end()) {
    client->answer(
        reply(*client, numeric::ERR_NOSUCHCHANNEL, std::string(target) + " :No such channel"));
  } else if (ban_list) {
    client->answer(
        reply(*client, numeric::RPL_ENDOFBANLIST, it->second.name + " :End of Channel Ban List"));
  } else {
    client->answer(reply(*client, numeric::RPL_CHANNELMODEIS, it->second.name + " +"));
  }
}

void Hub::quit(const std::shared_ptr<Client>& client, std::string_view reason) {
  const std::scoped_lock lock(mutex_);
  if (clients_.erase(client) == 0) return;  // quit already
  if (client->registered) {
    // Each peer once, however many rooms it shares with the one who quits.
    const auto line = make_line(":" + client->prefix() + " QUIT :" + std::string(reason));
    for (const auto& peer : peers_locked(*client)) deliver_locked(*client, peer, line);
    --users_;
  }
  for (const auto& key : std::set<std::string>(client->rooms)) leave_locked(client, key);
  if (!client->nick.empty()) nicks_.erase(fold(client->nick));
  log("quit " + (client->nick.empty() ? client->host() : client->nick) + ": " +
      std::string(reason));
  if (clients_.empty()) empty_.notify_all();
}

void Hub::close_all(std::string_view error_line) {
  const std::scoped_lock lock(mutex_);
  for (const auto& client : clients_) client->close(error_line);
}

bool Hub::wait_until_empty(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return empty_.wait_until(lock, deadline, [this] { return clients_.empty(); });
}

void Hub::fill(Stats& stats) const {
  const std::scoped_lock lock(mutex_);
  stats.connections = clients_.size();
  stats.peak_connections = peak_connections_;
  stats.users = users_;
  stats.rooms = rooms_.size();
}

}  // namespace chat::detail
