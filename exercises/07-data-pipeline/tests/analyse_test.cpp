// Exercise 07: the log analysis (threads and async), the `logpipe` command, and an outside oracle
// (awk, sort and uniq over the same log). The expected reports come from analyse_sequentially()
// in the course's own code, never from yours.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "analyse.hpp"
#include "analyse_async.hpp"
#include "course/fifo_reader.hpp"
#include "course/probes.hpp"
#include "course/temp_dir.hpp"
#include "logpipe/command.hpp"
#include "test_support.hpp"

namespace logpipe::testing {
namespace {

namespace fs = std::filesystem;

// The two versions, side by side: every contract test runs on both.
struct Version {
  const char* name;
  Analysis (*run)(const std::vector<fs::path>&, const AnalyseOptions&, const std::stop_token&);
  bool batches;  // follows AnalyseOptions::batch_lines (the threads version only)
};
const Version kThreads{"analyse (threads)",
                       [](const auto& logs, const auto& options, const auto& stop) {
                         return analyse(logs, options, stop);
                       },
                       true};
const Version kAsync{"analyse_async (one thread)",
                     [](const auto& logs, const auto& options, const auto& stop) {
                       return analyse_async(logs, options, stop);
                     },
                     false};

struct Logs {
  course::TempDir dir{"logpipe"};
  std::vector<fs::path> paths;
  std::vector<GeneratedLog> generated;

  Logs(std::uint64_t seed, std::vector<std::uint64_t> sizes, double malformed = 0.02) {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      paths.push_back(dir.file("access-" + std::to_string(i) + ".log"));
      generated.push_back(generate_log_file(paths.back(), seed * 100 + i, sizes[i], malformed));
    }
  }
  // "FILE:LINE" of every malformed line, as the dead letters should name them.
  std::set<std::string> malformed_locations() const {
    std::set<std::string> locations;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      for (auto line : generated[i].malformed_lines) {
        locations.insert(paths[i].string() + ":" + std::to_string(line));
      }
    }
    return locations;
  }
};

std::set<std::string> dead_letter_locations(const Analysis& analysis) {
  std::set<std::string> locations;
  for (const auto& letter : analysis.run.dead_letters) {
    const auto colon = letter.error.find(": ");
    locations.insert(letter.error.substr(0, colon));
  }
  return locations;
}

std::string describe(const Report& got, const Report& want) {
  std::ostringstream text;
  text << "lines " << got.lines << " (want " << want.lines << "), malformed " << got.malformed
       << " (want " << want.malformed << "), records " << got.records << " (want " << want.records
       << "), bytes " << got.bytes << " (want " << want.bytes << "), paths " << got.paths.size()
       << " (want " << want.paths.size() << "), minutes " << got.per_minute.size() << " (want "
       << want.per_minute.size() << ")";
  return text.str();
}

// Runs a version with a deadline; the run gets the Background's stop token.
Analysis run_within(const Version& version, const std::vector<fs::path>& logs,
                    const AnalyseOptions& options, milliseconds timeout = 60000ms) {
  Background<Analysis> run(
      [&](const std::stop_token& stop) { return version.run(logs, options, stop); });
  if (!run.finished_within(timeout)) {
    ADD_FAILURE() << version.name << " did not finish within " << timeout.count() << " ms";
    run.request_stop();
    if (!run.finished_within(5000ms)) std::abort();  // it ignores its stop token too
  }
  return run.get();
}

// ---- the report ----

void expect_sequential_report(const Version& version) {
  for (const std::uint64_t seed : {1, 2, 3}) {
    const Logs logs(seed, {3000, 1, 2500});
    const Report want = analyse_sequentially(logs.paths, {});
    // Batches of 1 line, of 7 (never a divisor of a file's length), of 64 and the default.
    for (const auto& [workers, batch] : {std::pair<std::size_t, std::size_t>{1, 1},
                                         {2, 7},
                                         {3, 64},
                                         {8, AnalyseOptions{}.batch_lines}}) {
      const Analysis got = run_within(version, logs.paths,
                                      {.workers = workers, .capacity = 16, .batch_lines = batch});
      EXPECT_EQ(got.report, want) << version.name << ", seed " << seed << ", " << workers
                                  << " workers, batches of " << batch
                                  << " lines: " << describe(got.report, want);
      EXPECT_EQ(got.run.outcome, Outcome::completed);
      EXPECT_EQ(dead_letter_locations(got), logs.malformed_locations())
          << version.name
          << ": one dead letter per malformed line, whose error begins with "
             "FILE:LINE (parse_line's LineError)";
    }
  }
}

TEST(Analyse, ReportEqualsTheSequentialFold) { expect_sequential_report(kThreads); }
TEST(Async, ReportEqualsTheSequentialFold) { expect_sequential_report(kAsync); }

void expect_filtered_report(const Version& version) {
  const Logs logs(7, {4000});
  LogFilter filter;
  filter.status_class = 4;
  filter.path_prefix = "/api/";
  filter.from = 1795996800 + 600;  // 2026-11-30T00:10Z
  filter.to = 1795996800 + 1800;
  const Report want = analyse_sequentially(logs.paths, filter);
  ASSERT_GT(want.records, 0U) << "the test's filter should keep some records";
  const Analysis got = run_within(version, logs.paths, {.workers = 3, .filter = filter});
  EXPECT_EQ(got.report, want) << version.name << " with a filter: " << describe(got.report, want);
}

TEST(Analyse, FilterKeepsOnlyMatchingRecords) { expect_filtered_report(kThreads); }
TEST(Async, FilterKeepsOnlyMatchingRecords) { expect_filtered_report(kAsync); }

// Lines as real servers and tools write them, against counts worked out by hand (not by
// parse_line, which the oracle shares): CRLF endings (Apache on Windows, logs passed through
// Windows tools), Apache's escapes inside quoted fields (\" and \\), query strings and an
// absolute-form target (the path is the target's path), and dates that do not exist (malformed,
// not rolled into March). Lines 1 and 5 end in CRLF; the last line has no line ending at all
// (a writer that has not finished it, or a tool that does not end files with one).
void expect_real_world_lines(const Version& version) {
  const course::TempDir dir("logpipe-real");
  const fs::path log = dir.file("access.log");
  const std::string agent = R"( "-" "curl/8.0")";
  const std::vector<std::string> lines = {
      R"(192.0.2.1 - - [29/Feb/2024:10:00:00 +0000] "GET /leap?x=1 HTTP/1.1" 200 10)" + agent,
      R"(192.0.2.1 - - [29/Feb/2023:10:00:00 +0000] "GET /a HTTP/1.1" 200 10)" + agent,
      R"(192.0.2.1 - - [30/Feb/2024:10:00:00 +0000] "GET /a HTTP/1.1" 200 10)" + agent,
      R"(192.0.2.1 - - [31/Apr/2024:10:00:00 +0000] "GET /a HTTP/1.1" 200 10)" + agent,
      R"(192.0.2.1 - - [31/Dec/2024:23:59:59 +0000] "GET /s?q=1 HTTP/1.1" 404 5)" + agent,
      R"(192.0.2.1 - - [31/Dec/2024:23:59:59 +0000] "GET /s?q=2 HTTP/1.1" 200 5 )"
      R"("http://r/\"x\"" "agent \"quoted\" \\ end")",
      R"(192.0.2.1 - - [01/Jan/2025:00:00:00 +0000] "GET /say\"hi\" HTTP/1.1" 200 1)" + agent,
      R"(192.0.2.1 - - [01/Jan/2025:00:00:00 +0000] "GET /x\" 200 1)" + agent,
      R"(192.0.2.1 - - [01/Jan/2025:00:00:00 +0000] "GET http://example.com/abs?y HTTP/1.1" 200 1)" +
          agent,
  };
  {
    std::ofstream out(log, std::ios::binary);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const bool last = i + 1 == lines.size();
      out << lines[i] << (last ? "" : i % 4 == 0 ? "\r\n" : "\n");
    }
  }
  const Analysis got = run_within(version, {log}, {.workers = 2, .batch_lines = 2});
  std::map<std::string, std::uint64_t> requests;
  for (const auto& [path, totals] : got.report.paths) requests[path] = totals.requests;
  const std::map<std::string, std::uint64_t> want{
      {"/leap", 1}, {"/s", 2}, {"/say\"hi\"", 1}, {"/abs", 1}};
  EXPECT_EQ(got.report.lines, 9U) << version.name;
  EXPECT_EQ(got.report.records, 5U)
      << version.name << ": CRLF lines, escaped quotes and query strings are valid";
  EXPECT_EQ(got.report.malformed, 4U)
      << version.name << ": 29 Feb 2023, 30 Feb, 31 Apr and a request ending in a lone "
      << "backslash are malformed";
  EXPECT_EQ(requests, want) << version.name
                            << ": a path is the target's path, without its query ('/s?q=1' and "
                               "'/s?q=2' are both '/s'), with Apache's \\\" read as a quote";
  EXPECT_EQ(got.report.status_classes[4], 1U);
}

TEST(Analyse, LinesAreReadAsRealServersWriteThem) { expect_real_world_lines(kThreads); }
TEST(Async, LinesAreReadAsRealServersWriteThem) { expect_real_world_lines(kAsync); }

// ---- concurrency, structurally ----

TEST(Analyse, TheParseStageFansOut) {
  const Logs logs(4, {2000});
  course::OverlapProbe probe(3, 5000ms);
  std::atomic<int> calls{0};
  AnalyseOptions options{.workers = 3, .capacity = 8, .batch_lines = 16};
  options.on_record = [&](const LogRecord&) {
    if (++calls <= 3) probe.arrive_and_wait();
  };
  const Analysis got = run_within(kThreads, logs.paths, options);
  EXPECT_TRUE(probe.formed()) << "with workers = 3 the parse stage must parse on 3 threads at "
                                 "once. "
                              << probe.describe();
  EXPECT_EQ(got.report, analyse_sequentially(logs.paths, {}));
}

// Level 4b: 50 + 33 lines in two files, batches of 8: the read stage hands on 7 + 5 items (each
// file's last batch is short: a batch never spans two files), and a malformed line's dead letter
// still names the line's index among all the lines read.
// A batch also goes on once its lines hold batch_bytes bytes, so that long lines cannot make the
// queues hold capacity x batch_lines of them.
TEST(Analyse, BatchesAreBoundedInBytesToo) {
  const Logs logs(15, {2000}, 0.0);
  const std::uint64_t bytes = fs::file_size(logs.paths[0]);
  std::vector<StageStats> stages;
  AnalyseOptions options{.workers = 2, .capacity = 2, .batch_lines = 1024, .batch_bytes = 4096};
  options.on_progress = [&stages](const std::vector<StageStats>& now) { stages = now; };
  const Analysis got = run_within(kThreads, logs.paths, options);
  EXPECT_EQ(got.report, analyse_sequentially(logs.paths, {}));
  ASSERT_EQ(stages.size(), 4U);
  // Each batch but the last holds at least 4096 bytes and at most 4096 plus one line (< 400).
  EXPECT_GE(stages[0].items_out, bytes / (4096 + 400))
      << "2000 lines (" << bytes << " bytes) with batch_bytes = 4096 and batch_lines = 1024: a "
      << "batch goes on as soon as its lines hold 4096 bytes";
  EXPECT_LE(stages[0].items_out, bytes / 4096 + 1);
  EXPECT_THROW((void)kThreads.run(logs.paths, {.batch_bytes = 0}, {}), std::invalid_argument)
      << "batch_bytes = 0";

  // The bound's edge: 40 lines of exactly 100 bytes with their '\n'. With batch_bytes = 400 a
  // batch goes on at its 4th line (400 bytes: "at least batch_bytes"), so 10 items; with 401, at
  // its 5th, so 8 items.
  const course::TempDir dir("logpipe-batch-bytes");
  const fs::path even = dir.file("even.log");
  {
    const std::string head = "198.51.100.7 - - [10/Oct/2026:13:55:36 +0000] \"GET /";
    const std::string tail = " HTTP/1.1\" 200 5 \"-\" \"test\"";
    const std::string line = head + std::string(99 - head.size() - tail.size(), 'p') + tail;
    std::ofstream out(even, std::ios::binary);
    for (int i = 0; i < 40; ++i) out << line << '\n';
  }
  for (const auto& [limit, want_items] : {std::pair<std::size_t, std::uint64_t>{400, 10},
                                          std::pair<std::size_t, std::uint64_t>{401, 8}}) {
    AnalyseOptions at{.workers = 2, .capacity = 2, .batch_lines = 1024, .batch_bytes = limit};
    at.on_progress = [&stages](const std::vector<StageStats>& now) { stages = now; };
    const Analysis exact = run_within(kThreads, {even}, at);
    EXPECT_EQ(exact.report.records, 40U);
    ASSERT_EQ(stages.size(), 4U);
    EXPECT_EQ(stages[0].items_out, want_items)
        << "40 lines of 100 bytes each (with their '\\n') and batch_bytes = " << limit
        << ": a batch goes on as soon as its lines hold at least " << limit << " bytes, so "
        << 40 / want_items << " lines a batch and " << want_items << " items";
  }
}

TEST(Analyse, LinesTravelInBatches) {
  const Logs logs(14, {50, 33}, 0.2);
  std::vector<std::uint64_t> want_sequences;
  for (const std::uint64_t line : logs.generated[0].malformed_lines) {
    want_sequences.push_back(line - 1);
  }
  for (const std::uint64_t line : logs.generated[1].malformed_lines) {
    want_sequences.push_back(50 + line - 1);
  }
  ASSERT_FALSE(want_sequences.empty());
  std::vector<StageStats> stages;
  AnalyseOptions options{.workers = 2, .capacity = 2, .batch_lines = 8};
  options.on_progress = [&stages](const std::vector<StageStats>& now) { stages = now; };
  const Analysis got = run_within(kThreads, logs.paths, options);
  EXPECT_EQ(got.report, analyse_sequentially(logs.paths, {}));
  ASSERT_EQ(stages.size(), 4U);
  EXPECT_EQ(stages[0].items_out, 12U)
      << "50 + 33 lines in batches of 8 are 7 + 5 = 12 items out of the read stage: a batch goes "
         "on when it is full or its file has ended, and never spans two files";
  EXPECT_EQ(stages[3].items_in, 12U) << "the aggregate stage gets one item per batch";
  std::vector<std::uint64_t> sequences;
  for (const DeadLetter& letter : got.run.dead_letters) {
    EXPECT_EQ(letter.stage, "parse");
    sequences.push_back(letter.sequence);
  }
  std::sort(sequences.begin(), sequences.end());
  EXPECT_EQ(sequences, want_sequences)
      << "a dead letter's sequence is the malformed line's index among all the lines read (0 for "
         "the first line of the first file), not its place in its batch";
}

TEST(Async, RunsOnTheCallingThreadAlone) {
  const Logs logs(5, {3000});
  std::mutex mutex;
  std::set<std::thread::id> threads;
  AnalyseOptions options{.workers = 4, .capacity = 8};
  options.on_record = [&](const LogRecord&) {
    const std::scoped_lock lock(mutex);
    threads.insert(std::this_thread::get_id());
  };
  std::thread::id caller;
  Background<Analysis> run([&](const std::stop_token& stop) {
    caller = std::this_thread::get_id();
    return analyse_async(logs.paths, options, stop);
  });
  ASSERT_TRUE(run.finished_within(60000ms));
  EXPECT_EQ(run.get().report, analyse_sequentially(logs.paths, {}));
  EXPECT_EQ(threads, std::set<std::thread::id>{caller})
      << "analyse_async must run every stage on the thread that called it (coroutines on one "
         "io_context): records were parsed on "
      << threads.size() << " thread(s)";
}

// The log arrives through a named pipe: the writer writes 20 lines, then waits for the first
// record before it writes the rest. An analysis that reads the whole input before parsing
// anything never sees a record in time; batches of 10 lines must go on as soon as they are full.
TEST(Analyse, StreamsItsInputInsteadOfReadingItAllFirst) {
  const course::TempDir dir("logpipe-fifo");
  const fs::path source = dir.file("source.log");
  const GeneratedLog generated = generate_log_file(source, 11, 200, 0.0);
  std::vector<std::string> lines;
  {
    std::ifstream in(source);
    for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  }
  const fs::path fifo = dir.file("live.log");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<int> records{0};
  std::atomic<bool> seen_before_the_end{false};
  std::jthread writer([&](const std::stop_token& stop) {
    int fd = -1;
    // O_NONBLOCK: opening a pipe for writing fails (ENXIO) until a reader opens it, so this
    // never blocks forever against code that does not read.
    eventually(
        [&] {
          fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
          return fd >= 0 || stop.stop_requested();
        },
        10000ms);
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, 0);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i == 20) {
        seen_before_the_end = eventually([&] { return records > 0; }, 5000ms);
      }
      if (::write(fd, lines[i].data(), lines[i].size()) < 0) break;
    }
    ::close(fd);
  });
  AnalyseOptions options{.workers = 2, .capacity = 4, .batch_lines = 10};
  options.on_record = [&](const LogRecord&) { ++records; };
  const Analysis got = run_within(kThreads, {fifo}, options, 30000ms);
  writer.join();
  EXPECT_TRUE(seen_before_the_end)
      << "20 lines had arrived but no record was parsed within 5 s: with batch_lines = 10 the "
         "read stage must hand each batch on as soon as it is full, so that memory does not grow "
         "with the log";
  EXPECT_EQ(got.report, analyse_sequentially({source}, {}));
  EXPECT_EQ(got.report.lines, generated.lines);
}

// ---- errors ----

void expect_fail_fast(const Version& version) {
  const course::TempDir dir("logpipe");
  const fs::path path = dir.file("one-bad.log");
  {
    std::ostringstream good;
    generate_log(good, 3, 40, 0.0);
    std::istringstream in(good.str());
    std::ofstream out(path);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      out << (++number == 17 ? std::string("this is not a log line") : line) << "\n";
    }
  }
  AnalyseOptions options{.workers = 2, .capacity = 4, .policy = ErrorPolicy::fail_fast};
  Background<std::string> run([&](const std::stop_token& stop) -> std::string {
    try {
      version.run({path}, options, stop);
      return "returned normally";
    } catch (const LineError& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("threw another exception type: ") + e.what();
    }
  });
  ASSERT_TRUE(run.finished_within(30000ms));
  EXPECT_EQ(run.get().rfind(path.string() + ":17: ", 0), 0U)
      << version.name << " under fail_fast with line 17 malformed must throw that line's "
      << "LineError; it " << run.get();
}

TEST(Analyse, FailFastThrowsTheMalformedLine) { expect_fail_fast(kThreads); }
TEST(Async, FailFastThrowsTheMalformedLine) { expect_fail_fast(kAsync); }

void expect_errors(const Version& version) {
  const Logs logs(9, {2000}, 0.05);
  for (const ErrorPolicy policy : {ErrorPolicy::skip, ErrorPolicy::fail_fast}) {
    AnalyseOptions options{.workers = 2, .policy = policy};
    EXPECT_THROW((void)version.run({logs.paths[0], logs.dir.file("missing.log")}, options, {}),
                 std::runtime_error)
        << version.name << ": a log that cannot be opened is an error under either policy";
  }
  for (const auto& [workers, capacity] : {std::pair{0, 8}, std::pair{2, 0}}) {
    AnalyseOptions invalid{.workers = static_cast<std::size_t>(workers),
                           .capacity = static_cast<std::size_t>(capacity)};
    EXPECT_THROW((void)version.run(logs.paths, invalid, {}), std::invalid_argument)
        << version.name << ": workers = " << workers << ", capacity = " << capacity;
  }
  if (version.batches) {
    EXPECT_THROW((void)version.run(logs.paths, {.batch_lines = 0}, {}), std::invalid_argument)
        << version.name << ": batch_lines = 0";
  }
  AnalyseOptions budget{
      .workers = 2, .capacity = 8, .policy = ErrorPolicy::skip, .error_budget = 3};
  EXPECT_THROW((void)version.run(logs.paths, budget, {}), ErrorBudgetExceeded)
      << version.name << ": about 100 malformed lines and an error budget of 3";
  budget.error_budget = 1000;
  budget.dead_letter_limit = 5;
  const Report want = analyse_sequentially(logs.paths, {});
  const Analysis capped = version.run(logs.paths, budget, {});
  EXPECT_EQ(capped.run.dead_letters.size(), 5U)
      << version.name << ": dead_letter_limit = 5 keeps 5 dead letters";
  EXPECT_EQ(capped.report.malformed, want.malformed)
      << version.name << ": Report::malformed counts every malformed line, kept or not";
  EXPECT_EQ(capped.run.failed, want.malformed) << version.name;
}

TEST(Analyse, UnreadableFilesAndTheErrorBudget) { expect_errors(kThreads); }
TEST(Async, UnreadableFilesAndTheErrorBudget) { expect_errors(kAsync); }

// The report is a function of the input, not of the schedule: the dead letters kept are the
// first dead_letter_limit malformed lines in file order, and fail_fast throws the first malformed
// line in file order, however many parse workers there are. The test holds the parse of the
// first batch (its first line is good, the next three malformed) until the other workers have
// parsed six lines of later batches, whose malformed lines then come first unless the parse
// stage's output is put back in order (an ordered stage, level 4). The async version parses on
// one thread, which the test cannot hold: for it the rule is checked without the hold.
void expect_errors_in_file_order(const Version& version) {
  const course::TempDir dir("logpipe-order");
  const fs::path path = dir.file("access.log");
  const std::string good_rest =
      R"( - - [30/Nov/2026:00:00:00 +0000] "GET /later HTTP/1.1" 200 1 "-" "t")";
  {
    std::ofstream out(path);
    out << R"(192.0.2.1 - - [30/Nov/2026:00:00:00 +0000] "GET /hold HTTP/1.1" 200 1 "-" "t")"
        << "\n";
    for (int number = 2; number <= 48; ++number) {
      const bool malformed = number <= 4 || number % 2 == 0;
      out << (malformed ? "bad line " + std::to_string(number) : "192.0.2.1" + good_rest) << "\n";
    }
  }
  std::atomic<int> later_parsed = 0;
  const bool hold = version.batches;  // the threads version
  const auto make_options = [&](ErrorPolicy policy) {
    AnalyseOptions options{
        .workers = 4, .capacity = 16, .batch_lines = 4, .policy = policy, .dead_letter_limit = 3};
    options.on_record = [&, hold](const LogRecord& record) {
      if (record.path == "/later") ++later_parsed;
      if (record.path != "/hold" || !hold) return;
      // Not synchronisation of the code under test: a parse worker held on purpose, so that
      // later batches are parsed first. Bounded, so that a run that parses one batch at a time is
      // only slowed down.
      const auto give_up = std::chrono::steady_clock::now() + course::scaled(2000ms);
      while (later_parsed < 6 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(1ms);
      }
    };
    return options;
  };
  later_parsed = 0;
  const Analysis skipped = run_within(version, {path}, make_options(ErrorPolicy::skip));
  std::vector<std::uint64_t> sequences;
  for (const DeadLetter& letter : skipped.run.dead_letters) sequences.push_back(letter.sequence);
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{1, 2, 3}))
      << version.name << ": with dead_letter_limit = 3 the dead letters are lines 2, 3 and 4, "
      << "the first three malformed lines in file order, whichever worker parsed its batch "
      << "first: keep the parse stage's output in file order (an ordered stage), and count the "
      << "dead letters where they arrive in that order";
  EXPECT_EQ(skipped.run.failed, 25U) << version.name;

  later_parsed = 0;
  Background<std::string> failing([&](const std::stop_token& stop) -> std::string {
    try {
      version.run({path}, make_options(ErrorPolicy::fail_fast), stop);
      return "returned normally";
    } catch (const LineError& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("threw another exception type: ") + e.what();
    }
  });
  ASSERT_TRUE(failing.finished_within(30000ms));
  EXPECT_EQ(failing.get().rfind(path.string() + ":2: ", 0), 0U)
      << version.name << " under fail_fast must throw the first malformed line in file order "
      << "(line 2), whichever worker failed first; it " << failing.get();
}

TEST(Analyse, DeadLettersAndTheFirstErrorFollowFileOrder) { expect_errors_in_file_order(kThreads); }
TEST(Async, DeadLettersAndTheFirstErrorFollowFileOrder) { expect_errors_in_file_order(kAsync); }

// ---- stopping ----

void expect_stop_from_another_thread(const Version& version) {
  const Logs logs(12, {100000}, 0.0);
  std::atomic<std::uint64_t> records{0};
  AnalyseOptions options{.workers = 2, .capacity = 8, .batch_lines = 4};
  options.on_record = [&](const LogRecord&) {
    if (++records % 64 == 0) std::this_thread::sleep_for(1ms);
  };
  Background<Analysis> run(
      [&](const std::stop_token& stop) { return version.run(logs.paths, options, stop); });
  ASSERT_TRUE(eventually([&] { return records >= 200 || run.finished_within(0ms); }, 10000ms));
  ASSERT_FALSE(run.finished_within(0ms))
      << version.name << " returned before the test could stop it: " << [&] {
           try {
             return "it read " + std::to_string(run.get().report.lines) + " of 100000 lines";
           } catch (const std::exception& e) {
             return std::string("it threw: ") + e.what();
           }
         }();
  run.request_stop();
  const std::uint64_t at_stop = records;
  ASSERT_TRUE(run.finished_within(5000ms))
      << version.name << " did not return within 5 s of a stop request";
  const Analysis got = run.get();
  EXPECT_EQ(got.run.outcome, Outcome::stopped);
  EXPECT_LT(got.report.lines, 100000U) << "a stopped analysis read the whole log";
  // At most every worker's item and every queue's items, each of batch_lines lines.
  const std::uint64_t bound = (2 + 2 * 8 + 2U) * (version.batches ? options.batch_lines : 1);
  EXPECT_LE(records - at_stop, bound)
      << version.name << ": " << records - at_stop << " records were parsed after the stop";
}

TEST(Analyse, AStopEndsTheRunPromptly) { expect_stop_from_another_thread(kThreads); }
TEST(Async, AStopEndsTheRunPromptly) { expect_stop_from_another_thread(kAsync); }

// A stop ends every wait of the read stage: a log that is a named pipe with no writer yet, and
// one whose writer has written three lines and then nothing more (it keeps the pipe open). Past
// the deadline the test opens and closes a writer itself, which ends a read stage that ignored
// the stop, so that the test always ends.
void expect_stop_ends_the_wait_for_a_writer(const Version& version) {
  for (const bool stalled : {false, true}) {
    const course::TempDir dir("logpipe-fifo");
    const fs::path fifo = dir.file("access.log");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::atomic<int> records = 0;
    AnalyseOptions options{.workers = 2, .capacity = 4, .batch_lines = 1};
    options.on_record = [&](const LogRecord&) { ++records; };
    int writer = -1;
    Background<Analysis> run(
        [&](const std::stop_token& stop) { return version.run({fifo}, options, stop); });
    if (stalled) {
      // Opened read-write, so that it neither waits for the reader nor is the reader itself.
      writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
      ASSERT_GE(writer, 0);
      std::ostringstream lines;
      generate_log(lines, 5, 3, 0.0);
      const std::string text = lines.str();
      ASSERT_EQ(::write(writer, text.data(), text.size()), static_cast<ssize_t>(text.size()));
      EXPECT_TRUE(eventually([&] { return records >= 3 || run.finished_within(0ms); }, 10000ms) &&
                  records >= 3)
          << version.name << ": the three lines written so far are parsed while the writer "
          << "waits (a batch of 1 line goes on at once)";
    } else {
      EXPECT_FALSE(run.finished_within(100ms))
          << version.name << " returned while its log, a named pipe, had no writer yet";
    }
    run.request_stop();
    const bool ended = run.finished_within(2000ms);
    if (!ended) {  // unblock a read stage that ignored the stop: a writer comes and goes
      const int last = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (last >= 0) ::close(last);
      if (writer >= 0) ::close(writer);
      writer = -1;
    }
    ASSERT_TRUE(run.finished_within(10000ms));
    if (writer >= 0) ::close(writer);
    EXPECT_TRUE(ended) << version.name << " did not end within 2 s of a stop request while "
                       << (stalled ? "its writer was silent" : "its named pipe had no writer")
                       << ": a read that waits must watch the stop token (read with LogReader: "
                       << "next() waits in short poll steps and sees the stop; an event loop "
                       << "uses try_next() and a timer)";
    try {
      EXPECT_EQ(run.get().run.outcome, Outcome::stopped) << version.name;
    } catch (const std::exception& e) {
      ADD_FAILURE() << version.name << " threw after a stop: " << e.what();
    }
  }
}

TEST(Analyse, AStopEndsTheWaitForAWriter) { expect_stop_ends_the_wait_for_a_writer(kThreads); }
TEST(Async, AStopEndsTheWaitForAWriter) { expect_stop_ends_the_wait_for_a_writer(kAsync); }

// A line of 32 MiB between good lines is one malformed line ("longer than 65536 bytes"), and the
// run's memory does not grow with it: the peak resident size rises by far less than the line
// (the grader runs each test in a process of its own, so the peak is this test's).
void expect_huge_line_bounded(const Version& version) {
  const course::TempDir dir("logpipe-huge");
  const fs::path path = dir.file("access.log");
  {
    std::ostringstream good;
    generate_log(good, 6, 100, 0.0);
    std::ofstream out(path, std::ios::binary);
    out << good.str();
    const std::string chunk(std::size_t{1} << 20, 'x');
    for (int i = 0; i < 32; ++i) out << chunk;
    out << "\n" << good.str();
    // The bound itself: a good line of exactly kMaxLineBytes bytes is a record, one byte more
    // is malformed.
    const auto line_of = [](std::size_t length) {
      const std::string head = "198.51.100.7 - - [10/Oct/2026:13:55:36 +0000] \"GET /";
      const std::string tail = " HTTP/1.1\" 200 5 \"-\" \"test\"";
      return head + std::string(length - head.size() - tail.size(), 'p') + tail;
    };
    out << line_of(kMaxLineBytes) << "\n" << line_of(kMaxLineBytes + 1) << "\n";
  }
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  const Analysis got = run_within(version, {path}, {.workers = 2, .capacity = 4});
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_EQ(got.report.lines, 203U) << version.name;
  EXPECT_EQ(got.report.records, 201U)
      << version.name << ": 200 ordinary lines and one of exactly kMaxLineBytes (65536) bytes, "
      << "which is within the bound";
  EXPECT_EQ(got.report.malformed, 2U)
      << version.name << ": the 32 MiB line and one of 65537 bytes are longer than kMaxLineBytes";
  ASSERT_EQ(got.run.dead_letters.size(), 2U) << version.name;
  for (const DeadLetter& dead : got.run.dead_letters) {
    EXPECT_NE(dead.error.find("longer than 65536 bytes"), std::string::npos)
        << dead.error.substr(0, 200);
  }
  const long grew_kib = after.ru_maxrss - before.ru_maxrss;
  EXPECT_LT(grew_kib, 24 * 1024)
      << version.name << ": the peak resident size grew by " << grew_kib / 1024
      << " MiB for a 32 MiB line; read with LogReader, which never holds more than "
         "kMaxLineBytes + 1 bytes of a line";
}

TEST(Analyse, AHugeLineIsMalformedAndMemoryStaysBounded) { expect_huge_line_bounded(kThreads); }
TEST(Async, AHugeLineIsMalformedAndMemoryStaysBounded) { expect_huge_line_bounded(kAsync); }

// A log truncated while it is read (a rotation with copytruncate, a careless `> access.log`) is
// an error, not a short report that looks complete.
void expect_truncation_detected(const Version& version) {
  const Logs logs(13, {150000}, 0.0);
  const fs::path path = logs.paths[0];
  std::atomic<bool> truncated = false;
  AnalyseOptions options{.workers = 2, .capacity = 4};
  options.on_record = [&](const LogRecord&) {
    if (!truncated.exchange(true)) fs::resize_file(path, 0);
  };
  try {
    const Analysis got = run_within(version, {path}, options);
    ADD_FAILURE() << version.name << " returned a report of " << got.report.lines << " lines "
                  << "from a log of 150000 lines truncated while it was read: that must be an "
                  << "error (LogReader throws one)";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Analyse, ALogTruncatedWhileItIsReadIsAnError) { expect_truncation_detected(kThreads); }
TEST(Async, ALogTruncatedWhileItIsReadIsAnError) { expect_truncation_detected(kAsync); }

TEST(Analyse, ProgressReportsEveryStage) {
  const Logs logs(13, {3000});
  std::mutex mutex;
  std::vector<std::vector<StageStats>> calls;
  course::PeakCounter at_once;
  AnalyseOptions options{
      .workers = 2, .capacity = 8, .batch_lines = 100, .progress_interval = 10ms};
  options.on_record = [](const LogRecord& record) {
    if (record.time % 50 == 0) std::this_thread::sleep_for(1ms);
  };
  options.on_progress = [&](const std::vector<StageStats>& stages) {
    const auto inside = at_once.enter();
    const std::scoped_lock lock(mutex);
    calls.push_back(stages);
  };
  const Analysis got = run_within(kThreads, logs.paths, options);
  EXPECT_EQ(at_once.peak(), 1U) << "on_progress was called from two threads at once";
  ASSERT_GE(calls.size(), 2U) << "a run of more than 30 ms with progress_interval = 10 ms should "
                                 "report progress while it runs, and once at the end";
  const auto& last = calls.back();
  ASSERT_EQ(last.size(), 4U);
  const std::vector<std::string> names{last[0].name, last[1].name, last[2].name, last[3].name};
  EXPECT_EQ(names, (std::vector<std::string>{"read", "parse", "filter", "aggregate"}));
  EXPECT_EQ(got.report.lines, 3000U);
  EXPECT_EQ(last[0].items_out, 30U) << "read: one item per batch of batch_lines = 100 lines";
  EXPECT_EQ(last[1].workers, 2U);
  EXPECT_EQ(last[1].items_in, 30U) << "parse: one item per batch";
  EXPECT_EQ(last[3].items_in, 30U) << "aggregate: one item per batch";
  for (const StageStats& stage : last) {
    EXPECT_LE(stage.peak_queue, options.capacity)
        << stage.name << ": its input queue held " << stage.peak_queue
        << " items at once, more than capacity = " << options.capacity
        << ": every queue between two stages must be bounded by it";
  }
  EXPECT_EQ(got.run.stages.size(), 4U) << "the threads version returns the stages' statistics";
}

// ---- the command ----

struct CommandRun {
  int status;
  std::string out;
  std::string err;
};

CommandRun logpipe_command(std::vector<std::string> args, const std::stop_token& stop = {}) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = run_command_line(args, out, err, stop, kThreads.run, kAsync.run);
  return {status, out.str(), err.str()};
}

TEST(Command, WritesTheReportAsJson) {
  const Logs logs(21, {2500, 1500});
  const Report want = analyse_sequentially(logs.paths, {});
  for (const char* version : {"--workers=3", "--batch=5", "--async"}) {
    const fs::path out = logs.dir.file(std::string("report") + version + ".json");
    const CommandRun run = logpipe_command(
        {logs.paths[0], logs.paths[1], version, "--out", out.string(), "--top", "3", "--quiet"});
    ASSERT_EQ(run.status, 0) << run.err;
    std::ifstream in(out);
    const nlohmann::json json = nlohmann::json::parse(in);
    EXPECT_EQ(json["lines"], want.lines) << version;
    EXPECT_EQ(json["malformed"], want.malformed);
    EXPECT_EQ(json["records"], want.records);
    EXPECT_EQ(json["bytes"], want.bytes);
    EXPECT_EQ(json["status_classes"]["5xx"], want.status_classes[5]);
    ASSERT_EQ(json["top_paths"].size(), 3U);
    const auto top = top_paths(want, 3);
    EXPECT_EQ(json["top_paths"][0]["path"], top[0].first);
    EXPECT_EQ(json["top_paths"][0]["requests"], top[0].second.requests);
    EXPECT_EQ(json["per_minute"].size(), want.per_minute.size());
    EXPECT_EQ(json["dead_letters"].size(), std::min<std::size_t>(want.malformed, 100));
  }
}

TEST(Command, AFailedOrStoppedRunWritesNothing) {
  const Logs logs(22, {3000}, 0.05);
  const fs::path out = logs.dir.file("report.json");
  const fs::path good = logs.dir.file("good.json");
  CommandRun run = logpipe_command({logs.paths[0], "--out", good.string(), "--quiet"});
  ASSERT_EQ(run.status, 0) << "a run with --policy skip (the default) should succeed: " << run.err;
  fs::remove(good);
  run = logpipe_command({logs.paths[0], "--policy", "fail-fast", "--out", out.string()});
  EXPECT_EQ(run.status, 1) << "a malformed line under --policy fail-fast";
  EXPECT_NE(run.err.find("No report written"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(out)) << "a failed run must leave no report, not even part of one";
  run = logpipe_command({logs.paths[0], "--error-budget", "3", "--out", out.string()});
  EXPECT_EQ(run.status, 1) << "about 150 malformed lines with --error-budget 3";
  EXPECT_FALSE(fs::exists(out)) << "a run over its error budget must leave no report";

  std::stop_source stop;
  stop.request_stop();
  run = logpipe_command({logs.paths[0], "--out", out.string()}, stop.get_token());
  EXPECT_EQ(run.status, 1) << "a stopped run (Ctrl-C)";
  EXPECT_FALSE(fs::exists(out)) << "a stopped run must leave no report";
  for (const auto& entry : fs::directory_iterator(logs.dir.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("."))
        << "a temporary file was left behind: " << entry.path();
  }
}

// --out is written the way every course command writes a file (course/output_file.hpp): atomic
// replacement is for regular files and new paths only. A link is followed (its target gets the
// report, the link stays a link); a FIFO and a device are written in place, never replaced by a
// regular file, which would leave a reader with nothing and, as root, break /dev/null for the
// whole machine.
TEST(Command, OutFollowsALinkAndWritesAFifoOrADeviceInPlace) {
  const Logs logs(24, {500});
  const Report want = analyse_sequentially(logs.paths, {});
  const fs::path target = logs.dir.file("real.json");
  std::ofstream(target) << "old";
  fs::create_symlink("real.json", logs.dir.file("link.json"));
  CommandRun run = logpipe_command({logs.paths[0], "--out", logs.dir.file("link.json"), "--quiet"});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_TRUE(fs::is_symlink(logs.dir.file("link.json"))) << "--out link.json: the link stays";
  std::ifstream written(target);
  const auto report = nlohmann::json::parse(written, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(!report.is_discarded() && report["lines"] == want.lines)
      << "the link's target gets the report";

  const fs::path fifo = logs.dir.file("pipe");
  course::FifoReader reader(fifo, milliseconds(20'000));
  run = logpipe_command({logs.paths[0], "--out", fifo.string(), "--quiet"});
  EXPECT_EQ(run.status, 0) << run.err;
  const std::optional<std::string> got = reader.bytes();
  ASSERT_TRUE(got.has_value() && !got->empty())
      << "the reader of --out " << fifo.string()
      << " got nothing: a FIFO is written in place, not replaced";
  const auto piped = nlohmann::json::parse(*got, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(!piped.is_discarded() && piped["lines"] == want.lines) << *got;
  EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO is still a FIFO";

  // A null device of the test's own, when it may make one (as root).
  const fs::path device = logs.dir.file("null");
  if (::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    run = logpipe_command({logs.paths[0], "--out", device.string(), "--quiet"});
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_TRUE(fs::is_character_file(device)) << "--out a device: still a device";
  }
  for (const auto& entry : fs::directory_iterator(logs.dir.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("."))
        << "a temporary file was left behind: " << entry.path();
  }
}

// A log may hold any bytes: a path and a malformed line that are not valid UTF-8 must not cost
// the report (JSON strings must be UTF-8, so they are written with U+FFFD in their place).
TEST(Command, BytesThatAreNotUtf8StillGiveAValidReport) {
  const course::TempDir dir("logpipe-utf8");
  const fs::path log = dir.file("access.log");
  {
    std::ofstream out(log, std::ios::binary);
    out << "192.0.2.1 - - [30/Nov/2026:00:00:01 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 12 \"-\" "
           "\"x\"\n"
        << "\xff\xfe not a log line\n";
  }
  const fs::path report = dir.file("report.json");
  const CommandRun run = logpipe_command({log.string(), "--out", report.string(), "--quiet"});
  ASSERT_EQ(run.status, 0) << "a path and a malformed line that are not UTF-8: " << run.err;
  std::ifstream in(report);
  nlohmann::json json;
  ASSERT_NO_THROW(json = nlohmann::json::parse(in)) << "the report must be valid JSON";
  EXPECT_EQ(json["records"], 1);
  EXPECT_EQ(json["malformed"], 1);
  ASSERT_EQ(json["top_paths"].size(), 1U);
  EXPECT_EQ(json["top_paths"][0]["path"], "/caf\xef\xbf\xbd") << "the byte 0xE9 becomes U+FFFD";
  EXPECT_EQ(json["dead_letters"].size(), 1U);
}

TEST(Command, BadArgumentsAreUsageErrors) {
  const Logs logs(23, {10});
  const CommandRun good = logpipe_command({logs.paths[0], "--quiet"});
  ASSERT_EQ(good.status, 0) << "logpipe LOG should succeed: " << good.err;
  EXPECT_NE(good.out.find("\"lines\": 10"), std::string::npos)
      << "without --out the report goes to standard output";
  for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                               {logs.paths[0], "--workers", "0"},
                                               {logs.paths[0], "--capacity", "0"},
                                               {logs.paths[0], "--batch", "0"},
                                               {logs.paths[0], "--status", "7xx"},
                                               {logs.paths[0], "--policy", "maybe"},
                                               {logs.paths[0], "--from", "yesterday"},
                                               {logs.paths[0], "--from", "2026-02-30T00:00Z"},
                                               {logs.paths[0], "--to", "2023-02-29T12:00Z"},
                                               {logs.paths[0], "--no-such-option"}}) {
    const CommandRun run = logpipe_command(args);
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    EXPECT_EQ(run.status, 2) << "logpipe" << joined;
    EXPECT_FALSE(run.err.empty()) << "logpipe" << joined << " should say what is wrong";
  }
}

// ---- an outside oracle: awk, sort and uniq -c over the same log ----

std::string shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    output.append(buffer, n);
  ::pclose(pipe);
  return output;
}

TEST(Oracle, AwkSortAndUniqAgreeWithTheReport) {
  const Logs logs(31, {20000}, 0.03);
  const std::string log = logs.paths[0].string();
  // A line counts if it has the Combined Log Format's shape, as the notes' shell one-liners check.
  const std::string valid =
      R"(/^[^ ]+ [^ ]+ [^ ]+ \[[0-9][0-9]\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/[0-9][0-9][0-9][0-9]:[0-9][0-9]:[0-9][0-9]:[0-9][0-9] [-+][0-9][0-9][0-9][0-9]\] "[^ "]+ [^ "]+ [^ "]+" [1-5][0-9][0-9] ([0-9]+|-) "[^"]*" "[^"]*"$/)";
  const std::string per_path =
      shell("awk '" + valid + " { p = $7; sub(/[?].*/, \"\", p); print p }' '" + log +
            "' | sort | uniq -c");
  const std::string totals = shell("awk '" + valid +
                                   " { n++; b += ($10 == \"-\" ? 0 : $10); c[substr($9, 1, 1)]++ } "
                                   "END { print n, b, c[1]+0, c[2]+0, c[3]+0, c[4]+0, c[5]+0 }' '" +
                                   log + "'");
  ASSERT_FALSE(per_path.empty()) << "awk, sort or uniq is missing";
  const Analysis got = run_within(kThreads, logs.paths, {.workers = 3});
  std::map<std::string, std::uint64_t> awk_requests;
  std::istringstream lines(per_path);
  for (std::uint64_t count; lines >> count;) {
    std::string path;
    lines >> path;
    awk_requests[path] = count;
  }
  std::map<std::string, std::uint64_t> our_requests;
  for (const auto& [path, totals_of_path] : got.report.paths)
    our_requests[path] = totals_of_path.requests;
  EXPECT_EQ(our_requests, awk_requests) << "requests per path differ from sort | uniq -c";
  std::istringstream words(totals);
  std::uint64_t n = 0, bytes = 0;
  std::array<std::uint64_t, 6> classes{};
  words >> n >> bytes >> classes[1] >> classes[2] >> classes[3] >> classes[4] >> classes[5];
  EXPECT_EQ(got.report.records, n);
  EXPECT_EQ(got.report.bytes, bytes);
  EXPECT_EQ(got.report.status_classes, classes);
  EXPECT_EQ(got.report.malformed, got.report.lines - n);
}

}  // namespace
}  // namespace logpipe::testing
