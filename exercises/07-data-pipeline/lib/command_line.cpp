// Exercise 07, given by the course: the `logpipe` command. Your work is in src/.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <exception>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "logpipe/command.hpp"
#include "logpipe/log.hpp"

namespace logpipe {
namespace {

std::string seconds(std::chrono::nanoseconds d) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << std::chrono::duration<double>(d).count();
  return text.str();
}

// The notes' exec/wait model per stage: busy is exec, blocked is wait. The stage whose workers are
// busiest is the bottleneck: adding workers there is what speeds the pipeline up.
std::string stats_table(const std::vector<StageStats>& stages) {
  std::ostringstream table;
  table << std::left << std::setw(11) << "stage" << std::right << std::setw(8) << "workers"
        << std::setw(11) << "in" << std::setw(11) << "out" << std::setw(8) << "errors"
        << std::setw(7) << "peak q" << std::setw(9) << "busy s" << std::setw(10) << "blocked s"
        << std::setw(7) << "busy%"
        << "\n";
  double busiest = -1;
  std::size_t bottleneck = 0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    const double per_worker = std::chrono::duration<double>(s.busy).count() /
                              static_cast<double>(std::max<std::size_t>(s.workers, 1));
    if (per_worker > busiest) {
      busiest = per_worker;
      bottleneck = i;
    }
  }
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    const auto total = s.busy + s.blocked;
    const double share = total.count() > 0 ? 100.0 * static_cast<double>(s.busy.count()) /
                                                 static_cast<double>(total.count())
                                           : 0.0;
    table << std::left << std::setw(11) << s.name << std::right << std::setw(8) << s.workers
          << std::setw(11) << s.items_in << std::setw(11) << s.items_out << std::setw(8) << s.errors
          << std::setw(7) << s.peak_queue << std::setw(9) << seconds(s.busy) << std::setw(10)
          << seconds(s.blocked) << std::setw(6) << std::fixed << std::setprecision(0) << share
          << "%" << (i == bottleneck ? "  <- busiest" : "") << "\n";
  }
  return table.str();
}

// Draws the statistics on stderr: a table redrawn in place on a terminal, one line otherwise.
class ProgressView {
 public:
  ProgressView(std::ostream& err, bool quiet)
      : err_(err), quiet_(quiet), terminal_(::isatty(STDERR_FILENO) == 1 && &err == &std::cerr) {}

  void update(const std::vector<StageStats>& stages) {
    if (quiet_ || stages.empty()) return;
    const std::scoped_lock lock(mutex_);
    if (terminal_) {
      if (drawn_lines_ > 0) err_ << "\x1b[" << drawn_lines_ << "F\x1b[J";  // back up, clear
      const std::string table = stats_table(stages);
      err_ << table << std::flush;
      drawn_lines_ = static_cast<int>(std::count(table.begin(), table.end(), '\n'));
    } else {
      err_ << "logpipe: " << stages.front().items_in << " lines read, " << stages.back().items_in
           << " records aggregated\n";
    }
  }

  void final(const std::vector<StageStats>& stages) {
    if (quiet_ || stages.empty()) return;
    const std::scoped_lock lock(mutex_);
    if (terminal_ && drawn_lines_ > 0) err_ << "\x1b[" << drawn_lines_ << "F\x1b[J";
    err_ << stats_table(stages) << std::flush;
  }

 private:
  std::ostream& err_;
  const bool quiet_;
  const bool terminal_;
  std::mutex mutex_;
  int drawn_lines_ = 0;
};

}  // namespace

int run_command_line(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                     const std::stop_token& stop, const Analyser& threads, const Analyser& async) {
  CLI::App app{"logpipe: aggregate access logs (Combined Log Format) through a pipeline"};
  std::vector<std::string> files;
  AnalyseOptions options;
  std::string policy = "skip";
  std::string status;
  std::string from;
  std::string to;
  std::size_t top = 10;
  bool use_async = false;
  std::string out_path;
  bool quiet = false;
  app.add_option("ACCESS_LOG", files, "log files in the Combined Log Format")->required();
  app.add_option("--workers", options.workers, "threads (or coroutines) of the parse stage")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  app.add_option("--capacity", options.capacity, "capacity of each queue, in items")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  app.add_option("--batch", options.batch_lines, "lines per item (threads only, level 4b)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  app.add_option("--policy", policy, "what a malformed line does")
      ->check(CLI::IsMember({"fail-fast", "skip"}));
  app.add_option("--error-budget", options.error_budget,
                 "with --policy skip: fail once more lines than this are malformed");
  app.add_option("--status", status, "keep only one status class, e.g. 5xx")
      ->check(CLI::IsMember({"1xx", "2xx", "3xx", "4xx", "5xx"}));
  app.add_option("--from", from, "keep requests at or after this UTC time (2026-11-30T20:00Z)");
  app.add_option("--to", to, "keep requests before this UTC time");
  app.add_option("--path-prefix", options.filter.path_prefix, "keep paths that start with this");
  app.add_option("--top", top, "how many paths the report lists")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_flag("--async", use_async, "one thread with coroutines and channels (level 6)");
  app.add_option("--out", out_path, "write the report here (atomically) instead of stdout");
  app.add_flag("--quiet,-q", quiet, "no statistics on stderr");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "logpipe: " << e.what() << "\n"
        << "Run with --help for usage.\n";
    return 2;
  }
  options.policy = policy == "fail-fast" ? ErrorPolicy::fail_fast : ErrorPolicy::skip;
  if (!status.empty()) options.filter.status_class = status.front() - '0';
  for (auto [text, bound] : {std::pair{&from, &options.filter.from}, {&to, &options.filter.to}}) {
    if (text->empty()) continue;
    *bound = parse_utc(*text);
    if (!*bound) {
      err << "logpipe: '" << *text << "' is not a UTC time like 2026-11-30T20:33Z\n";
      return 2;
    }
  }
  std::vector<std::filesystem::path> logs(files.begin(), files.end());

  ProgressView view(err, quiet);
  if (!use_async) {
    options.on_progress = [&view](const std::vector<StageStats>& stages) { view.update(stages); };
  }
  Analysis analysis;
  try {
    analysis = (use_async ? async : threads)(logs, options, stop);
  } catch (const std::exception& e) {
    err << "logpipe: " << e.what() << "\nNo report written.\n";
    return 1;
  }
  view.final(analysis.run.stages);
  if (analysis.run.outcome != Outcome::completed) {
    err << "logpipe: interrupted after " << analysis.report.lines << " lines. No report written.\n";
    return 1;
  }
  std::vector<std::string> dead_letters;
  for (const auto& letter : analysis.run.dead_letters) {
    if (dead_letters.size() == 100) break;
    dead_letters.push_back(letter.error);
  }
  const std::string json = report_json(analysis.report, top, dead_letters);
  if (out_path.empty()) {
    out << json << std::flush;
  } else {
    try {
      write_file_atomically(out_path, json, stop);
    } catch (const std::exception& e) {
      err << "logpipe: " << e.what() << "\n";
      return 1;
    }
  }
  if (!quiet) {
    err << "logpipe: " << analysis.report.lines << " lines, " << analysis.report.malformed
        << " malformed, " << analysis.report.records << " records kept\n";
  }
  return 0;
}

}  // namespace logpipe
