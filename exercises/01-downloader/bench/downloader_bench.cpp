// The downloader's benchmark: every strategy at several limits L against the test kit's server
// on loopback, and the notes' Python versions on the same server and list when Debian's
// python3-requests and python3-aiohttp are installed. Build it in the release preset:
//
//   cmake --preset release && cmake --build --preset release --target 01-downloader_bench_solutions
//   build/release/tools/01-downloader/solutions/bench [--runs 3] [--files 200] [--size-kib 64]
//       [--latency-ms 50] [--limits 1,8,32,200] [--strategies pool,async] [--no-python]
//   build/release/tools/01-downloader/solutions/bench --serve urls.txt [--files ...]
//
// --serve only starts the server with those files, writes their URLs to the file given and
// serves them until Enter is pressed: a list for trying the `downloader` command on.
//
// It prints, per strategy and L, the median wall time of the runs, the most requests the server
// saw in flight at once, and the ratio to the ideal ceil(N/L)·d. It checks nothing: it is a
// measurement, never a test.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "course/http_test_server.hpp"
#include "course/temp_dir.hpp"
#include "downloader/downloader.hpp"

namespace {

namespace fs = std::filesystem;
using downloader::Strategy;

constexpr const char* kPython = "/usr/bin/python3";

struct Settings {
  int runs = 3;
  std::size_t files = 200;
  std::size_t size_kib = 64;
  int latency_ms = 50;
  std::vector<std::size_t> limits = {1, 8, 32, 200};
  bool python = true;
  std::vector<Strategy> strategies{downloader::kAllStrategies.begin(),
                                   downloader::kAllStrategies.end()};
  std::optional<std::string> serve_list;
};

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const Strategy strategy : downloader::kAllStrategies) {
    names.emplace_back(downloader::to_string(strategy));
  }
  return names;
}

void describe_options(CLI::App& app, Settings& settings) {
  app.add_option("--runs", settings.runs, "runs of each measurement; the median counts")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--files", settings.files, "files the server serves")->capture_default_str();
  app.add_option("--size-kib", settings.size_kib, "size of each file")->capture_default_str();
  app.add_option("--latency-ms", settings.latency_ms, "the server's delay before each answer")
      ->capture_default_str();
  app.add_option("--limits", settings.limits, "the limits L to measure, comma-separated")
      ->delimiter(',')
      ->default_str("1,8,32,200");
  app.add_option_function<std::vector<std::string>>(
         "--strategies",
         [&settings](const std::vector<std::string>& names) {
           settings.strategies.clear();
           // IsMember below has checked every name.
           for (const std::string& name : names) {
             settings.strategies.push_back(*downloader::parse_strategy(name));
           }
         },
         "the strategies to measure, comma-separated (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(strategy_names()));
  app.add_option("--serve", settings.serve_list,
                 "only serve the files, write their URLs to FILE and wait for Enter")
      ->type_name("FILE");
  app.add_flag_callback(
      "--no-python", [&settings] { settings.python = false; }, "skip the notes' Python versions");
  app.failure_message([](const CLI::App* command, const CLI::Error& error) {
    return "bench: " + CLI::FailureMessage::simple(command, error);
  });
}

struct Measurement {
  double median_s = 0;
  std::size_t peak = 0;
  bool all_ok = true;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs `once` settings.runs times, each into a fresh directory, and keeps the median time.
template <class Once>
Measurement measure(course::HttpTestServer& server, int runs, Once once) {
  Measurement measurement;
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    const course::TempDir dir("downloader-bench");
    server.reset_counters();
    const auto [seconds, ok] = once(dir.path());
    times.push_back(seconds);
    measurement.peak = std::max(measurement.peak, server.peak_in_flight());
    measurement.all_ok = measurement.all_ok && ok;
  }
  measurement.median_s = median(times);
  return measurement;
}

std::pair<double, bool> run_cpp(const std::vector<std::string>& urls, Strategy strategy,
                                std::size_t limit, const fs::path& dir) {
  downloader::Options options;
  options.strategy = strategy;
  options.max_concurrency = limit;
  const auto start = std::chrono::steady_clock::now();
  const auto results = downloader::download(urls, dir, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool ok = std::all_of(results.begin(), results.end(),
                              [](const downloader::Result& r) { return r.ok(); });
  return {seconds, ok};
}

// Runs one of the notes' Python scripts; it prints "elapsed=<seconds>" for its downloads alone,
// without the interpreter's start-up.
std::pair<double, bool> run_python(const std::string& script, const fs::path& url_file,
                                   std::size_t limit, const fs::path& dir) {
  const fs::path output = dir / "python-output.txt";
  const std::string command = std::string(kPython) + " " + script + " --jobs " +
                              std::to_string(limit) + " --out " + (dir / "files").string() + " " +
                              url_file.string() + " > " + output.string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(output);
  std::string line;
  std::optional<double> elapsed;
  while (std::getline(in, line)) {
    if (line.rfind("elapsed=", 0) == 0) elapsed = std::stod(line.substr(8));
  }
  if (!elapsed) {
    std::cerr << "  (" << script << " failed; its output is in " << output << ")\n";
    return {NAN, false};
  }
  return {*elapsed, status == 0};
}

bool python_available() {
  if (::access(kPython, X_OK) != 0) return false;
  const std::string command = std::string(kPython) + " -c 'import requests, aiohttp' 2>/dev/null";
  return std::system(command.c_str()) == 0;
}

struct Row {
  std::string name;
  std::size_t limit;
  std::size_t in_flight;  // the limit the strategy really uses (1, L or N)
  Measurement measurement;
};

void print_row(const Row& row, std::size_t files, double latency_s) {
  const double rounds = std::ceil(static_cast<double>(files) / static_cast<double>(row.in_flight));
  const double ideal_s = rounds * latency_s;
  std::printf("%-18s %5zu %10.3f s %10.3f s %7.2f %6zu%s\n", row.name.c_str(), row.limit,
              row.measurement.median_s, ideal_s, row.measurement.median_s / ideal_s,
              row.measurement.peak, row.measurement.all_ok ? "" : "  (some downloads failed)");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Measures every strategy at several limits L against a server on loopback.",
               "bench"};
  describe_options(app, settings);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;  // --help prints the usage and succeeds
  }
  try {
    course::HttpTestServer server;
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < settings.files; ++i) {
      paths.push_back("/bench/" + std::to_string(i) + ".bin");
      server.add({.path = paths.back(),
                  .body_size = settings.size_kib * 1024,
                  .latency = std::chrono::milliseconds(settings.latency_ms)});
    }
    server.start();
    std::vector<std::string> urls;
    for (const std::string& path : paths) urls.push_back(server.url(path));
    if (settings.serve_list) {
      {
        std::ofstream out(*settings.serve_list);
        for (const auto& url : urls) out << url << "\n";
      }
      std::printf(
          "serving %zu files of %zu KiB at %d ms latency; their URLs are in %s\n"
          "press Enter to stop\n",
          settings.files, settings.size_kib, settings.latency_ms, settings.serve_list->c_str());
      std::string line;
      std::getline(std::cin, line);
      return 0;
    }
    const course::TempDir scratch("downloader-bench-urls");
    const fs::path url_file = scratch.file("urls.txt");
    {
      std::ofstream out(url_file);
      for (const auto& url : urls) out << url << "\n";
    }
    const double latency_s = settings.latency_ms / 1000.0;
    std::printf("%zu files of %zu KiB, %d ms latency, median of %d runs; ideal = ceil(N/L) x d\n\n",
                settings.files, settings.size_kib, settings.latency_ms, settings.runs);
    std::printf("%-18s %5s %12s %12s %7s %6s\n", "strategy", "L", "median", "ideal", "ratio",
                "peak");

    // One untimed run, so that the server's threads exist before anything is measured.
    run_cpp(urls, Strategy::async, settings.files, scratch.path() / "warm-up");

    std::map<std::pair<std::string, std::size_t>, double> medians;
    const auto record = [&](const Row& row) {
      print_row(row, settings.files, latency_s);
      medians[{row.name, row.limit}] = row.measurement.median_s;
    };
    for (const Strategy strategy : settings.strategies) {
      const std::string name(downloader::to_string(strategy));
      for (const std::size_t limit : settings.limits) {
        // Sequential ignores L (always 1) and threads uses one per URL: measure each once.
        if (strategy == Strategy::sequential && limit != settings.limits.front()) continue;
        if (strategy == Strategy::thread_per_url && limit != settings.limits.back()) continue;
        const std::size_t in_flight = strategy == Strategy::sequential ? 1
                                      : strategy == Strategy::thread_per_url
                                          ? settings.files
                                          : std::min(limit, settings.files);
        try {
          const Measurement m = measure(server, settings.runs, [&](const fs::path& dir) {
            return run_cpp(urls, strategy, limit, dir);
          });
          record({name, strategy == Strategy::sequential ? 1 : limit, in_flight, m});
        } catch (const std::logic_error& error) {
          std::printf("%-18s %5zu   (%s)\n", name.c_str(), limit, error.what());
          break;
        }
      }
    }

    if (settings.python && python_available()) {
      const std::string dir = std::string(COURSE_EXERCISE_DIR) + "/bench/";
      const std::vector<std::pair<std::string, std::string>> scripts = {
          {"python threading", dir + "notes_threading.py"},
          {"python asyncio", dir + "notes_asyncio.py"}};
      for (const auto& python_version : scripts) {
        const std::string& name = python_version.first;
        const std::string& script = python_version.second;
        for (const std::size_t limit : settings.limits) {
          const Measurement m = measure(server, settings.runs, [&](const fs::path& run_dir) {
            return run_python(script, url_file, limit, run_dir);
          });
          record({name, limit, std::min(limit, settings.files), m});
        }
      }
      std::printf("\nC++ time / Python asyncio time (below 1: C++ faster)\n");
      std::printf("%-18s", "strategy");
      for (const std::size_t limit : settings.limits) {
        std::printf(" %8s", ("L=" + std::to_string(limit)).c_str());
      }
      std::printf("\n");
      for (const std::string name : {"pool", "async", "processes", "python threading"}) {
        std::printf("%-18s", name.c_str());
        for (const std::size_t limit : settings.limits) {
          const auto mine = medians.find({name, limit});
          const auto python = medians.find({"python asyncio", limit});
          if (mine == medians.end() || python == medians.end()) {
            std::printf(" %8s", "-");
          } else {
            std::printf(" %8.2f", mine->second / python->second);
          }
        }
        std::printf("\n");
      }
    } else if (settings.python) {
      std::printf(
          "\n(%s with requests and aiohttp not found: Python comparison skipped; on Debian "
          "install python3-requests and python3-aiohttp)\n",
          kPython);
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "bench: " << error.what() << "\n";
    return 2;
  }
}
