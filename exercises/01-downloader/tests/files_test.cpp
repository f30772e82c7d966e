// Level 2: safe, unique file names and atomic writes. These tests use the given sequential
// strategy, so they only need your names.cpp and the file handling in transfer.cpp.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "course/fifo_reader.hpp"
#include "test_support.hpp"

namespace downloader::testing {
namespace {

// ---- names ----

TEST(Names, FollowTheNotesRule) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://example.com/img/cat.jpg", "cat.jpg"},
      {"http://example.com/img/cat.jpg?size=2#top", "cat.jpg"},
      {"http://example.com:8080/a/b/c/report-2024_final.pdf", "report-2024_final.pdf"},
      {"http://example.com/photos/my%20cat.jpg", "my_cat.jpg"},
      {"http://example.com/caf%C3%A9.txt", "caf__.txt"},
      {"http://example.com/dir/", "download"},
      {"http://example.com", "download"},
      {"http://example.com?page=2", "download"},
      {"http://example.com/.hidden", "hidden"},
      {"http://example.com/a/..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd"},
      {"http://example.com/50%25off.png", "50_off.png"},
      {"http://example.com/100%.txt", "100_.txt"},
      // Decoded once only: "%2541" is "%41" after one decoding ("_41" once sanitised), "A"
      // after two.
      {"http://example.com/x%2541.txt", "x_41.txt"},
      {"http://example.com/%252e%252e", "_2e_2e"},
  };
  for (const auto& [url, expected] : cases) {
    EXPECT_EQ(file_name_for(url), expected)
        << "file_name_for(\"" << url << "\"): take the last segment of the URL's path (without "
        << "query or fragment), percent-decode it, replace every byte other than letters, digits, "
        << "'.', '-' and '_' by '_', drop leading dots, and use \"download\" if nothing is left";
  }
}

TEST(Names, CollisionsAreNumberedInInputOrder) {
  const fs::path dest = "/downloads";
  const std::vector<std::string> urls = {
      "http://h/a.txt", "http://h/x/a.txt", "http://h/a-1.txt",  "http://h/y/a.txt",
      "http://h/b",     "http://h/z/b",     "http://h/c.tar.gz", "http://h/d/c.tar.gz",
      "http://h/e/",    "http://h/f/",
  };
  const std::vector<std::string> expected = {"a.txt",    "a-1.txt",   "a-1-1.txt", "a-2.txt",
                                             "b",        "b-1",       "c.tar.gz",  "c.tar-1.gz",
                                             "download", "download-1"};
  const auto paths = plan_destinations(urls, dest);
  ASSERT_EQ(paths.size(), urls.size()) << "one destination per URL";
  for (std::size_t i = 0; i < urls.size(); ++i) {
    EXPECT_EQ(paths[i], dest / expected[i])
        << "URL " << i << " (" << urls[i] << "): a name already given to an earlier URL becomes "
        << "stem-1.ext, stem-2.ext, ... (the first not given yet), in input order";
  }

  // And through download(): each URL keeps its own bytes.
  World world;
  std::vector<std::string> served;
  std::vector<std::string> routes;
  for (const std::string dir : {"one", "two", "three"}) {
    const std::string path = "/" + dir + "/same.bin";
    world.server.add({.path = path, .body_size = 500 + routes.size()});
    served.push_back(world.server.url(path));
    routes.push_back(path);
  }
  const Outcome run =
      run_download(world.server, served, world.dest, test_options(Strategy::sequential, 1));
  ASSERT_TRUE(completed(run, served.size()));
  const std::vector<std::string> names = {"same.bin", "same-1.bin", "same-2.bin"};
  for (std::size_t i = 0; i < served.size(); ++i) {
    EXPECT_EQ(run.results[i].path, world.dest / names[i]);
    EXPECT_TRUE(saved_intact(run.results[i], routes[i], 500 + i))
        << "three URLs named same.bin must give three files, none overwriting another";
  }
}

TEST(Names, LongNamesAreShortened) {
  const std::string long_stem(300, 'a');
  const std::string with_extension = file_name_for("http://h/" + long_stem + ".jpg");
  EXPECT_LE(with_extension.size(), kMaxNameBytes)
      << "file systems refuse names longer than 255 bytes; keep at most " << kMaxNameBytes;
  EXPECT_EQ(with_extension, std::string(kMaxNameBytes - 4, 'a') + ".jpg")
      << "a long name keeps its extension (up to 16 bytes) and loses the end of its stem";
  EXPECT_EQ(file_name_for("http://h/" + long_stem), std::string(kMaxNameBytes, 'a'));
  // At and just past the limit.
  const std::string at_limit(kMaxNameBytes, 'b');
  EXPECT_EQ(file_name_for("http://h/" + at_limit), at_limit)
      << "a name of exactly kMaxNameBytes (" << kMaxNameBytes << ") bytes is kept whole";
  EXPECT_EQ(file_name_for("http://h/" + at_limit + "b"), at_limit)
      << "a name of kMaxNameBytes + 1 bytes loses one byte";
  const std::string fits = std::string(kMaxNameBytes - 4, 'c') + ".jpg";
  EXPECT_EQ(file_name_for("http://h/" + fits), fits);
  EXPECT_EQ(file_name_for("http://h/c" + fits), fits)
      << "one byte too long: the stem loses a byte, the extension stays";
  const std::string extension = "." + std::string(15, 'e');
  EXPECT_EQ(file_name_for("http://h/" + long_stem + extension),
            std::string(kMaxNameBytes - extension.size(), 'a') + extension)
      << "an extension of 16 bytes, its dot included, is kept";
  EXPECT_EQ(file_name_for("http://h/" + long_stem + "." + std::string(16, 'e')),
            std::string(kMaxNameBytes, 'a'))
      << "an extension of 17 bytes, its dot included, is one byte past the 16 kept: the name "
         "is simply cut";
  EXPECT_EQ(file_name_for("http://h/" + long_stem + "." + std::string(40, 'e')),
            std::string(kMaxNameBytes, 'a'))
      << "a 40-byte \"extension\" is longer than 16 bytes: the name is simply cut";
  // The limit applies to the decoded name: 300 "%41" are 300 bytes "A".
  std::string encoded;
  for (int i = 0; i < 300; ++i) encoded += "%41";
  EXPECT_EQ(file_name_for("http://h/" + encoded), std::string(kMaxNameBytes, 'A'));

  World world;
  const std::string path = "/long/" + long_stem + ".jpg";
  world.server.add({.path = path, .body_size = 1234});
  const Outcome run = run_download(world.server, {world.server.url(path)}, world.dest,
                                   test_options(Strategy::sequential, 1));
  ASSERT_TRUE(completed(run, 1));
  EXPECT_TRUE(saved_intact(run.results[0], path, 1234));
}

// ---- hostile URL paths ----

std::string percent_decoded(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// RFC 3986's remove_dot_segments on an absolute path: what libcurl does to "/a/../b".
std::string without_dot_segments(const std::string& path) {
  std::vector<std::string> kept;
  std::size_t start = 1;
  bool trailing_slash = false;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const std::string segment = path.substr(start, end - start);
    trailing_slash = segment == "." || segment == ".." || end == path.size() - 1;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (segment != ".") {
      kept.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = 0; i < kept.size(); ++i) out += "/" + kept[i];
  if (out.empty() || (trailing_slash && out.back() != '/')) out += "/";
  return out;
}

TEST(Names, HostilePathsNeverLeaveDestDir) {
  World world;
  // Three levels below the test's directory, so that a few "../" still land inside it and get
  // noticed; deeper escapes aim at /tmp/<tag>-N, which the test checks and removes.
  const fs::path dest = world.dir.path() / "x" / "y" / "dest";
  std::random_device random;
  const std::string tag =
      "course-escape-" + std::to_string(::getpid()) + "-" + std::to_string(random());
  const std::vector<std::string> corpus = {
      "/files/../../../../../../../../tmp/" + tag + "-1",
      "/files/..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Ftmp%2F" + tag + "-2",
      "/files/%2e%2e%2f%2e%2e%2f%2e%2e%2fescaped-3.txt",
      "/files/%2Ftmp%2F" + tag + "-4",
      "/files/..%5C..%5C..%5Cescaped-5.txt",
      "/files/..",
      "/files/%2e%2e",
      "/files/.",
      "/files/%2e",
      "/files/name%00.txt",
      "/files/" + std::string(300, 'n') + ".jpg",
      "/files/",
      "/",
      "/files/%2E%2E%2F%2E%2E%2Fescaped-13",
      "/files/..%252F..%252Fescaped-14",
      "/files/tab%09and%20space%3Bsemicolon%22quote%3C%3E",
      "/files/.bashrc",
      "/files/~%2F.ssh%2Fauthorized_keys",
      "/files/a%5Cb%5C..%5C..%5C..%5Cescaped-19",
      "/files/query.bin?name=../../../escaped-20",
      "/files/%2F%2F%2Fescaped-21",
      "/files/%2E",
  };
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const std::string raw = corpus[i].substr(0, corpus[i].find('?'));
    // The server sees the path decoded, after or without the client's dot-segment removal.
    for (const std::string& seen :
         {percent_decoded(raw), percent_decoded(without_dot_segments(raw))}) {
      world.server.add({.path = seen, .body = "hostile\n"});
    }
    urls.push_back(world.server.url(corpus[i]));
  }

  const Outcome run = run_download(world.server, urls, dest, test_options(Strategy::sequential, 1));
  std::vector<std::string> escaped;
  for (std::size_t n = 1; n <= 4; ++n) {
    const fs::path target = fs::temp_directory_path() / (tag + "-" + std::to_string(n));
    if (fs::exists(target)) {
      escaped.push_back(target.string());
      fs::remove(target);
    }
  }
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_EQ(escaped, std::vector<std::string>{})
      << "downloads escaped dest_dir and wrote these files (now removed)";

  const fs::path real_dest = fs::canonical(dest);
  std::set<fs::path> seen_paths;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const Result& result = run.results[i];
    const std::string name = result.path.filename().string();
    EXPECT_EQ(result.path.parent_path(), dest)
        << "the path for " << corpus[i] << " is " << result.path << ", not a file directly in "
        << dest;
    EXPECT_TRUE(name != "." && name != ".." && !name.empty() && name.front() != '.')
        << "the name for " << corpus[i] << " is \"" << name << "\"";
    EXPECT_LE(name.size(), kMaxNameBytes + 8) << "the name for " << corpus[i] << " is too long";
    EXPECT_TRUE(seen_paths.insert(result.path).second)
        << "two URLs got the same path " << result.path;
    EXPECT_TRUE(result.ok()) << "a hostile name must be made safe, not refused: "
                             << describe(result);
    if (result.ok()) {
      EXPECT_EQ(fs::weakly_canonical(result.path).parent_path(), real_dest) << describe(result);
      EXPECT_EQ(read_file(result.path), "hostile\n") << describe(result);
    }
  }
  for (const std::string& file : files_below(world.dir.path())) {
    EXPECT_EQ(file.rfind("x/y/dest/", 0), 0U)
        << "a download wrote " << world.dir.path() / file << ", outside dest_dir " << dest
        << ". A name taken from a URL must never contain '/' or be \"..\".";
  }
}

// ---- atomic writes ----

void expect_previous_file_kept(Strategy strategy) {
  World world;
  world.server.add({.path = "/cut.bin", .body_size = 200'000, .close_mid_body = true});
  world.server.add({.path = "/broken.bin", .status = 500, .body = "server error page"});
  world.server.add({.path = "/fresh.bin", .body_size = 4000});
  write_file(world.dest / "cut.bin", "the previous cut.bin");
  write_file(world.dest / "broken.bin", "the previous broken.bin");
  write_file(world.dest / "fresh.bin", "the previous fresh.bin");
  const std::vector<std::string> urls = {
      world.server.url("/cut.bin"), world.server.url("/broken.bin"), world.server.url("/fresh.bin"),
      world.server.url("/new-but-missing.bin")};

  const Outcome run = run_download(world.server, urls, world.dest, test_options(strategy, 2));
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_FALSE(run.results[0].ok()) << describe(run.results[0]);
  EXPECT_FALSE(run.results[1].ok()) << describe(run.results[1]);
  // Compared, not printed: a file cut halfway holds kilobytes of binary.
  const std::string cut = read_file(world.dest / "cut.bin");
  EXPECT_TRUE(cut == "the previous cut.bin")
      << "the connection closed halfway through cut.bin, yet the file that was there before "
         "changed (it now holds "
      << cut.size()
      << " bytes). Write into a temporary file in dest_dir and rename() it over the destination "
         "only once the download succeeded: then a failure leaves the old file as it was.";
  EXPECT_EQ(read_file(world.dest / "broken.bin"), "the previous broken.bin")
      << "the server answered 500 for broken.bin, yet the old file changed (or went away)";
  EXPECT_TRUE(saved_intact(run.results[2], "/fresh.bin", 4000))
      << "a successful download replaces the old file";
  EXPECT_FALSE(fs::exists(world.dest / "new-but-missing.bin")) << "a 404 must leave no file";
  EXPECT_EQ(files_below(world.dest),
            (std::vector<std::string>{"broken.bin", "cut.bin", "fresh.bin"}))
      << "no temporary file may be left behind";
}

// Every name created in a directory, or renamed into or out of it, as the kernel saw it
// (inotify): read after the download, it tells where a file came from however late the test's
// own thread got a CPU.
class DirectoryEvents {
 public:
  struct Event {
    std::uint32_t mask = 0;
    std::uint32_t cookie = 0;  // pairs a rename's IN_MOVED_FROM with its IN_MOVED_TO
    std::string name;
  };

  explicit DirectoryEvents(const fs::path& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ < 0 ||
        ::inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO) < 0) {
      throw std::runtime_error("the test cannot watch " + dir.string() + " with inotify");
    }
  }
  DirectoryEvents(const DirectoryEvents&) = delete;
  DirectoryEvents& operator=(const DirectoryEvents&) = delete;
  ~DirectoryEvents() { ::close(fd_); }

  // The events queued so far.
  std::vector<Event> take() {
    std::vector<Event> events;
    alignas(inotify_event) std::array<char, std::size_t{64} * 1024> buffer{};
    for (;;) {
      const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
      if (got <= 0) return events;
      for (std::size_t at = 0; at < static_cast<std::size_t>(got);) {
        inotify_event header{};
        std::memcpy(&header, buffer.data() + at, sizeof header);
        const char* name = buffer.data() + at + sizeof header;
        events.push_back({.mask = header.mask,
                          .cookie = header.cookie,
                          .name = std::string(name, ::strnlen(name, header.len))});
        at += sizeof header + header.len;
      }
    }
  }

 private:
  int fd_;
};

// "The temporary file is in dest_dir": the final name must arrive by a rename within dest_dir,
// from a name starting with '.'. A temporary file elsewhere (in /tmp) is renamed in from another
// directory, which is atomic only when both are on one filesystem, or fails with EXDEV.
std::string where_the_file_came_from(const std::vector<DirectoryEvents::Event>& events,
                                     const std::string& final_name) {
  const auto arrived = std::find_if(events.begin(), events.end(), [&](const auto& event) {
    return event.name == final_name && (event.mask & IN_MOVED_TO) != 0;
  });
  if (arrived == events.end()) {
    return final_name +
           " was never renamed into dest_dir: it was created and written under its own name";
  }
  const auto left = std::find_if(events.begin(), events.end(), [&](const auto& event) {
    return (event.mask & IN_MOVED_FROM) != 0 && event.cookie == arrived->cookie;
  });
  if (left == events.end()) {
    return final_name +
           " was renamed into dest_dir from another directory: its temporary file was not in "
           "dest_dir";
  }
  if (!left->name.starts_with('.')) {
    return final_name + " was renamed from " + left->name + ", whose name does not start with '.'";
  }
  return "";
}

void expect_no_partial_file(Strategy strategy) {
  World world;
  fs::create_directories(world.dest);
  DirectoryEvents events(world.dest);
  constexpr std::size_t kSize = 4096;
  world.server.add({.path = "/slow.bin",
                    .body_size = kSize,
                    .trickle = course::Trickle{.chunk_bytes = 1024, .interval = 150ms}});
  const fs::path final_path = world.dest / "slow.bin";

  BackgroundDownload background(world.server, {world.server.url("/slow.bin")}, world.dest,
                                test_options(strategy, 2));
  if (!wait_for_in_flight(world.server, background, 1, 3s)) {
    const Outcome run = background.finish(5s);
    FAIL() << "the download never reached the server. " << run.exception;
  }
  // Watch the final name while the body trickles in (4 chunks, 150 ms apart): it may appear
  // only with the whole file.
  bool seen_early = false;
  std::string seen_size;
  std::set<std::string> visible_temporaries;  // other names in dest_dir that do not start with '.'
  while (!background.wait_for(5ms)) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(world.dest, error)) {
      const std::string name = entry.path().filename().string();
      if (name != "slow.bin" && !name.starts_with('.')) visible_temporaries.insert(name);
    }
    const auto size = fs::file_size(final_path, error);
    if (!error && size < kSize) {
      seen_early = true;
      seen_size = std::to_string(size);
      break;
    }
  }
  const Outcome run = background.finish(5s);
  ASSERT_TRUE(completed(run, 1));
  EXPECT_FALSE(seen_early)
      << "slow.bin existed under its final name (with " << seen_size << " of " << kSize
      << " bytes) while its body was still arriving: another program could read half a file. "
         "Download into a temporary file (its name starting with '.') in dest_dir and rename() "
         "it to slow.bin once complete.";
  EXPECT_TRUE(visible_temporaries.empty())
      << "while slow.bin was downloading, dest_dir held " << *visible_temporaries.begin()
      << ": a temporary file's name starts with '.', so that a reader listing the folder does "
         "not take it for a download";
  EXPECT_TRUE(saved_intact(run.results[0], "/slow.bin", kSize));
  EXPECT_EQ(files_below(world.dest), std::vector<std::string>{"slow.bin"});
  const std::string wrong_place = where_the_file_came_from(events.take(), "slow.bin");
  EXPECT_EQ(wrong_place, "")
      << "write the download into a temporary file in dest_dir itself, its name starting with "
         "'.', and rename() it to its final name once complete: a rename within one directory "
         "replaces the file in one step, a temporary file in /tmp may be on another filesystem";
}

// ---- a destination that is not a regular file ----

// dest_dir may already hold a symbolic link or a FIFO under a download's name (a user's link to a
// shared folder, a named pipe a program reads). The rule of every course command that writes a
// file (course/output_file.hpp): follow the link and replace its target atomically; write a
// FIFO or a device in place. Renaming over either would destroy it.
void expect_links_followed_and_fifos_written_in_place(Strategy strategy) {
  World world;
  world.server.add({.path = "/linked.bin", .body_size = 4000});
  world.server.add({.path = "/piped.bin", .body_size = 3000});
  world.server.add({.path = "/cut-linked.bin", .body_size = 200'000, .close_mid_body = true});
  fs::create_directories(world.dest);
  const fs::path elsewhere = world.dir.path() / "elsewhere";
  fs::create_directories(elsewhere);
  write_file(elsewhere / "target.bin", "the previous target");
  fs::create_symlink(elsewhere / "target.bin", world.dest / "linked.bin");
  write_file(elsewhere / "cut-target.bin", "the previous cut target");
  fs::create_symlink(elsewhere / "cut-target.bin", world.dest / "cut-linked.bin");
  course::FifoReader reader(world.dest / "piped.bin", course::scaled(10s));
  const std::vector<std::string> urls = {world.server.url("/linked.bin"),
                                         world.server.url("/piped.bin"),
                                         world.server.url("/cut-linked.bin")};

  const Outcome run = run_download(world.server, urls, world.dest, test_options(strategy, 2));
  const std::optional<std::string> piped = reader.bytes();
  ASSERT_TRUE(completed(run, urls.size()));
  EXPECT_TRUE(fs::is_symlink(world.dest / "linked.bin"))
      << "linked.bin was a symbolic link to " << elsewhere / "target.bin"
      << " and is not one any more: the rename landed on the link. Follow the link and replace "
         "its target (course::OutputFile does), as an editor's save or `sort -o` does.";
  EXPECT_TRUE(saved_intact(run.results[0], "/linked.bin", 4000));
  const std::string target = read_file(elsewhere / "target.bin");
  EXPECT_TRUE(target == course::deterministic_bytes("/linked.bin", 4000))
      << "the link's target holds " << target.size()
      << " bytes, not the 4000 downloaded: the download should land on the link's target";
  EXPECT_FALSE(run.results[2].ok()) << describe(run.results[2]);
  EXPECT_TRUE(fs::is_symlink(world.dest / "cut-linked.bin"))
      << "cut-linked.bin was a link, and its download failed halfway: the link must still be "
         "there";
  const std::string cut_target = read_file(elsewhere / "cut-target.bin");
  EXPECT_TRUE(cut_target == "the previous cut target")
      << "the download through cut-linked.bin failed halfway, yet its target changed (it now "
         "holds "
      << cut_target.size()
      << " bytes): the temporary file goes beside the target and is renamed over it only on "
         "success";
  EXPECT_EQ(files_below(elsewhere), (std::vector<std::string>{"cut-target.bin", "target.bin"}))
      << "no temporary file may be left beside the targets";
  EXPECT_TRUE(fs::is_fifo(world.dest / "piped.bin"))
      << "piped.bin was a FIFO that a program was reading, and is not one any more: a FIFO (or "
         "a device) is written in place, never replaced";
  EXPECT_TRUE(run.results[1].ok()) << describe(run.results[1]);
  EXPECT_TRUE(piped.has_value() && *piped == course::deterministic_bytes("/piped.bin", 3000))
      << "the FIFO's reader got "
      << (piped ? std::to_string(piped->size()) : "nothing by the deadline")
      << " bytes where the server sent 3000";
  std::set<std::string> names;  // the entries themselves: files_below() would follow the link
  for (const auto& entry : fs::directory_iterator(world.dest)) {
    names.insert(entry.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"cut-linked.bin", "linked.bin", "piped.bin"}))
      << "no temporary file may be left behind";
}

TEST(Files, FailedDownloadLeavesThePreviousFileAlone) {
  expect_previous_file_kept(Strategy::sequential);
}
TEST(Files, NoPartialFileIsVisibleWhileDownloading) {
  expect_no_partial_file(Strategy::sequential);
}

// The same rule under every concurrent strategy: each writes through a temporary file too.
TEST(ThreadPerUrl, WritesAtomically) {
  expect_previous_file_kept(Strategy::thread_per_url);
  expect_no_partial_file(Strategy::thread_per_url);
}
TEST(ThreadPool, WritesAtomically) {
  expect_previous_file_kept(Strategy::thread_pool);
  expect_no_partial_file(Strategy::thread_pool);
}
TEST(Async, WritesAtomically) {
  expect_previous_file_kept(Strategy::async);
  expect_no_partial_file(Strategy::async);
}

// A FIFO whose reader does not read: the download fills the pipe's buffer, then waits for the
// reader to take bytes. A stop request must end that wait too, not only the transfer's and the
// back-off's (every wait observes a stop).
void expect_stop_ends_the_wait_for_a_fifos_reader(Strategy strategy) {
  World world;
  world.server.add({.path = "/stuck.bin", .body_size = std::size_t{1} << 20});
  const fs::path fifo = world.dest / "stuck.bin";
  fs::create_directories(world.dest);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opened, never read. Non-blocking, so that the open does not wait for a writer.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  const int capacity = ::fcntl(reader, F_GETPIPE_SZ);
  const auto buffer_full = [&] {
    int queued = 0;
    return ::ioctl(reader, FIONREAD, &queued) == 0 && queued + 4096 > capacity;
  };
  BackgroundDownload background(world.server, {world.server.url("/stuck.bin")}, world.dest,
                                test_options(strategy, 1));
  const auto give_up = std::chrono::steady_clock::now() + course::scaled(10s);
  while (!buffer_full() && !background.wait_for(5ms) &&
         std::chrono::steady_clock::now() < give_up) {
  }
  if (!buffer_full()) {
    ::close(reader);
    const Outcome run = background.finish(10s);
    FAIL() << "the download never filled the FIFO's buffer (" << capacity
           << " bytes) for a reader that does not read; "
           << (run.results.empty() ? run.exception : describe(run.results[0]));
  }
  // The buffer is full: the download now waits for the reader.
  const auto stop_time = std::chrono::steady_clock::now();
  background.request_stop();
  const bool stopped = background.wait_for(1s);
  const auto took = std::chrono::steady_clock::now() - stop_time;
  ::close(reader);  // a download that ignored the stop now fails on a FIFO without a reader
  const Outcome run = background.finish(20s);
  ASSERT_TRUE(completed(run, 1));
  EXPECT_TRUE(stopped) << "a stop request while the download waited for the FIFO's reader (its "
                       << capacity << "-byte buffer full) took " << course::format_duration(took)
                       << " to end it: that wait must observe the stop as the transfer's does "
                          "(course::OutputFileOptions::stop, or poll() the descriptor in slices "
                          "and check the stop between them)";
  EXPECT_FALSE(run.results[0].ok()) << describe(run.results[0]);
  EXPECT_TRUE(fs::is_fifo(fifo)) << "stuck.bin was a FIFO and must stay one";
}

TEST(Files, ALinkIsFollowedAndAFifoIsWrittenInPlace) {
  expect_links_followed_and_fifos_written_in_place(Strategy::sequential);
}
TEST(ThreadPerUrl, FollowsLinksAndWritesFifosInPlace) {
  expect_links_followed_and_fifos_written_in_place(Strategy::thread_per_url);
}
TEST(ThreadPool, FollowsLinksAndWritesFifosInPlace) {
  expect_links_followed_and_fifos_written_in_place(Strategy::thread_pool);
}
TEST(Async, FollowsLinksAndWritesFifosInPlace) {
  expect_links_followed_and_fifos_written_in_place(Strategy::async);
}
TEST(Processes, FollowsLinksAndWritesFifosInPlace) {
  expect_links_followed_and_fifos_written_in_place(Strategy::processes);
}

TEST(Files, AStopEndsTheWaitForAFifosReader) {
  expect_stop_ends_the_wait_for_a_fifos_reader(Strategy::sequential);
}
TEST(ThreadPerUrl, AStopEndsTheWaitForAFifosReader) {
  expect_stop_ends_the_wait_for_a_fifos_reader(Strategy::thread_per_url);
}
TEST(ThreadPool, AStopEndsTheWaitForAFifosReader) {
  expect_stop_ends_the_wait_for_a_fifos_reader(Strategy::thread_pool);
}
TEST(Async, AStopEndsTheWaitForAFifosReader) {
  expect_stop_ends_the_wait_for_a_fifos_reader(Strategy::async);
}
TEST(Processes, AStopEndsTheWaitForAFifosReader) {
  expect_stop_ends_the_wait_for_a_fifos_reader(Strategy::processes);
}

}  // namespace
}  // namespace downloader::testing
