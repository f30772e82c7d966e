// `chat_load`: the benchmark's load generator. It speaks IRC to any server (the exercise's, ngircd,
// the notes' Python one): C clients register and join one room; S of them send numbered,
// timestamped messages; every client counts what it receives. It prints one JSON line:
// messages delivered per second and the delivery latency (send to receipt) percentiles.
//
//   chat_load --port P --clients C --senders S [--seconds D] [--window W] [--size B]
//   chat_load --port P --idle N [--hold SECONDS]   # N registered clients that say nothing
//
// One thread and epoll: the generator is a single event loop, like the server it measures.
// Flow control keeps it fair: a sender has at most W messages that some client has not yet
// received, so no client's queue on the server grows past S x W lines: the server is never made
// to drop a client as a slow consumer because the generator reads slowly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::uint16_t port = 6667;
  int clients = 10;
  int senders = 1;
  double seconds = 3.0;
  int window = 4;
  int size = 100;
  int idle = 0;
  double hold = 2.0;
};

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  bool registered = false;
  bool joined = false;
  bool synced = false;
  bool closed = false;
};

class Load {
 public:
  explicit Load(const Options& options) : options_(options), epoll_(::epoll_create1(0)) {}
  ~Load() {
    for (auto& c : connections_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(epoll_);
  }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void connect_all(int n) {
    connections_.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto& c = connections_[static_cast<std::size_t>(i)];
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c.fd < 0) throw std::runtime_error("socket() failed: raise the open-file limit");
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(options_.port);
      ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
      if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(options_.port));
      }
      const int one = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll_event event{.events = EPOLLIN, .data = {.u64 = static_cast<std::uint64_t>(i)}};
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &event);
      const auto nick = "load" + std::to_string(i);
      send(c, "NICK " + nick + "\r\nUSER " + nick + " 0 * :load\r\n");
    }
    run_until([&] { return count(&Connection::registered) == n; }, "registration");
  }

  void join_all() {
    for (auto& c : connections_) send(c, "JOIN #bench\r\n");
    const auto n = static_cast<int>(connections_.size());
    run_until([&] { return count(&Connection::joined) == n; }, "JOIN");
    // Drain the JOIN echoes: every client's PONG comes after them.
    for (auto& c : connections_) send(c, "PING :synced\r\n");
    run_until([&] { return count(&Connection::synced) == n; }, "PING after JOIN");
  }

  void measure() {
    const auto senders = static_cast<std::size_t>(std::min(options_.senders, options_.clients));
    sent_.assign(senders, 0);
    acknowledged_.assign(senders, 0);
    receipts_.assign(senders * static_cast<std::size_t>(options_.window), 0);
    measuring_ = true;
    const auto start = Clock::now();
    const auto stop_sending = start + std::chrono::duration<double>(options_.seconds);
    while (Clock::now() < stop_sending) {
      for (std::size_t s = 0; s < senders; ++s) top_up(s);
      poll_once(10);
    }
    sending_ = false;
    // What is in flight still arrives; then the clock stops.
    run_until([&] { return in_flight() == 0; }, "the last deliveries");
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    report(elapsed);
  }

  void hold_idle() {
    const auto until = Clock::now() + std::chrono::duration<double>(options_.hold);
    while (Clock::now() < until) poll_once(50);
    std::printf("{\"idle\": %zu, \"closed\": %d}\n", connections_.size(),
                count(&Connection::closed));
  }

 private:
  int count(bool Connection::*flag) const {
    return static_cast<int>(std::count_if(connections_.begin(), connections_.end(),
                                          [flag](const Connection& c) { return c.*flag; }));
  }

  std::size_t in_flight() const {
    std::size_t n = 0;
    for (std::size_t s = 0; s < sent_.size(); ++s) n += sent_[s] - acknowledged_[s];
    return n;
  }

  void top_up(std::size_t sender) {
    auto& c = connections_[sender];
    while (sending_ &&
           sent_[sender] - acknowledged_[sender] < static_cast<std::size_t>(options_.window)) {
      std::string line = "PRIVMSG #bench :" + std::to_string(sender) + " " +
                         std::to_string(sent_[sender]) + " " + std::to_string(now_ns()) + " ";
      line.append(
          static_cast<std::size_t>(std::max(0, options_.size - static_cast<int>(line.size()))),
          'x');
      send(c, line + "\r\n");
      ++sent_[sender];
    }
  }

  void send(Connection& c, std::string_view bytes) {
    c.out.append(bytes);
    flush(c);
  }

  void flush(Connection& c) {
    while (!c.out.empty() && !c.closed) {
      const auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // retried next poll
      if (n <= 0) {
        c.closed = true;
        return;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
  }

  template <class Done>
  void run_until(Done done, const char* what) {
    const auto give_up = Clock::now() + std::chrono::seconds(120);
    while (!done()) {
      if (Clock::now() > give_up) throw std::runtime_error(std::string("timed out: ") + what);
      poll_once(50);
    }
  }

  void poll_once(int timeout_ms) {
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) read_from(static_cast<std::size_t>(events[i].data.u64));
    for (auto& c : connections_) {
      if (!c.out.empty()) flush(c);
    }
  }

  void read_from(std::size_t index) {
    auto& c = connections_[index];
    char chunk[65536];
    const auto n = ::recv(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      c.closed = true;
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      if (measuring_) ++dropped_;
      return;
    }
    c.in.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto end = c.in.find('\n'); end != std::string::npos; end = c.in.find('\n', start)) {
      on_line(c, std::string_view(c.in).substr(start, end - start));
      start = end + 1;
    }
    c.in.erase(0, start);
  }

  void on_line(Connection& c, std::string_view line) {
    const auto space = line.find(' ');
    if (space == std::string_view::npos) return;
    const auto rest = line.substr(space + 1);
    const auto command = rest.substr(0, rest.find(' '));
    if (command == "PRIVMSG") {
      on_message(line);
    } else if (command == "422" || command == "376") {
      c.registered = true;
    } else if (command == "366") {
      c.joined = true;
    } else if (command == "PONG") {
      c.synced = true;
    } else if (line.rfind("PING", 0) == 0) {
      send(c, "PONG " + std::string(line.substr(5)) + "\r\n");
    }
  }

  // ":nick!u@h PRIVMSG #bench :<sender> <seq> <sent_ns> xxx..."
  void on_message(std::string_view line) {
    // from_chars, not stoul: the generator parses every delivery and must stay cheaper than the
    // server it measures.
    const auto text = line.substr(line.find(" :") + 2);
    const char* end = text.data() + text.size();
    std::size_t sender = 0;
    std::size_t sequence = 0;
    std::int64_t sent_ns = 0;
    auto parsed = std::from_chars(text.data(), end, sender);
    parsed = std::from_chars(parsed.ptr + 1, end, sequence);
    parsed = std::from_chars(parsed.ptr + 1, end, sent_ns);
    if (parsed.ec != std::errc()) return;
    latencies_ns_.push_back(now_ns() - sent_ns);
    ++delivered_;
    acknowledge(sender, sequence);
  }

  // A message is acknowledged once every other client has it. Each client gets a sender's
  // messages in order, so they complete in order: W counters per sender (a ring) are enough.
  void acknowledge(std::size_t sender, std::size_t sequence) {
    if (sender >= acknowledged_.size()) return;
    const auto window = static_cast<std::size_t>(options_.window);
    auto& receipts = receipts_[sender * window + sequence % window];
    if (++receipts == connections_.size() - 1) {
      receipts = 0;
      ++acknowledged_[sender];
    }
  }

  void report(double elapsed) {
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    const auto percentile = [&](double p) {
      if (latencies_ns_.empty()) return 0.0;
      const auto at = static_cast<std::size_t>(p * static_cast<double>(latencies_ns_.size() - 1));
      return static_cast<double>(latencies_ns_[at]) / 1e6;
    };
    std::size_t sent = 0;
    for (const auto n : sent_) sent += n;
    std::printf(
        "{\"clients\": %zu, \"senders\": %zu, \"seconds\": %.3f, \"sent\": %zu, \"delivered\": "
        "%zu, "
        "\"per_second\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"dropped\": %d}\n",
        connections_.size(), sent_.size(), elapsed, sent, delivered_,
        static_cast<double>(delivered_) / elapsed, percentile(0.5), percentile(0.99), dropped_);
  }

  Options options_;
  int epoll_;
  std::vector<Connection> connections_;
  std::vector<std::size_t> sent_;
  std::vector<std::size_t> acknowledged_;
  std::vector<std::size_t> receipts_;  // per sender, W counters: receipts of the messages in flight
  std::vector<std::int64_t> latencies_ns_;
  std::size_t delivered_ = 0;
  int dropped_ = 0;
  bool measuring_ = false;
  bool sending_ = true;
};

void raise_open_file_limit(rlim_t needed) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < needed) {
    limit.rlim_cur = std::min(needed, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Load for an IRC chat server: C clients in one room, S of them sending."};
  app.add_option("--port", options.port, "the server's port on 127.0.0.1")->required();
  app.add_option("--clients", options.clients, "clients in the room")->check(CLI::Range(2, 20000));
  app.add_option("--senders", options.senders, "how many of them send")
      ->check(CLI::Range(1, 20000));
  app.add_option("--seconds", options.seconds, "how long the senders send");
  app.add_option("--window", options.window, "messages a sender may have in flight")
      ->check(CLI::Range(1, 1000));
  app.add_option("--size", options.size, "bytes of message text")->check(CLI::Range(40, 400));
  app.add_option("--idle", options.idle, "instead: open N registered clients that say nothing");
  app.add_option("--hold", options.hold, "with --idle: seconds to hold them");
  CLI11_PARSE(app, argc, argv);
  try {
    raise_open_file_limit(static_cast<rlim_t>(std::max(options.clients, options.idle)) + 100);
    Load load(options);
    if (options.idle > 0) {
      load.connect_all(options.idle);
      std::printf("{\"ready\": %d}\n", options.idle);
      std::fflush(stdout);
      load.hold_idle();
      return 0;
    }
    load.connect_all(options.clients);
    load.join_all();
    load.measure();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chat_load: %s\n", e.what());
    return 1;
  }
  return 0;
}
