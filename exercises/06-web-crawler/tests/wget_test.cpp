// An outside oracle: GNU Wget crawls the same synthetic site to the same depth, and the two sets
// of pages must be equal. Wget is a real crawler written by other people, so this checks the
// course's own oracle (Web::reachable) and the reference together. 0 points, tag `oracle`: it
// runs when wget is installed (grader/install-deps --extras installs it) and says so when not.
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "course/child_process.hpp"
#include "course/temp_dir.hpp"
#include "test_support.hpp"

namespace crawler::testing {
namespace {

std::optional<std::string> find_program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

// The URLs wget --spider fetched, from its --no-verbose log on stderr: one line per page,
// "2026-11-30 17:40:31 URL:http://127.0.0.1:34991/f.html [127/127] -> ...".
std::set<std::string> wget_pages(const std::string& program, const std::string& seed, int depth,
                                 const std::filesystem::path& dir) {
  course::ChildProcess child([&] {
    const std::string level = std::to_string(depth);
    ::execl(program.c_str(), program.c_str(), "--recursive", "--spider", "--no-verbose", "--level",
            level.c_str(), "--tries=1", "--timeout=10", "--no-proxy", "--directory-prefix",
            dir.c_str(), seed.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  const auto status =
      child.wait_exit(std::chrono::steady_clock::now() + course::scaled(milliseconds(60'000)));
  EXPECT_TRUE(status.has_value()) << "wget did not finish within 60 s";
  const std::string log = child.error_output();
  std::set<std::string> pages;
  std::istringstream in(log);
  for (std::string text; std::getline(in, text);) {
    // (No std::regex: g++ 12 warns inside <regex> under ASan, and warnings are errors in CI.)
    const std::size_t at = text.find("URL:");
    if (at == std::string::npos) continue;
    std::istringstream fields(text.substr(at + 4));
    std::string url;
    std::string sizes;
    if (fields >> url >> sizes && sizes.starts_with("[") &&
        url.find("/robots.txt") == std::string::npos) {
      pages.insert(url);
    }
  }
  if (pages.empty()) ADD_FAILURE() << "wget reported no page; its log:\n" << log;
  return pages;
}

TEST(Wget, SameSiteSameDepthSamePages) {
  const auto wget = find_program("wget");
  if (!wget) GTEST_SKIP() << "wget is not installed (grader/install-deps --extras installs it)";
  Web web(1);
  const auto u = [&](const std::string& path) { return web.url(0, path); };
  web.robots(0, "User-agent: *\nDisallow: /private\n");
  web.page_with(0, "/",
                {{"a.html", u("/a.html")},
                 {"./b.html#part", u("/b.html")},
                 {"/dir/c.html", u("/dir/c.html")},
                 {"/private/x.html", u("/private/x.html")},
                 {"mailto:someone@site.test", ""}});
  web.page_with(0, "/a.html", {{"/", u("/")}, {"a.html", u("/a.html")}, {"d.html", u("/d.html")}});
  web.page_with(0, "/b.html", {{"d.html", u("/d.html")}, {"dir/../e.html", u("/e.html")}});
  web.page_with(0, "/dir/c.html",
                {{"../f.html", u("/f.html")}, {"deeper/g.html", u("/dir/deeper/g.html")}});
  web.page_with(0, "/d.html", {{"/deep/1.html", u("/deep/1.html")}});
  web.page_with(0, "/e.html", {});
  web.page_with(0, "/f.html", {{"/deep/2.html", u("/deep/2.html")}});
  web.page_with(0, "/dir/deeper/g.html", {{"/deep/3.html", u("/deep/3.html")}});
  for (int i = 1; i <= 3; ++i) {
    web.page_with(
        0, "/deep/" + std::to_string(i) + ".html",
        {{"/deeper/" + std::to_string(i) + ".html", u("/deeper/" + std::to_string(i) + ".html")}});
    web.page_with(0, "/deeper/" + std::to_string(i) + ".html", {});
  }
  web.page_with(0, "/private/x.html", {});

  course::TempDir dir("wget");
  const std::set<std::string> by_wget = wget_pages(*wget, u("/"), 3, dir.path());
  for (std::size_t i = 0; i < web.hosts(); ++i) web.server(i).reset_counters();

  Options options = test_options(Strategy::threads, 4);
  options.max_depth = 3;
  const CrawlRun run = run_crawl(web, {u("/")}, options);
  ASSERT_TRUE(completed(run));
  std::set<std::string> by_us;
  for (const PageRecord& page : run.result.pages) {
    if (page.ok()) by_us.insert(page.url);
  }
  EXPECT_EQ(by_us, by_wget) << "the pages fetched by the crawler (left) and by wget --recursive "
                               "--spider --level 3 (right) differ";
  const auto expected = web.reachable({u("/")}, 3, {web.host(0)});
  std::set<std::string> oracle;
  for (const auto& [url, depth] : expected) {
    if (url.find("/private/") == std::string::npos) oracle.insert(url);
  }
  EXPECT_EQ(by_wget, oracle) << "wget and the tests' breadth-first search disagree";
}

}  // namespace
}  // namespace crawler::testing
