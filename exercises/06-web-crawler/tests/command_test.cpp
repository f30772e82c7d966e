// The `crawler` command (src/command_line.cpp, given): what it prints, the JSON Lines file it
// writes atomically, its usage errors, and Ctrl-C, which must stop the crawl and keep what was
// recorded.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "course/child_process.hpp"
#include "course/fifo_reader.hpp"
#include "course/signal_stop.hpp"
#include "course/temp_dir.hpp"
#include "test_support.hpp"

namespace crawler::testing {
namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int status = -1;
  std::string out;
  std::string err;
};

CommandRun run_command(const std::vector<std::string>& args) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out;
  std::ostringstream err;
  CommandRun run;
  run.status = run_command_line(views, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

std::vector<nlohmann::json> read_lines(const fs::path& path) {
  std::ifstream file(path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(file, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::vector<std::string> files_in(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Command, WritesOneJsonLinePerPageAtomically) {
  Web web(1);
  web.page(0, "/", {web.url(0, "/a"), web.url(0, "/missing")});
  web.page(0, "/a", {});
  course::TempDir dir;
  const fs::path out = dir.path() / "pages.jsonl";
  const CommandRun run =
      run_command({web.url(0, "/"), "-j", "2", "--per-host", "2", "--depth", "2", "--timeout",
                   "5000", "--strategy", "threads", "--out", out.string(), "--quiet"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"pages.jsonl"})
      << "only the output file is left: the temporary file was renamed";
  const auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), 3U);
  std::map<std::string, nlohmann::json> by_url;
  for (const auto& line : lines) by_url[line.at("url").get<std::string>()] = line;
  const auto& index = by_url.at(web.url(0, "/"));
  EXPECT_EQ(index.at("depth"), 0);
  EXPECT_EQ(index.at("status"), 200);
  EXPECT_EQ(index.at("links"), 2);
  EXPECT_EQ(index.at("attempts"), 1);
  EXPECT_GT(index.at("bytes").get<int>(), 0);
  EXPECT_TRUE(index.at("error").is_null());
  EXPECT_TRUE(index.contains("elapsed_ms"));
  const auto& missing = by_url.at(web.url(0, "/missing"));
  EXPECT_EQ(missing.at("status"), 404);
  EXPECT_EQ(missing.at("error"), "HTTP 404");
  EXPECT_EQ(missing.at("depth"), 1);
  EXPECT_NE(run.out.find("crawled 3 pages: 2 fetched, 1 failed"), std::string::npos) << run.out;
  EXPECT_TRUE(run.err.empty()) << "--quiet prints no progress line: " << run.err;
}

TEST(Command, ShowsProgressAndASummary) {
  Web web(1);
  std::vector<std::string> links;
  for (int i = 0; i < 5; ++i) {
    links.push_back(web.url(0, "/" + std::to_string(i)));
    web.page(0, "/" + std::to_string(i), {});
  }
  web.page(0, "/", links);
  const CommandRun run = run_command({web.url(0, "/"), "--no-robots"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find("6 done, 0 queued, 0 in flight"), std::string::npos)
      << "the progress line ends with the last page: " << run.err;
  EXPECT_NE(run.out.find("crawled 6 pages: 6 fetched, 0 failed"), std::string::npos) << run.out;
  EXPECT_EQ(web.server(0).hits("/robots.txt"), 0U) << "--no-robots";
}

TEST(Command, UsageErrorsExitWithTwo) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                               {"http://127.0.0.1:9/", "-j", "0"},
                                               {"http://127.0.0.1:9/", "--strategy", "bogus"},
                                               {"http://127.0.0.1:9/", "--resolve", "x"},
                                               {"http://127.0.0.1:9/", "--depth", "-1"},
                                               {"http://127.0.0.1:9/", "--unknown"}}) {
    const CommandRun run = run_command(args);
    std::string joined;
    for (const std::string& arg : args) joined += " " + arg;
    EXPECT_EQ(run.status, 2) << "crawler" << joined << "\n" << run.err;
    EXPECT_FALSE(run.err.empty()) << "crawler" << joined << " should say what is wrong";
  }
  // And a correct command line crawls.
  Web web(1);
  web.page(0, "/", {});
  const CommandRun fine = run_command({web.url(0, "/"), "-j", "1", "--quiet"});
  EXPECT_EQ(fine.status, 0) << fine.err;
  EXPECT_NE(fine.out.find("crawled 1 pages: 1 fetched"), std::string::npos) << fine.out;
}

TEST(Command, UnwritableOutputLeavesNoFile) {
  Web web(1);
  web.page(0, "/", {});
  course::TempDir dir;
  const fs::path out = dir.path() / "missing-dir" / "pages.jsonl";
  const CommandRun run = run_command({web.url(0, "/"), "--out", out.string(), "--quiet"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("cannot write"), std::string::npos) << run.err;
  EXPECT_TRUE(files_in(dir.path()).empty());
  // The same crawl with a path that can be written: it was the path that failed, not the crawl.
  const fs::path writable = dir.path() / "pages.jsonl";
  const CommandRun fine = run_command({web.url(0, "/"), "--out", writable.string(), "--quiet"});
  EXPECT_EQ(fine.status, 0) << fine.err;
  EXPECT_EQ(read_lines(writable).size(), 1U);
}

// The command in a child process, as the `crawler` program would run, with Ctrl-C as its stop
// (the kit's SignalStop): `crawler SEED -j 4 --per-host 4 --out OUT --quiet --timeout 60000`.
// The child is forked before the test server starts its threads (ThreadSanitizer ends a child
// forked from a process with threads once the child starts threads of its own), so it reads the
// seed, known only once the server runs, from a pipe.
class CommandChild {
 public:
  explicit CommandChild(const fs::path& out)
      : pipe_(make_pipe()), process_([this, out] {
          ::close(pipe_[1]);
          std::string seed;
          char c = 0;
          while (::read(pipe_[0], &c, 1) == 1 && c != '\n') seed += c;
          const course::SignalStop ctrl_c;
          const std::vector<std::string> args = {seed,        "-j",    "4",          "--per-host",
                                                 "4",         "--out", out.string(), "--quiet",
                                                 "--timeout", "60000"};
          const std::vector<std::string_view> views(args.begin(), args.end());
          std::ostringstream ignored;
          return run_command_line(views, std::cout, ignored, ctrl_c.token());
        }) {
    ::close(pipe_[0]);
  }
  CommandChild(const CommandChild&) = delete;
  CommandChild& operator=(const CommandChild&) = delete;
  ~CommandChild() {
    if (pipe_[1] >= 0) ::close(pipe_[1]);
  }

  // Hands the child its seed: the crawl starts.
  bool start(const std::string& seed) {
    const std::string line = seed + "\n";
    const bool written =
        ::write(pipe_[1], line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(pipe_[1]);
    pipe_[1] = -1;
    return written;
  }
  void signal(int number) { process_.signal(number); }
  std::optional<int> wait_exit(std::chrono::steady_clock::time_point deadline) {
    return process_.wait_exit(deadline);
  }
  std::string error_output() { return process_.error_output(); }

 private:
  static std::array<int, 2> make_pipe() {
    std::array<int, 2> ends{-1, -1};
    if (::pipe(ends.data()) != 0) throw std::runtime_error("pipe() failed");
    return ends;
  }
  std::array<int, 2> pipe_;
  course::ChildProcess process_;
};

// Ctrl-C (SIGINT) ends the crawl: exit 1, and the pages recorded so far are in <out>.
TEST(Command, CtrlCStopsTheCrawlAndKeepsWhatWasRecorded) {
  course::TempDir dir;
  const fs::path out = dir.path() / "pages.jsonl";
  CommandChild child(out);

  Web web(1);
  std::vector<std::string> links = {web.url(0, "/quick")};
  web.page(0, "/quick", {});
  for (int i = 0; i < 10; ++i) {
    links.push_back(web.url(0, "/slow/" + std::to_string(i)));
    web.page(0, "/slow/" + std::to_string(i), {}, {.latency = 30'000ms});
  }
  web.page(0, "/", links);
  ASSERT_TRUE(child.start(web.url(0, "/")));

  ASSERT_TRUE(web.server(0).wait_for_in_flight(3, course::scaled(milliseconds(10'000))))
      << "the command never had the slow pages in flight";
  child.signal(SIGINT);
  const auto status =
      child.wait_exit(std::chrono::steady_clock::now() + course::scaled(milliseconds(5000)));
  ASSERT_TRUE(status.has_value()) << "Ctrl-C should end the crawl within 5 s";
  EXPECT_EQ(*status, 1) << "a stopped crawl exits with 1\n" << child.error_output();
  ASSERT_TRUE(fs::exists(out)) << "the pages recorded before Ctrl-C are written";
  const auto lines = read_lines(out);
  EXPECT_EQ(lines.size(), 12U) << "every scheduled page is in the file, the slow ones cancelled";
  std::size_t slow_cancelled = 0;
  for (const auto& line : lines) {
    if (line.at("url").get<std::string>().find("/slow/") != std::string::npos &&
        line.at("error").is_string() &&
        line.at("error").get<std::string>().find("cancelled") != std::string::npos) {
      ++slow_cancelled;
    }
  }
  EXPECT_EQ(slow_cancelled, 10U) << "the slow pages were in flight or queued: each is cancelled";
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"pages.jsonl"});
}

// Each record is written as its page is recorded, to "<out>.part": a crawl killed outright (no
// chance to write anything at the end) leaves the pages done so far there, each line whole, and
// no <out> (which would claim to be complete).
TEST(Command, AKillKeepsThePagesRecordedSoFar) {
  course::TempDir dir;
  const fs::path out = dir.path() / "pages.jsonl";
  const fs::path part = dir.path() / "pages.jsonl.part";
  CommandChild child(out);

  Web web(1);
  web.page(0, "/", {web.url(0, "/quick"), web.url(0, "/slow")});
  web.page(0, "/quick", {});
  web.page(0, "/slow", {}, {.latency = 60'000ms});
  ASSERT_TRUE(child.start(web.url(0, "/")));

  // Polling the file the command writes (it offers nothing to wait on): "/" and "/quick" are
  // recorded while "/slow" is still in flight.
  const auto deadline = std::chrono::steady_clock::now() + course::scaled(milliseconds(10'000));
  std::size_t lines_seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream file(part);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    lines_seen = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    if (lines_seen >= 2) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(lines_seen, 2U) << "while the crawl runs, " << part.string()
                            << " must hold a line for each page recorded so far: write each "
                               "record as it is made, not all at the end";
  child.signal(SIGKILL);
  ASSERT_TRUE(child.wait_exit(std::chrono::steady_clock::now() + course::scaled(milliseconds(5000)))
                  .has_value());
  EXPECT_FALSE(fs::exists(out)) << "a killed crawl never finished: <out> must not claim it did";
  std::set<std::string> urls;
  for (const auto& line : read_lines(part)) urls.insert(line.at("url").get<std::string>());
  EXPECT_EQ(urls, (std::set<std::string>{web.url(0, "/"), web.url(0, "/quick")}))
      << "the pages recorded before the kill are in " << part.string();
}

TEST(Command, AllowHostWidensTheScope) {
  Web web(2);
  web.page(0, "/", {web.url(1, "/")});
  web.page(1, "/", {});
  const CommandRun seeds_only = run_command({web.url(0, "/"), "--quiet", "--no-robots"});
  ASSERT_EQ(seeds_only.status, 0) << seeds_only.err;
  EXPECT_NE(seeds_only.out.find("crawled 1 pages"), std::string::npos)
      << "without --allow-host the scope is the seeds' hosts\n"
      << seeds_only.out;
  const CommandRun widened =
      run_command({web.url(0, "/"), "--quiet", "--no-robots", "--allow-host", web.host(1)});
  ASSERT_EQ(widened.status, 0) << widened.err;
  EXPECT_NE(widened.out.find("crawled 2 pages"), std::string::npos)
      << "--allow-host " << web.host(1) << " adds that host to the scope\n"
      << widened.out;
  EXPECT_EQ(web.server(1).hits("/"), 1U);
  const CommandRun bad = run_command({web.url(0, "/"), "--allow-host", "h.test/path"});
  EXPECT_EQ(bad.status, 2) << "--allow-host takes HOST or HOST:PORT";
  EXPECT_NE(bad.err.find("--allow-host"), std::string::npos) << bad.err;
}

// --out is written the way every course command writes a file (course/output_file.hpp): atomic
// replacement is for regular files and new paths only. A link is followed (its target gets the
// records, the link stays a link); a FIFO and a device are written in place, never replaced by a
// regular file, which would leave a reader with nothing and, as root, break /dev/null for the
// whole machine.
TEST(Command, OutFollowsALinkAndWritesAFifoOrADeviceInPlace) {
  Web web(1);
  web.page(0, "/", {web.url(0, "/a")});
  web.page(0, "/a", {});
  course::TempDir dir;
  std::ofstream(dir.path() / "real.jsonl") << "old\n";
  fs::create_symlink("real.jsonl", dir.path() / "link.jsonl");
  const CommandRun linked =
      run_command({web.url(0, "/"), "--quiet", "--out", (dir.path() / "link.jsonl").string()});
  EXPECT_EQ(linked.status, 0) << linked.err;
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link.jsonl")) << "--out link.jsonl: the link stays";
  std::ifstream real(dir.path() / "real.jsonl");
  const std::string records((std::istreambuf_iterator<char>(real)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(std::count(records.begin(), records.end(), '\n'), 2) << "its target gets the records";

  const fs::path fifo = dir.path() / "pipe";
  course::FifoReader reader(fifo, 20'000ms);
  const CommandRun piped = run_command({web.url(0, "/"), "--quiet", "--out", fifo.string()});
  EXPECT_EQ(piped.status, 0) << piped.err;
  const std::optional<std::string> got = reader.bytes();
  ASSERT_TRUE(got.has_value() && !got->empty())
      << "the reader of --out " << fifo.string()
      << " got nothing: a FIFO is written in place, not replaced";
  EXPECT_EQ(std::count(got->begin(), got->end(), '\n'), 2) << *got;
  EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO is still a FIFO";

  // A null device of the test's own, when it may make one (as root).
  const fs::path device = dir.path() / "null";
  if (::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    const CommandRun nulled = run_command({web.url(0, "/"), "--quiet", "--out", device.string()});
    EXPECT_EQ(nulled.status, 0) << nulled.err;
    EXPECT_TRUE(fs::is_character_file(device)) << "--out a device: still a device";
  }
  std::vector<std::string> expected{"link.jsonl", "pipe", "real.jsonl"};
  if (fs::exists(device)) expected.insert(expected.begin() + 1, "null");
  EXPECT_EQ(files_in(dir.path()), expected) << "no temporary file is left";
}

}  // namespace
}  // namespace crawler::testing
