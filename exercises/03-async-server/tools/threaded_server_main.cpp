// The "before" picture: the notes' threaded web server. cpp-httplib hands every connection to a
// thread of its pool, and a handler simply blocks (std::this_thread::sleep_for, the notes'
// time.sleep) while its thread waits. It serves as many slow requests at once as it has
// threads; the asynchronous server serves them all on one.
//
//   threaded_server [--port P] [--threads N] [--scale S]
#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 8081;
  std::size_t threads = 64;
  double scale = 1.0;
};

class Operations {
 public:
  explicit Operations(double scale) : scale_(scale) {}

  // Blocks the calling thread for a random duration in [min_ms, max_ms] x scale.
  double run(int min_ms, int max_ms) {
    int millis = 0;
    {
      const std::scoped_lock lock(mutex_);
      millis = std::uniform_int_distribution<int>(min_ms, max_ms)(random_);
    }
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(millis * scale_));
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }

 private:
  double scale_;
  std::mutex mutex_;
  std::mt19937 random_{std::random_device{}()};
};

std::string body(std::string_view endpoint, const std::vector<std::pair<const char*, double>>& ops,
                 double total) {
  std::string list;
  for (const auto& [name, ms] : ops) {
    if (!list.empty()) list += ",";
    list += "{\"name\":\"" + std::string(name) + "\",\"ms\":" + std::to_string(ms) + "}";
  }
  return "{\"endpoint\":\"" + std::string(endpoint) + "\",\"operations\":[" + list +
         "],\"total_ms\":" + std::to_string(total) + "}";
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--port") {
      options.port = std::atoi(argv[i + 1]);
    } else if (flag == "--threads") {
      options.threads = static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1])));
    } else if (flag == "--scale") {
      options.scale = std::atof(argv[i + 1]);
    } else {
      std::cerr << "usage: threaded_server [--port P] [--threads N] [--scale S]\n";
      std::exit(2);
    }
  }
  return options;
}

// cpp-httplib keeps its listening socket protected; the backlog fix below needs it.
class ListeningServer final : public httplib::Server {
 public:
  int listening_socket() const { return svr_sock_; }
};

ListeningServer* running = nullptr;

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  Operations operations(options.scale);
  ListeningServer server;
  server.new_task_queue = [n = options.threads] { return new httplib::ThreadPool(n); };
  // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold every keep-alive answer ~40 ms.
  server.set_tcp_nodelay(true);

  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        R"({"server":"threaded","endpoints":["/fast","/medium","/slow","/mixed","/sequential"]})",
        "application/json");
  });
  const auto single = [&operations](const char* name, int min_ms, int max_ms) {
    return
        [&operations, name, min_ms, max_ms](const httplib::Request& req, httplib::Response& res) {
          const double ms = operations.run(min_ms, max_ms);
          res.set_content(body(req.path, {{name, ms}}, ms), "application/json");
        };
  };
  server.Get("/fast", single("fast", 100, 300));
  server.Get("/medium", single("medium", 500, 1500));
  server.Get("/slow", single("slow", 2000, 4000));
  // With threads, the three operations of /mixed run at once in three more threads.
  server.Get("/mixed", [&operations](const httplib::Request&, httplib::Response& res) {
    const auto start = Clock::now();
    double fast = 0, medium = 0, slow = 0;
    {
      std::jthread a([&] { fast = operations.run(100, 300); });
      std::jthread b([&] { medium = operations.run(500, 1500); });
      std::jthread c([&] { slow = operations.run(2000, 4000); });
    }
    const double total = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    res.set_content(body("/mixed", {{"fast", fast}, {"medium", medium}, {"slow", slow}}, total),
                    "application/json");
  });
  server.Get("/sequential", [&operations](const httplib::Request&, httplib::Response& res) {
    const auto start = Clock::now();
    const double fast = operations.run(100, 300);
    const double medium = operations.run(500, 1500);
    const double slow = operations.run(2000, 4000);
    const double total = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    res.set_content(
        body("/sequential", {{"fast", fast}, {"medium", medium}, {"slow", slow}}, total),
        "application/json");
  });

  if (!server.bind_to_port("127.0.0.1", options.port)) {
    std::cerr << "threaded_server: cannot bind 127.0.0.1:" << options.port << "\n";
    return 1;
  }
  // cpp-httplib's compiled-in backlog is 5; a burst of connections needs more.
  ::listen(server.listening_socket(), SOMAXCONN);
  running = &server;
  std::signal(SIGINT, [](int) { running->stop(); });
  std::signal(SIGTERM, [](int) { running->stop(); });
  std::cout << "listening on http://127.0.0.1:" << options.port << " with " << options.threads
            << " threads" << std::endl;
  server.listen_after_bind();
  return 0;
}
