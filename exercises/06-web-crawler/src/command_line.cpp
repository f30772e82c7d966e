// The `crawler` command, given by the course: it parses the command line, runs crawl() with a
// progress line, and writes the records as JSON Lines. Your work is in the other files.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler {
namespace {

nlohmann::json to_json(const PageRecord& page) {
  return {{"url", page.url},
          {"depth", page.depth},
          {"status", page.status},
          {"bytes", page.bytes},
          {"links", page.links},
          {"attempts", page.attempts},
          {"elapsed_ms", page.elapsed.count()},
          {"error", page.ok() ? nlohmann::json(nullptr) : nlohmann::json(page.error)}};
}

// Writes the records to `path` atomically: a temporary file in the same directory, renamed over
// `path` once it is complete and flushed. On failure the temporary file is removed and `path` is
// left as it was.
bool write_records(const std::filesystem::path& path, const std::vector<PageRecord>& pages,
                   std::ostream& err) {
  const std::filesystem::path directory =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::filesystem::path temporary =
      directory / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    for (const PageRecord& page : pages) file << to_json(page).dump() << '\n';
    file.flush();
    if (!file) {
      err << "crawler: cannot write " << path.string() << "\n";
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      return false;
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    err << "crawler: cannot write " << path.string() << ": " << error.message() << "\n";
    std::filesystem::remove(temporary, error);
    return false;
  }
  return true;
}

// Redraws the progress line at most every 100 ms, and always for the last page.
class ProgressLine {
 public:
  explicit ProgressLine(std::ostream& err) : err_(err) {}

  void update(const Progress& progress) {
    const auto now = std::chrono::steady_clock::now();
    const bool idle = progress.queued == 0 && progress.in_flight == 0;
    if (!idle && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    err_ << "\r" << progress.done << " done, " << progress.queued << " queued, "
         << progress.in_flight << " in flight   " << std::flush;
    drawn_ = true;
  }

  void finish() {
    if (drawn_) err_ << "\n";
  }

 private:
  std::ostream& err_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

}  // namespace

int run_command_line(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                     std::stop_token stop) {
  CLI::App app{"crawler: crawls the web from the given URLs, concurrently (exercise 06)",
               "crawler"};
  std::vector<std::string> seeds;
  Options options;
  std::string strategy = std::string(to_string(options.strategy));
  long long delay_ms = 0;
  long long timeout_ms = options.total_timeout.count();
  std::vector<std::string> resolves;
  std::string out_path;
  bool no_robots = false;
  bool quiet = false;
  app.add_option("URL", seeds, "where the crawl starts")->required();
  app.add_option("-j,--jobs", options.max_concurrency, "L: the most fetches at once")
      ->check(CLI::PositiveNumber);
  app.add_option("--per-host", options.max_per_host, "the most fetches at once to one host")
      ->check(CLI::PositiveNumber);
  app.add_option("--depth", options.max_depth, "how many links away from a seed")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--delay", delay_ms, "milliseconds between two fetches from one host")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--timeout", timeout_ms, "milliseconds one attempt may take")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-pages", options.max_pages, "the most pages to schedule")
      ->check(CLI::PositiveNumber);
  app.add_option("--strategy", strategy, "sequential, threads, async or fair")
      ->check(CLI::IsMember({"sequential", "threads", "async", "fair"}));
  app.add_option("--resolve", resolves, "HOST=ADDRESS: connect to ADDRESS for HOST, no DNS");
  app.add_flag("--no-robots", no_robots, "ignore robots.txt");
  app.add_option("--out", out_path, "write the pages as JSON Lines to this file");
  app.add_flag("-q,--quiet", quiet, "no progress line");

  std::vector<std::string> argv_storage{"crawler"};
  for (const std::string_view arg : args) argv_storage.emplace_back(arg);
  std::vector<const char*> argv;
  for (const std::string& arg : argv_storage) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& help) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& error) {
    err << "crawler: " << error.what() << "\n"
        << "Run with --help for more information.\n";
    return 2;
  }
  for (const std::string& entry : resolves) {
    const std::size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == entry.size()) {
      err << "crawler: --resolve wants HOST=ADDRESS, not '" << entry << "'\n";
      return 2;
    }
    options.resolve[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  options.strategy = *parse_strategy(strategy);
  options.host_delay = std::chrono::milliseconds(delay_ms);
  options.total_timeout = std::chrono::milliseconds(timeout_ms);
  options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
  options.obey_robots = !no_robots;
  options.stop = std::move(stop);
  ProgressLine progress(err);
  if (!quiet) options.on_progress = [&progress](const Progress& p) { progress.update(p); };

  CrawlResult result;
  try {
    result = crawl(seeds, options);
  } catch (const std::exception& error) {
    progress.finish();
    err << "crawler: " << error.what() << "\n";
    return 2;
  }
  progress.finish();

  const Stats& stats = result.stats;
  const double seconds = std::chrono::duration<double>(stats.elapsed).count();
  out << "crawled " << stats.pages << " pages: " << stats.fetched << " fetched, " << stats.failed
      << " failed, in " << std::fixed << std::setprecision(1) << seconds << " s ("
      << stats.robots_fetches << " robots.txt, " << stats.duplicates << " duplicate links, "
      << stats.off_scope << " off scope, peak " << stats.peak_in_flight << " in flight)\n";
  bool written = true;
  if (!out_path.empty()) written = write_records(out_path, result.pages, err);
  if (options.stop.stop_requested()) {
    err << "crawler: stopped; the pages recorded so far are kept\n";
    return 1;
  }
  return written ? 0 : 1;
}

}  // namespace crawler
