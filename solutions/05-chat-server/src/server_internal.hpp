// What the files of the chat server share. Only session.cpp and server.cpp use Asio; the
// protocol (protocol.cpp), the shared state (hub.cpp) and the commands (commands.cpp) are plain
// C++ that speaks to a connection through Client, so they compile fast and read like the notes'
// asyncio version without the event loop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "chat/server.hpp"

namespace chat::detail {

using Clock = std::chrono::steady_clock;

// ---- protocol.cpp: lines and messages ----

// The longest line the server reads, CRLF included (RFC 1459 and 2812: 512 bytes).
inline constexpr std::size_t kMaxLine = 512;

// Splits a byte stream into lines. A line ends with LF; a CR before it is dropped. A line longer
// than kMaxLine - 2 bytes is cut to its first kMaxLine - 2 bytes and the rest, up to its LF, is
// discarded as it arrives, so a client that never sends LF costs at most kMaxLine bytes. A line
// that holds a NUL or a CR anywhere else is dropped whole: RFC 2812 (2.3.1) forbids both inside a
// message, and a client that gets one may read it as the end of a line and garble the next.
class LineFramer {
 public:
  // Appends the complete lines found in `bytes` (without their line ending) to `lines`.
  void feed(std::string_view bytes, std::vector<std::string>& lines);

 private:
  std::string partial_;
  bool discarding_ = false;  // the current line was cut: skip to its LF
};

// One parsed line: "[:prefix] COMMAND param param :trailing param".
struct Message {
  std::string command;              // upper-cased: "PRIVMSG"
  std::vector<std::string> params;  // the trailing one included, without its ':'
};

// Parses a line; nullopt for a line with no command (empty, spaces only, or a bare prefix).
std::optional<Message> parse_message(std::string_view line);

// The key that identifies a nickname or a room: ASCII lower case ("CASEMAPPING=ascii").
std::string fold(std::string_view name);
// 1-16 characters: a letter or one of []\`_^{|} first, then letters, digits, those and '-'.
bool valid_nick(std::string_view nick);
// '#' then 1-49 characters, none of them a space, a comma, a colon, BEL or a control character.
bool valid_room(std::string_view room);

// The numeric replies the server sends, by their names in RFC 2812 (section 5), so that a reader
// can look each one up (ERR_INVALIDCAPCMD is IRCv3's, RPL_ISUPPORT the modern 005).
namespace numeric {
inline constexpr std::string_view RPL_WELCOME = "001";
inline constexpr std::string_view RPL_YOURHOST = "002";
inline constexpr std::string_view RPL_CREATED = "003";
inline constexpr std::string_view RPL_MYINFO = "004";
inline constexpr std::string_view RPL_ISUPPORT = "005";
inline constexpr std::string_view RPL_UMODEIS = "221";
inline constexpr std::string_view RPL_ENDOFWHO = "315";
inline constexpr std::string_view RPL_CHANNELMODEIS = "324";
inline constexpr std::string_view RPL_NOTOPIC = "331";
inline constexpr std::string_view RPL_TOPIC = "332";
inline constexpr std::string_view RPL_WHOREPLY = "352";
inline constexpr std::string_view RPL_NAMREPLY = "353";
inline constexpr std::string_view RPL_ENDOFNAMES = "366";
inline constexpr std::string_view RPL_ENDOFBANLIST = "368";
inline constexpr std::string_view ERR_NOSUCHNICK = "401";
inline constexpr std::string_view ERR_NOSUCHCHANNEL = "403";
inline constexpr std::string_view ERR_CANNOTSENDTOCHAN = "404";
inline constexpr std::string_view ERR_NOORIGIN = "409";
inline constexpr std::string_view ERR_INVALIDCAPCMD = "410";
inline constexpr std::string_view ERR_NORECIPIENT = "411";
inline constexpr std::string_view ERR_NOTEXTTOSEND = "412";
inline constexpr std::string_view ERR_UNKNOWNCOMMAND = "421";
inline constexpr std::string_view ERR_NOMOTD = "422";
inline constexpr std::string_view ERR_NONICKNAMEGIVEN = "431";
inline constexpr std::string_view ERR_ERRONEUSNICKNAME = "432";
inline constexpr std::string_view ERR_NICKNAMEINUSE = "433";
inline constexpr std::string_view ERR_NOTONCHANNEL = "442";
inline constexpr std::string_view ERR_NOTREGISTERED = "451";
inline constexpr std::string_view ERR_NEEDMOREPARAMS = "461";
inline constexpr std::string_view ERR_ALREADYREGISTRED = "462";
inline constexpr std::string_view ERR_USERSDONTMATCH = "502";
}  // namespace numeric

// ---- hub.cpp: one connection's outbound side, and the state every connection shares ----

// What Stats counts, shared by every client. Thread-safe.
struct Counters {
  void queued(std::size_t lines, std::size_t bytes);  // a queue's new size: raises the peaks
  void handled_on_this_thread();

  std::atomic<std::size_t> slow_consumers{0};
  std::atomic<std::size_t> peak_queued_lines{0};
  std::atomic<std::size_t> peak_queued_bytes{0};
  std::mutex threads_mutex;
  std::vector<std::thread::id> loop_threads;
};

// The limits of one client's outbound queue.
struct QueueLimits {
  std::size_t max_lines = 0;
  std::size_t max_bytes = 0;
};

// A line ready to be written, its CRLF included. It is shared: a broadcast makes one, and every
// member's queue holds the same copy, so a message to a room of 1000 members costs one string,
// not 1000.
using SharedLine = std::shared_ptr<const std::string>;
// `text` and its CRLF, cut to kMaxLine bytes in all (RFC 2812 2.3): a relayed message grows by
// its sender's prefix, and no client has to read a line longer than that. The cut never splits
// a UTF-8 character.
SharedLine make_line(std::string_view text);

// One connection as the shared state sees it: its identity and its outbound queue. The queue is
// thread-safe (any thread may send to any client); `wake` tells the connection's writer that
// lines are waiting, or that the queue went over its mark, and must not block.
//
// Flow control. The queue's mark is half of each cap. A client whose own queue is over the mark
// is not read until its writer has taken the queue: what it asks for (a WHO on a big room, 400
// JOINs in one write) never cuts it. A client whose line took someone else's queue over the mark
// is not read until that queue has drained, or its owner is cut: a sender is slowed down to the
// pace of the members who read, and only a member that does not read is cut.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(std::string host, QueueLimits limits, Counters& counters, std::function<void()> wake);

  // Queues a line from another client (a room's message, a NICK, PART or QUIT of someone else).
  // When the lines from others would pass a cap, this client is a slow consumer: the queue is
  // emptied, replaced by "ERROR :Closing link: slow consumer", and the client closes. Lines sent
  // to a closing client are dropped. Returns true when the queue is over its mark after the line:
  // the sender is then held back until it drains (see Hub::deliver_locked).
  bool send(const SharedLine& line);
  // Queues an answer to this client's own request: a reply, an echo of its own JOIN. Never cut
  // for the caps, since a client whose queue is over the mark is not read: one request's answers
  // are all it can add.
  void answer(const SharedLine& line);
  void answer(std::string_view line) { answer(make_line(line)); }
  // Closes after what is queued: `error_line` is the last line written, then the connection ends.
  // Only the first call counts.
  void close(std::string_view error_line);
  // The slow-consumer policy for a client that does not read (Config::slow_consumer_timeout).
  void disconnect_slow();
  // Moves everything queued, in order, into `lines` (emptied first); the queue is empty after.
  // The writer passes the same vector each time, so that its memory is reused instead of
  // allocated again for every batch.
  void take(std::vector<SharedLine>& lines);
  bool closing() const;
  // Disconnected by the slow-consumer policy.
  bool slow() const;
  // Closing and nothing left to write: the writer can end the connection.
  bool finished() const;

  // ---- flow control ----
  // More than half of either cap is queued.
  bool over_mark() const;
  // How many times the writer has taken lines: the slow-consumer timer compares two readings.
  std::size_t takes() const;
  // Calls `resume` once, when the queue is taken or the client closes; at once when it is not over
  // the mark. From whichever thread does that: it must not block.
  void when_drained(std::function<void()> resume);
  // The queue that holds this client back: its own, or that of a client its lines took over the
  // mark (forgotten once drained); nullptr when it may be read.
  std::shared_ptr<Client> blocker();
  // Used by the Hub, from this client's own connection only: `member` is over its mark because of
  // a line from this client.
  void blocked_by(const std::shared_ptr<Client>& member);

  const std::string& host() const { return host_; }
  std::atomic<bool> registered{false};

  // Identity, read and written only under the Hub's mutex (the nick may change at any time).
  std::string nick;  // "" until a NICK is accepted
  std::string user;
  std::string realname;
  std::set<std::string> rooms;  // folded names of the rooms joined
  std::string prefix() const { return nick + "!" + user + "@" + host_; }

 private:
  // Under mutex_: appends `line`; true when the queue went over the mark with it.
  bool push_locked(SharedLine line);
  bool over_mark_locked() const;
  // Under mutex_: empties the queue and hands back the callbacks of when_drained to call.
  std::vector<std::function<void()>> drain_locked();
  static void run(const std::vector<std::function<void()>>& callbacks);  // not under mutex_

  const std::string host_;
  const QueueLimits limits_;
  Counters& counters_;
  const std::function<void()> wake_;
  mutable std::mutex mutex_;
  std::vector<SharedLine> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t lines_from_others_ = 0;  // what the caps count
  std::size_t bytes_from_others_ = 0;
  std::size_t takes_ = 0;
  std::vector<std::function<void()>> on_drained_;
  bool closing_ = false;
  bool slow_ = false;
  // Only this client's own connection touches it (its reader, and the Hub for its commands).
  std::vector<std::weak_ptr<Client>> blockers_;
};

// The nicknames and the rooms, shared by every connection. Thread-safe: one mutex guards it all,
// and a broadcast queues its lines for every member while holding it, so every member of a room
// sees the room's lines in the same order. Queueing is memory only: no I/O ever happens under the
// lock, so a client that stops reading cannot slow the others down.
class Hub {
 public:
  explicit Hub(const Config& config, Counters& counters);

  const std::string& server_name() const { return server_name_; }
  // A numeric reply: ":server 433 * alice :Nickname is already in use".
  std::string reply(const Client& client, std::string_view numeric, std::string_view rest) const;

  // A new connection from `peer` ("127.0.0.1:40312"), not registered yet.
  void connected(const std::shared_ptr<Client>& client, std::string_view peer);
  // NICK: takes the nickname atomically, or answers 433. After registration the change is echoed
  // to the client and to everyone who shares a room with it.
  void nick(const std::shared_ptr<Client>& client, std::string_view nick);
  // USER after a NICK: registration completes (001-005 and 422).
  void register_user(const std::shared_ptr<Client>& client, std::string_view user,
                     std::string_view realname);
  void join(const std::shared_ptr<Client>& client, std::string_view room);
  void part(const std::shared_ptr<Client>& client, std::string_view room, std::string_view reason);
  // PRIVMSG or NOTICE to a room or a nickname. NOTICE never gets an error reply.
  void message(const std::shared_ptr<Client>& client, std::string_view command,
               std::string_view target, std::string_view text);
  void topic(const std::shared_ptr<Client>& client, std::string_view room,
             const std::string* new_topic);
  void names(const std::shared_ptr<Client>& client, std::string_view room);
  void who(const std::shared_ptr<Client>& client, std::string_view mask);
  void mode(const std::shared_ptr<Client>& client, std::string_view target, bool ban_list);
  // The client leaves: QUIT is relayed once to each user who shares a room with it, its rooms
  // and its nickname are freed. Idempotent: the second call does nothing.
  void quit(const std::shared_ptr<Client>& client, std::string_view reason);
  // Server::stop(): every connected client gets `error_line` and closes.
  void close_all(std::string_view error_line);
  // Waits until no client is connected; false at the deadline.
  bool wait_until_empty(Clock::time_point deadline);

  void fill(Stats& stats) const;

 private:
  struct Room {
    std::string name;  // as first joined: "#Rust"
    std::string topic;
    std::vector<std::shared_ptr<Client>> members;  // in join order
  };
  void log(const std::string& line) const;  // under mutex_: the log is never called twice at once
  // Hands `line`, caused by `from`'s request, to `to`: an answer when `to` is `from`, a send
  // otherwise; a queue it takes over the mark holds `from` back.
  static void deliver_locked(Client& from, const std::shared_ptr<Client>& to,
                             const SharedLine& line);
  // Every member of the room gets the line; the sender too when `echo`.
  void broadcast_locked(Client& from, const Room& room, const std::string& text, bool echo);
  void names_locked(Client& client, const Room& room);
  // Everyone who shares a room with `client`, each once, `client` excluded.
  std::vector<std::shared_ptr<Client>> peers_locked(const Client& client) const;
  void leave_locked(const std::shared_ptr<Client>& client, const std::string& key);

  const std::string server_name_;
  const std::function<void(std::string_view)> log_;
  Counters& counters_;
  mutable std::mutex mutex_;
  std::condition_variable empty_;
  std::set<std::shared_ptr<Client>> clients_;
  std::map<std::string, std::shared_ptr<Client>> nicks_;  // folded nick -> client
  std::map<std::string, Room> rooms_;                     // folded name -> room
  std::size_t users_ = 0;
  std::size_t peak_connections_ = 0;
};

// ---- commands.cpp: what one line from a client does ----

// Handles one line from `client`: registration, rooms, messages, errors. The connection's own
// state before registration lives here; everything shared goes through the Hub.
class CommandHandler {
 public:
  CommandHandler(Hub& hub, std::shared_ptr<Client> client);
  void handle(std::string_view line);

 private:
  void handle_unregistered(const Message& message);
  void handle_registered(const Message& message);
  bool enough_params(const Message& message, std::size_t needed);
  void send_reply(std::string_view numeric, std::string_view rest);

  Hub& hub_;
  std::shared_ptr<Client> client_;
  bool has_nick_ = false;
  bool has_user_ = false;
};

// ---- session.cpp and server.cpp: the event loop ----

struct SessionSettings {
  QueueLimits queue;
  Clock::duration registration_timeout{};
  Clock::duration close_timeout{};
  Clock::duration slow_consumer_timeout{};
};

}  // namespace chat::detail
