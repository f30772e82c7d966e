// The `downloader` command, built against your code (build/<preset>/tools/01-downloader/exercises/)
// and against the reference (.../solutions/).
//
//   downloader [options] URL...        download the URLs into --out
//   downloader -i urls.txt --compare   run every strategy on the same list and compare them
//
// Ctrl-C requests a stop: the download ends promptly and leaves no half-written file.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "course/signal_stop.hpp"
#include "downloader/downloader.hpp"

namespace {

namespace fs = std::filesystem;
using downloader::Options;
using downloader::Result;
using downloader::Strategy;

struct Settings {
  std::vector<std::string> urls;
  std::optional<std::string> input;
  fs::path out = "downloads";
  Strategy strategy = Strategy::thread_pool;
  std::size_t jobs = 8;
  double timeout_s = 30;
  double connect_timeout_s = 5;
  int retries = 3;
  bool compare = false;
  bool quiet = false;
};

// ---- command line ----

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const Strategy strategy : downloader::kAllStrategies) {
    names.emplace_back(downloader::to_string(strategy));
  }
  return names;
}

// Accepts a number of at least `least`, and says so when it refuses one (CLI11's own numeric checks
// print a range that runs up to the largest double).
CLI::Validator at_least(int least) {
  const auto check = [least](const std::string& text) -> std::string {
    try {
      std::size_t used = 0;
      if (std::stod(text, &used) >= least && used == text.size()) return "";
    } catch (const std::exception&) {
    }
    return "needs a number of at least " + std::to_string(least) + ", not '" + text + "'";
  };
  return CLI::Validator(check, "");
}

void describe_options(CLI::App& app, Settings& settings) {
  app.add_option("URL", settings.urls, "the URLs to download");
  app.add_option("-i,--input", settings.input,
                 "read URLs from FILE, one per line ('-' for standard input;\n"
                 "blank lines and lines starting with '#' are skipped)")
      ->type_name("FILE");
  app.add_option("-o,--out", settings.out, "where the files go")
      ->type_name("DIR")
      ->default_str(settings.out.string());
  app.add_option_function<std::string>(
         "-s,--strategy",
         [&settings](const std::string& name) {
           settings.strategy = *downloader::parse_strategy(name);  // IsMember checked it
         },
         "how the downloads run")
      ->type_name("NAME")
      ->check(CLI::IsMember(strategy_names()))
      ->default_str(std::string(downloader::to_string(settings.strategy)));
  app.add_option("-j,--jobs", settings.jobs, "the most downloads in flight at once")
      ->type_name("L")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--timeout", settings.timeout_s, "seconds an attempt may take")
      ->type_name("S")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--connect-timeout", settings.connect_timeout_s, "seconds to connect")
      ->type_name("S")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--retries", settings.retries, "retries of a transient failure")
      ->type_name("N")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_flag("--compare", settings.compare,
               "run every strategy on the same list (into DIR/<strategy>) and\n"
               "print the notes' comparison table");
  app.add_flag("-q,--quiet", settings.quiet, "no progress bar");
  // A usage error names the problem, then shows the whole usage.
  app.failure_message([](const CLI::App* command, const CLI::Error& error) {
    return "downloader: " + std::string(error.what()) + "\n\n" + command->help();
  });
}

void read_urls(std::istream& in, std::vector<std::string>& urls) {
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    urls.push_back(line.substr(first, last - first + 1));
  }
}

// Adds the URLs of the --input file, if there is one, after those of the command line.
void add_input_urls(Settings& settings) {
  if (!settings.input) return;
  if (*settings.input == "-") {
    read_urls(std::cin, settings.urls);
    return;
  }
  std::ifstream file(*settings.input);
  if (!file) throw CLI::ValidationError("--input", "cannot read " + *settings.input);
  read_urls(file, settings.urls);
}

// ---- progress and summary ----

std::string human_bytes(std::uint64_t bytes) {
  char text[32];
  if (bytes >= std::uint64_t{1024} * 1024) {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  } else if (bytes >= 1024) {
    std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  }
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A progress bar on standard error, redrawn in place; only when standard error is a terminal.
downloader::ProgressCallback progress_bar(std::chrono::steady_clock::time_point start) {
  return [start](const downloader::Progress& progress) {
    constexpr int kWidth = 30;
    const int filled = progress.files_total == 0
                           ? kWidth
                           : static_cast<int>(kWidth * progress.files_done / progress.files_total);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu files  %s  %.1f s ",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(),
                 progress.files_done, progress.files_total,
                 human_bytes(progress.bytes_done).c_str(), seconds_since(start));
    if (progress.files_done == progress.files_total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

Options options_for(const Settings& settings, Strategy strategy, std::stop_token stop) {
  Options options;
  options.strategy = strategy;
  options.max_concurrency = settings.jobs;
  options.total_timeout = std::chrono::milliseconds(static_cast<long>(settings.timeout_s * 1000));
  options.connect_timeout =
      std::chrono::milliseconds(static_cast<long>(settings.connect_timeout_s * 1000));
  options.retry.max_retries = settings.retries;
  options.stop = std::move(stop);
  return options;
}

struct Summary {
  std::size_t ok = 0;
  std::uint64_t bytes = 0;
};

Summary summarise(const std::vector<Result>& results) {
  Summary summary;
  for (const Result& result : results) {
    if (result.ok()) {
      ++summary.ok;
      summary.bytes += result.bytes;
    }
  }
  return summary;
}

int run_one(const Settings& settings, const std::vector<std::string>& urls, std::stop_token stop) {
  Options options = options_for(settings, settings.strategy, std::move(stop));
  const auto start = std::chrono::steady_clock::now();
  if (!settings.quiet && ::isatty(STDERR_FILENO) != 0) options.on_progress = progress_bar(start);
  const std::vector<Result> results = downloader::download(urls, settings.out, options);
  const double took = seconds_since(start);

  const Summary summary = summarise(results);
  std::size_t shown = 0;
  for (const Result& result : results) {
    if (result.ok() || ++shown > 20) continue;
    std::cout << "failed: " << result.url << ": " << result.error << "\n";
  }
  if (shown > 20) std::cout << "... and " << shown - 20 << " more failures\n";
  std::printf("%zu of %zu files (%s) in %.2f s with %s, L=%zu, into %s\n", summary.ok,
              results.size(), human_bytes(summary.bytes).c_str(), took,
              std::string(downloader::to_string(settings.strategy)).c_str(), settings.jobs,
              settings.out.string().c_str());
  return summary.ok == results.size() ? 0 : 1;
}

// Every strategy on the same list, each into its own directory, like the notes' comparison.
int run_comparison(const Settings& settings, const std::vector<std::string>& urls,
                   const std::stop_token& stop) {
  std::printf("%zu URLs, L=%zu\n\n", urls.size(), settings.jobs);
  std::printf("%-12s %6s %10s %9s %12s\n", "strategy", "L", "time", "speed-up", "files ok");
  std::optional<double> sequential_s;
  bool all_ok = true;
  for (const Strategy strategy : downloader::kAllStrategies) {
    if (stop.stop_requested()) break;
    const std::string name(downloader::to_string(strategy));
    const std::string limit = strategy == Strategy::sequential ? "1"
                              : strategy == Strategy::thread_per_url
                                  ? std::to_string(urls.size())
                                  : std::to_string(settings.jobs);
    const auto start = std::chrono::steady_clock::now();
    try {
      const auto results =
          downloader::download(urls, settings.out / name, options_for(settings, strategy, stop));
      const double took = seconds_since(start);
      if (strategy == Strategy::sequential) sequential_s = took;
      const Summary summary = summarise(results);
      all_ok = all_ok && summary.ok == results.size();
      char speedup[32] = "-";
      if (sequential_s) std::snprintf(speedup, sizeof speedup, "%.1fx", *sequential_s / took);
      std::printf("%-12s %6s %9.2fs %9s %8zu/%zu\n", name.c_str(), limit.c_str(), took, speedup,
                  summary.ok, results.size());
    } catch (const std::logic_error& error) {
      std::printf("%-12s %6s %10s   (%s)\n", name.c_str(), limit.c_str(), "-", error.what());
    }
    std::fflush(stdout);
  }
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"Downloads every URL into a directory, concurrently.", "downloader"};
  describe_options(app, settings);
  try {
    app.parse(argc, argv);
    add_input_urls(settings);
    if (settings.urls.empty()) throw CLI::ValidationError("no URLs given");
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;  // --help prints the usage and succeeds
  }
  try {
    const course::SignalStop signals;
    return settings.compare ? run_comparison(settings, settings.urls, signals.token())
                            : run_one(settings, settings.urls, signals.token());
  } catch (const std::exception& error) {
    std::cerr << "downloader: " << error.what() << "\n";
    return 2;
  }
}
