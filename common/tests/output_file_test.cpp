// course::OutputFile: regular files and new paths are replaced atomically, links are followed,
// devices and FIFOs are written in place and never replaced, and every wait ends on a stop.
#include "course/output_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "course/fifo_reader.hpp"
#include "course/temp_dir.hpp"

namespace course {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Every entry of a directory, names only, sorted.
std::vector<std::string> entries(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

mode_t mode_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::lstat(path.c_str(), &status), 0) << path;
  return status.st_mode;
}

TEST(OutputFile, ANewFileAppearsWholeOnlyAtCommit) {
  const TempDir dir;
  const fs::path out = dir.file("report.json");
  OutputFile file(out);
  EXPECT_TRUE(file.atomic());
  EXPECT_EQ(file.temporary().parent_path(), dir.path()) << "the temporary file goes beside it";
  EXPECT_TRUE(file.temporary().filename().string().starts_with(".report.json-"))
      << file.temporary();
  file.write("{\"a\": ");
  EXPECT_FALSE(fs::exists(out)) << "nothing at the path before commit()";
  file.write("1}\n");
  file.commit();
  EXPECT_EQ(read_all(out), "{\"a\": 1}\n");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"report.json"}) << "no temporary left";
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  EXPECT_EQ(mode_of(out) & 07777, 0666 & ~umask_now) << "a new file: 0666 less the umask";
}

TEST(OutputFile, ARegularFileIsReplacedInOneStepAndKeepsItsPermissions) {
  const TempDir dir;
  const fs::path out = dir.file("data.txt");
  write_all(out, "old contents");
  ASSERT_EQ(::chmod(out.c_str(), 0640), 0);
  std::ifstream old_reader(out, std::ios::binary);  // opened before: keeps the old file
  {
    OutputFile file(out);
    file.write("new contents");
    EXPECT_EQ(read_all(out), "old contents") << "the old file stays whole until commit()";
    file.commit();
  }
  EXPECT_EQ(read_all(out), "new contents");
  EXPECT_EQ(mode_of(out) & 07777, 0640U);
  std::string seen;
  std::getline(old_reader, seen);
  EXPECT_EQ(seen, "old contents") << "a reader of the old file still reads the old file";
}

TEST(OutputFile, WithoutCommitThePathIsLeftAsItWasAndNoTemporaryRemains) {
  const TempDir dir;
  write_all(dir.file("kept.txt"), "kept");
  {
    OutputFile replaced(dir.file("kept.txt"));
    replaced.write("lost");
    OutputFile created(dir.file("never.txt"));
    created.write("lost");
  }  // an error, a stop, an exception: no commit()
  EXPECT_EQ(read_all(dir.file("kept.txt")), "kept");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"kept.txt"});
}

TEST(OutputFile, ASymlinkIsFollowedAndStaysALink) {
  const TempDir dir;
  fs::create_directories(dir.path() / "real");
  write_all(dir.path() / "real" / "target.txt", "old");
  // link1 -> sub/link2 -> ../real/target.txt: relative links, resolved from their own folder.
  fs::create_directories(dir.path() / "sub");
  fs::create_symlink("../real/target.txt", dir.path() / "sub" / "link2");
  fs::create_symlink("sub/link2", dir.file("link1"));
  OutputFile file(dir.file("link1"));
  EXPECT_EQ(file.target(), fs::canonical(dir.path() / "real" / "target.txt"));
  EXPECT_EQ(file.temporary().parent_path(), fs::canonical(dir.path() / "real"))
      << "the temporary file goes beside the link's target, so that the rename lands there";
  file.write("new");
  file.commit();
  EXPECT_TRUE(fs::is_symlink(dir.file("link1")));
  EXPECT_TRUE(fs::is_symlink(dir.path() / "sub" / "link2"));
  EXPECT_EQ(read_all(dir.path() / "real" / "target.txt"), "new");
}

TEST(OutputFile, ADanglingLinkGetsItsTargetCreated) {
  const TempDir dir;
  fs::create_symlink("made.txt", dir.file("link"));
  write_output_file(dir.file("link"), "made");
  EXPECT_TRUE(fs::is_symlink(dir.file("link")));
  EXPECT_EQ(read_all(dir.file("made.txt")), "made");
}

TEST(OutputFile, ALinkLoopIsAnError) {
  const TempDir dir;
  fs::create_symlink("b", dir.file("a"));
  fs::create_symlink("a", dir.file("b"));
  EXPECT_THROW(OutputFile{dir.file("a")}, OutputError);
}

TEST(OutputFile, ADeviceIsWrittenInPlaceNeverReplaced) {
  const TempDir dir;
  // A null device of the test's own when it may make one (root), so that a helper that renamed
  // over it would break only this test's copy; else a link to /dev/null.
  fs::path device = dir.file("null");
  if (::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    fs::create_symlink("/dev/null", device);
  }
  OutputFile file(device);
  EXPECT_FALSE(file.atomic()) << "a device is written in place";
  file.write(std::string(100'000, 'x'));
  file.commit();
  EXPECT_TRUE(S_ISCHR(mode_of(fs::canonical(device)))) << "still a character device";
  EXPECT_TRUE(S_ISCHR(mode_of("/dev/null")));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"null"});
  OutputFile standard_output("/dev/stdout");
  EXPECT_FALSE(standard_output.atomic()) << "/dev/stdout is written in place, whatever it is";
}

TEST(OutputFile, AFifoIsWrittenInPlaceOnceItsReaderComes) {
  const TempDir dir;
  const fs::path fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string payload(300'000, 'p');  // more than a pipe holds: the writer waits for reads
  auto writer = std::async(std::launch::async, [&] {
    OutputFile file(fifo);  // waits for the reader
    file.write(payload);
    file.commit();
    return file.atomic();
  });
  std::string got;
  {
    std::ifstream reader(fifo, std::ios::binary);
    std::ostringstream bytes;
    bytes << reader.rdbuf();
    got = bytes.str();
  }
  ASSERT_EQ(writer.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(writer.get()) << "a FIFO is written in place";
  EXPECT_EQ(got.size(), payload.size()) << "the reader gets every byte";
  EXPECT_TRUE(S_ISFIFO(mode_of(fifo))) << "the FIFO is still a FIFO";
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"pipe"});
}

TEST(OutputFile, AStopEndsTheWaitForAFifosReader) {
  const TempDir dir;
  const fs::path fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::stop_source stop;
  auto writer = std::async(std::launch::async, [&] {
    try {
      OutputFile file(fifo, {.stop = stop.get_token()});
      return std::string("opened without a reader");
    } catch (const OutputError& error) {
      return std::string(error.what());
    }
  });
  EXPECT_EQ(writer.wait_for(100ms), std::future_status::timeout) << "it waits for a reader";
  stop.request_stop();
  ASSERT_EQ(writer.wait_for(5s), std::future_status::ready) << "a stop request ends the wait";
  EXPECT_NE(writer.get().find("stopped"), std::string::npos);
}

TEST(OutputFile, ACancelledPredicateEndsTheWaitForAFifosReaderToo) {
  const TempDir dir;
  const fs::path fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> cancelled{false};
  auto writer = std::async(std::launch::async, [&] {
    try {
      OutputFile file(fifo, {.cancelled = [&] { return cancelled.load(); }});
      return std::string("opened without a reader");
    } catch (const OutputError& error) {
      return std::string(error.what());
    }
  });
  EXPECT_EQ(writer.wait_for(100ms), std::future_status::timeout) << "it waits for a reader";
  cancelled = true;
  ASSERT_EQ(writer.wait_for(5s), std::future_status::ready) << "`cancelled` ends the wait";
  EXPECT_NE(writer.get().find("stopped"), std::string::npos);
}

TEST(OutputFile, AStopEndsAWriteThatTheReaderDoesNotTake) {
  const TempDir dir;
  const fs::path fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // a reader that never reads
  ASSERT_GE(reader, 0);
  std::stop_source stop;
  auto writer = std::async(std::launch::async, [&] {
    try {
      OutputFile file(fifo, {.stop = stop.get_token()});
      file.write(std::string(1 << 20, 'w'));
      return std::string("wrote 1 MiB into a pipe nobody reads");
    } catch (const OutputError& error) {
      return std::string(error.what());
    }
  });
  EXPECT_EQ(writer.wait_for(100ms), std::future_status::timeout) << "the write waits";
  stop.request_stop();
  ASSERT_EQ(writer.wait_for(5s), std::future_status::ready) << "a stop request ends the write";
  EXPECT_NE(writer.get().find("stopped"), std::string::npos);
  ::close(reader);
}

TEST(OutputFile, AReaderThatGoesAwayIsAnErrorNotTheEndOfTheProcess) {
  const TempDir dir;
  const fs::path fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  OutputFile file(fifo);
  ::close(reader);
  try {
    file.write("anyone there?");
    ADD_FAILURE() << "a write to a FIFO whose reader has gone succeeded";
  } catch (const OutputError& error) {
    EXPECT_NE(std::string(error.what()).find("reader has gone"), std::string::npos) << error.what();
  }
}

TEST(OutputFile, DirectoriesSocketsAndMissingFoldersAreErrorsThatNameThePath) {
  const TempDir dir;
  const auto message = [](const fs::path& path) {
    try {
      OutputFile file(path);
      return std::string("no error");
    } catch (const OutputError& error) {
      return std::string(error.what());
    }
  };
  EXPECT_NE(message(dir.path()).find("a directory"), std::string::npos);
  const fs::path socket_path = dir.file("sock");
  const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  EXPECT_NE(message(socket_path).find("a socket"), std::string::npos);
  ::close(listener);
  const std::string missing = message(dir.path() / "no" / "such" / "folder.txt");
  EXPECT_NE(missing.find("folder.txt"), std::string::npos) << missing;
  EXPECT_NE(missing.find("No such file"), std::string::npos) << missing;
  EXPECT_EQ(message(""), "cannot write an empty path");
}

TEST(OutputFile, AFixedTemporarySuffixIsUsedAndALinkPlantedThereIsNotFollowed) {
  const TempDir dir;
  {
    OutputFile file(dir.file("pages.jsonl"), {.temporary_suffix = ".part"});
    EXPECT_EQ(file.temporary(), dir.file("pages.jsonl.part"));
    file.write("{}\n");
    EXPECT_EQ(read_all(dir.file("pages.jsonl.part")), "{}\n") << "written as it goes";
    file.commit();
  }
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"pages.jsonl"});
  write_all(dir.file("victim.txt"), "precious");
  fs::create_symlink("victim.txt", dir.file("out.part"));
  EXPECT_THROW(OutputFile(dir.file("out"), {.temporary_suffix = ".part"}), OutputError);
  EXPECT_EQ(read_all(dir.file("victim.txt")), "precious");
}

TEST(FifoReader, GetsWhatAWriterSentOrNothingByTheDeadline) {
  const TempDir dir;
  FifoReader reader(dir.file("pipe"), 5s);
  write_output_file(dir.file("pipe"), "through the pipe");
  EXPECT_EQ(reader.bytes(), std::optional<std::string>("through the pipe"));
  FifoReader unused(dir.file("unused"), 60s);
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(unused.bytes(), std::optional<std::string>("")) << "no writer came: nothing";
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s) << "bytes() ends the reading at once";
  FifoReader replaced(dir.file("replaced"), 60s);
  fs::remove(dir.file("replaced"));
  write_all(dir.file("replaced"), "a file where the FIFO was");
  EXPECT_EQ(replaced.bytes(), std::optional<std::string>("")) << "the FIFO was replaced: nothing";
}

}  // namespace
}  // namespace course
