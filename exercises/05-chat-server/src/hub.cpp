// The state every connection shares (nicknames and rooms) and each client's outbound queue.
// Read ../README.md first (levels 2 to 4).
#include <stdexcept>
#include <utility>

#include "server_internal.hpp"

namespace chat::detail {

namespace {
[[noreturn]] void not_implemented(const char* what) {
  throw std::logic_error(std::string(what) +
                         " is not implemented yet (levels 2-4 of 05-chat-server)");
}
}  // namespace

void Counters::queued(std::size_t /*lines*/, std::size_t /*bytes*/) {
  not_implemented("Counters::queued");
}
void Counters::handled_on_this_thread() { not_implemented("Counters::handled_on_this_thread"); }

Client::Client(std::string host, QueueLimits limits, Counters& counters, std::function<void()> wake)
    : host_(std::move(host)), limits_(limits), counters_(counters), wake_(std::move(wake)) {}

// Level 4: the caps and the slow-consumer policy, then flow control (the statement's level 4).
bool Client::send(const SharedLine& /*line*/) { not_implemented("Client::send"); }
void Client::answer(const SharedLine& /*line*/) { not_implemented("Client::answer"); }
void Client::close(std::string_view /*error_line*/) { not_implemented("Client::close"); }
void Client::disconnect_slow() { not_implemented("Client::disconnect_slow"); }
void Client::take(std::vector<SharedLine>& /*lines*/) { not_implemented("Client::take"); }
bool Client::closing() const { not_implemented("Client::closing"); }
bool Client::slow() const { not_implemented("Client::slow"); }
bool Client::finished() const { not_implemented("Client::finished"); }
bool Client::over_mark() const { not_implemented("Client::over_mark"); }
std::size_t Client::takes() const { not_implemented("Client::takes"); }
void Client::when_drained(std::function<void()> /*resume*/) {
  not_implemented("Client::when_drained");
}
std::shared_ptr<Client> Client::blocker() { not_implemented("Client::blocker"); }
void Client::blocked_by(const std::shared_ptr<Client>& /*member*/) {
  not_implemented("Client::blocked_by");
}
std::vector<std::function<void()>> Client::drain_locked() {
  not_implemented("Client::drain_locked");
}

// Level 4: a line is at most 512 bytes with its CRLF (cut the text, not a UTF-8 character).
SharedLine make_line(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 2);
  line.append(text).append("\r\n");
  return std::make_shared<const std::string>(std::move(line));
}

bool Client::over_mark_locked() const {
  return queue_.size() > limits_.max_lines / 2 || queued_bytes_ > limits_.max_bytes / 2;
}

// Appends one line and counts its bytes; true when the queue went over its mark with it. Called
// with mutex_ held.
bool Client::push_locked(SharedLine line) {
  const bool was_over = over_mark_locked();
  queued_bytes_ += line->size();
  queue_.push_back(std::move(line));
  return !was_over && over_mark_locked();
}

// Calls the callbacks handed back by drain_locked, once mutex_ is released.
void Client::run(const std::vector<std::function<void()>>& callbacks) {
  for (const auto& callback : callbacks) callback();
}

Hub::Hub(const Config& config, Counters& counters)
    : server_name_(config.server_name), log_(config.log), counters_(counters) {}

std::string Hub::reply(const Client& /*client*/, std::string_view /*numeric*/,
                       std::string_view /*rest*/) const {
  not_implemented("Hub::reply");
}
void Hub::connected(const std::shared_ptr<Client>& /*client*/, std::string_view /*peer*/) {
  not_implemented("Hub::connected");
}
// Level 2: find and take the nickname in one step, under the lock.
void Hub::nick(const std::shared_ptr<Client>& /*client*/, std::string_view /*nick*/) {
  not_implemented("Hub::nick");
}
void Hub::register_user(const std::shared_ptr<Client>& /*client*/, std::string_view /*user*/,
                        std::string_view /*realname*/) {
  not_implemented("Hub::register_user");
}
// Level 3: rooms and messages.
void Hub::join(const std::shared_ptr<Client>& /*client*/, std::string_view /*room*/) {
  not_implemented("Hub::join");
}
void Hub::part(const std::shared_ptr<Client>& /*client*/, std::string_view /*room*/,
               std::string_view /*reason*/) {
  not_implemented("Hub::part");
}
void Hub::message(const std::shared_ptr<Client>& /*client*/, std::string_view /*command*/,
                  std::string_view /*target*/, std::string_view /*text*/) {
  not_implemented("Hub::message");
}
void Hub::topic(const std::shared_ptr<Client>& /*client*/, std::string_view /*room*/,
                const std::string* /*new_topic*/) {
  not_implemented("Hub::topic");
}
void Hub::names(const std::shared_ptr<Client>& /*client*/, std::string_view /*room*/) {
  not_implemented("Hub::names");
}
void Hub::who(const std::shared_ptr<Client>& /*client*/, std::string_view /*mask*/) {
  not_implemented("Hub::who");
}
void Hub::mode(const std::shared_ptr<Client>& /*client*/, std::string_view /*target*/,
               bool /*ban_list*/) {
  not_implemented("Hub::mode");
}
void Hub::quit(const std::shared_ptr<Client>& /*client*/, std::string_view /*reason*/) {
  not_implemented("Hub::quit");
}
void Hub::close_all(std::string_view /*error_line*/) { not_implemented("Hub::close_all"); }
bool Hub::wait_until_empty(Clock::time_point /*deadline*/) {
  not_implemented("Hub::wait_until_empty");
}
void Hub::fill(Stats& /*stats*/) const { not_implemented("Hub::fill"); }
void Hub::log(const std::string& /*line*/) const { not_implemented("Hub::log"); }
void Hub::deliver_locked(Client& /*from*/, const std::shared_ptr<Client>& /*to*/,
                         const SharedLine& /*line*/) {
  not_implemented("Hub::deliver_locked");
}
void Hub::broadcast_locked(Client& /*from*/, const Room& /*room*/, const std::string& /*text*/,
                           bool /*echo*/) {
  not_implemented("Hub::broadcast_locked");
}
void Hub::names_locked(Client& /*client*/, const Room& /*room*/) {
  not_implemented("Hub::names_locked");
}
std::vector<std::shared_ptr<Client>> Hub::peers_locked(const Client& /*client*/) const {
  not_implemented("Hub::peers_locked");
}
void Hub::leave_locked(const std::shared_ptr<Client>& /*client*/, const std::string& /*key*/) {
  not_implemented("Hub::leave_locked");
}

}  // namespace chat::detail
