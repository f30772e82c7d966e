// A reader for a FIFO that a command under test writes to (`--out pipe`): it opens the FIFO at
// once, so that the command's open finds a reader, and reads on its own thread until the writers
// have closed it or a deadline passes. So a test never hangs, even on a command that never
// writes or replaces the FIFO with a file.
#pragma once

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <string>

namespace course {

class FifoReader {
 public:
  // Creates the FIFO at `path` (mode 0600) and starts reading it. Throws std::system_error.
  FifoReader(std::filesystem::path path, std::chrono::milliseconds timeout);
  FifoReader(const FifoReader&) = delete;
  FifoReader& operator=(const FifoReader&) = delete;
  ~FifoReader();  // waits for the reading thread, which ends by the deadline

  // Everything the writers sent. Call it once the writer is done (the command has returned): it
  // opens and closes a writer of its own on the same FIFO, even if the path now names something
  // else, so that the reading ends at once instead of at the deadline. nullopt when the deadline
  // passed first.
  std::optional<std::string> bytes();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::future<std::optional<std::string>> reading_;
};

}  // namespace course
