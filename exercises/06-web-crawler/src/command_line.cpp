// The `crawler` command, given by the course: it parses the command line, runs crawl() with a
// progress line, and writes the records as JSON Lines. Your work is in the other files.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>
#include <vector>

#include "course/output_file.hpp"
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

// The --out file, written the way every course command writes a file (course/output_file.hpp).
// Each record becomes a line of "<out>.part", beside <out>, as soon as it is made, so that a crash
// or a kill keeps what was done there; once the crawl is over that file is renamed to <out>, so
// that <out> is never seen half-written. A link is followed to its target; a device or a FIFO
// (--out /dev/stdout, a named pipe) is written in place, never replaced.
class RecordFile {
 public:
  explicit RecordFile(std::filesystem::path path) : path_(std::move(path)) {}

  // Creates "<out>.part" (or opens the device or FIFO); false, with a message on `err`, when it
  // cannot. A stop request ends the wait for a FIFO's reader.
  bool open(std::ostream& err, const std::stop_token& stop) {
    try {
      file_.emplace(path_, course::OutputFileOptions{.temporary_suffix = ".part", .stop = stop});
      return true;
    } catch (const course::OutputError& error) {
      err << "crawler: " << error.what() << "\n";
      return false;
    }
  }

  // One line, written at once: what is in the file survives the process. After an error nothing
  // more is written; finish() reports it.
  void write(const PageRecord& page) {
    if (!error_.empty()) return;
    try {
      file_->write(to_json(page).dump() + "\n");
    } catch (const course::OutputError& error) {
      error_ = error.what();
    }
  }

  // Removes the part file: <out> is left as it was.
  void abandon() { file_.reset(); }

  // Renames the part file to <out>. On failure the part file is removed and <out> left as it was.
  bool finish(std::ostream& err) {
    if (error_.empty()) {
      try {
        file_->commit();
        return true;
      } catch (const course::OutputError& error) {
        error_ = error.what();
      }
    }
    file_.reset();
    err << "crawler: " << error_ << "\n";
    return false;
  }

 private:
  std::filesystem::path path_;
  std::optional<course::OutputFile> file_;
  std::string error_;  // the first write error
};

// The host of "HOST[:PORT]" as host_of gives it ("Site.TEST:80" is "site.test"); nullopt when it
// is not one.
std::optional<std::string> scope_host(const std::string& text) {
  try {
    const std::string canonical = canonical_url("http://" + text + "/");
    if (canonical != "http://" + host_of(canonical) + "/") return std::nullopt;  // a path, a query
    return host_of(canonical);
  } catch (const UrlError&) {
    return std::nullopt;
  }
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
  std::vector<std::string> allowed;
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
  app.add_option("--allow-host", allowed,
                 "HOST[:PORT]: crawl this host too (the seeds' hosts always are)");
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
  if (!allowed.empty()) {
    // The scope is the seeds' hosts and these (Options::allowed_hosts replaces the seeds' hosts
    // when it is not empty, so they are added too).
    for (const std::string& entry : allowed) {
      const auto host = scope_host(entry);
      if (!host) {
        err << "crawler: --allow-host wants HOST or HOST:PORT, not '" << entry << "'\n";
        return 2;
      }
      options.allowed_hosts.push_back(*host);
    }
    for (const std::string& seed : seeds) {
      try {
        options.allowed_hosts.push_back(host_of(canonical_url(seed)));
      } catch (const UrlError&) {
        // A malformed seed gets its record from crawl().
      }
    }
  }
  options.strategy = *parse_strategy(strategy);
  options.host_delay = std::chrono::milliseconds(delay_ms);
  options.total_timeout = std::chrono::milliseconds(timeout_ms);
  options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
  options.obey_robots = !no_robots;
  options.stop = std::move(stop);
  std::optional<RecordFile> records;
  if (!out_path.empty()) {
    if (!records.emplace(out_path).open(err, options.stop)) return 1;
    options.on_record = [&records](const PageRecord& page) { records->write(page); };
  }
  ProgressLine progress(err);
  if (!quiet) options.on_progress = [&progress](const Progress& p) { progress.update(p); };

  CrawlResult result;
  try {
    result = crawl(seeds, options);
  } catch (const std::exception& error) {
    progress.finish();
    err << "crawler: " << error.what() << "\n";
    if (records) records->abandon();  // the crawl did not run: no file
    return 2;
  }
  progress.finish();

  const Stats& stats = result.stats;
  const double seconds = std::chrono::duration<double>(stats.elapsed).count();
  out << "crawled " << stats.pages << " pages: " << stats.fetched << " fetched, " << stats.failed
      << " failed, in " << std::fixed << std::setprecision(1) << seconds << " s ("
      << stats.robots_fetches << " robots.txt, " << stats.duplicates << " duplicate links, "
      << stats.off_scope << " off scope, peak " << stats.peak_in_flight << " in flight)\n";
  const bool written = !records || records->finish(err);
  if (options.stop.stop_requested()) {
    err << "crawler: stopped; the pages recorded so far are kept\n";
    return 1;
  }
  return written ? 0 : 1;
}

}  // namespace crawler
