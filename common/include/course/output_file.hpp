// Writing a command's output file without ever destroying what the path names: the rule of every
// course command that writes a file (01's downloads, 02's images, 06's and 07's --out).
//
//  - A regular file, or a path that does not exist yet: written atomically. The bytes go to a
//    temporary file beside it, and commit() flushes that file to the disk and renames it over the
//    path in one step: a reader sees the old file or the new one, never half of one. Without
//    commit() (an error, a stop, an exception) the temporary file is removed and the path is left
//    as it was; a crash or a kill leaves the temporary file, with what was written so far. A file
//    that replaces another keeps the other's permissions; a new one gets 0666 less the umask.
//  - A symbolic link: followed, through every link, to its final target. The temporary file goes
//    beside the target and the rename lands on the target, so the link stays a link (as with
//    `sort -o` or an editor's save).
//  - A character or block device or a FIFO: written in place, as `sort -o` and `curl -o` do
//    (`--out /dev/null`, `--out /dev/stdout`, a named pipe a reader waits on). No temporary file,
//    no rename: renaming over a device or a FIFO would destroy it. Opening a FIFO waits for its
//    reader; a stop request ends that wait, and a write blocked by a reader that does not read.
//  - A directory or a socket: refused with an OutputError.
//
// Every error is an OutputError: "cannot write 'PATH': REASON".
#pragma once

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>

namespace course {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OutputFileOptions {
  // How the temporary file, in the target's directory, is named. Empty: a unique hidden name,
  // ".<file name>-XXXXXX.part", so that two writers never share one. Otherwise the target's name
  // and this suffix (06 uses ".part": "pages.jsonl.part"), where a user finds what a killed run
  // had written.
  std::string temporary_suffix{};
  // Ends the wait for a FIFO's reader and a write that a reader is not taking.
  std::stop_token stop{};
  // Ends those waits too when it returns true; asked every 20 ms while they last. For a process
  // that learns of a stop from a pipe, not a stop_token (01's worker processes). Empty: never.
  std::function<bool()> cancelled{};
};

class OutputFile {
 public:
  // Opens the temporary file, or the device or FIFO itself. Throws OutputError.
  explicit OutputFile(const std::filesystem::path& path, const OutputFileOptions& options = {});
  ~OutputFile();  // without commit(): closes, and removes the temporary file
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Writes every byte, or throws OutputError (a full disk, a reader gone, a stop request).
  void write(std::string_view bytes);
  // Flushes and closes; then, when atomic, renames the temporary file over the target. Throws
  // OutputError, after which the temporary file is gone and the target untouched. Once only.
  void commit();

  // Whether the output goes through a temporary file (false: a device or a FIFO).
  bool atomic() const { return !temporary_.empty(); }
  // Where the bytes land: the path, or the final target of the link it is.
  const std::filesystem::path& target() const { return target_; }
  // The temporary file (empty when written in place).
  const std::filesystem::path& temporary() const { return temporary_; }

 private:
  void open_in_place();
  void open_temporary(const OutputFileOptions& options);
  void discard() noexcept;
  [[noreturn]] void fail(const std::string& detail, int error) const;

  std::filesystem::path path_;       // as given, for messages
  std::filesystem::path target_;     // the links followed
  std::filesystem::path temporary_;  // empty when written in place
  [[nodiscard]] bool stop_requested() const;

  std::stop_token stop_;
  std::function<bool()> cancelled_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole output at once: OutputFile, write, commit.
void write_output_file(const std::filesystem::path& path, std::string_view contents,
                       const OutputFileOptions& options = {});

}  // namespace course
