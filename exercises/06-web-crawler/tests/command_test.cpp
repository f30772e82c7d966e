// The `crawler` command (src/command_line.cpp, given): what it prints, the JSON Lines file it
// writes atomically, its usage errors, and Ctrl-C, which must stop the crawl and keep what was
// recorded.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "course/child_process.hpp"
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
}

// The command runs in a child process, as the `crawler` program would, and gets SIGINT. The child
// is forked before the test server starts its threads (ThreadSanitizer ends a child forked from a
// process with threads once the child starts threads of its own), and reads the seed from a pipe.
TEST(Command, CtrlCStopsTheCrawlAndKeepsWhatWasRecorded) {
  course::TempDir dir;
  const fs::path out = dir.path() / "pages.jsonl";
  int seed_pipe[2];
  ASSERT_EQ(::pipe(seed_pipe), 0);
  course::ChildProcess child([&] {
    ::close(seed_pipe[1]);
    std::string seed;
    char c = 0;
    while (::read(seed_pipe[0], &c, 1) == 1 && c != '\n') seed += c;
    const course::SignalStop ctrl_c;
    const std::vector<std::string> args = {seed,    "-j",         "4",       "--per-host", "4",
                                           "--out", out.string(), "--quiet", "--timeout",  "60000"};
    const std::vector<std::string_view> views(args.begin(), args.end());
    std::ostringstream ignored;
    return run_command_line(views, std::cout, ignored, ctrl_c.token());
  });
  ::close(seed_pipe[0]);

  Web web(1);
  std::vector<std::string> links = {web.url(0, "/quick")};
  web.page(0, "/quick", {});
  for (int i = 0; i < 10; ++i) {
    links.push_back(web.url(0, "/slow/" + std::to_string(i)));
    web.page(0, "/slow/" + std::to_string(i), {}, {.latency = 30'000ms});
  }
  web.page(0, "/", links);
  const std::string seed = web.url(0, "/") + "\n";
  ASSERT_EQ(::write(seed_pipe[1], seed.data(), seed.size()), static_cast<ssize_t>(seed.size()));
  ::close(seed_pipe[1]);

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

}  // namespace
}  // namespace crawler::testing
