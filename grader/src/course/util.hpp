// Small helpers shared by the grader's modules: strings, files, temporary
// directories, terminals and the Ctrl-C flag.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace grader {

namespace fs = std::filesystem;

// An error that ends the command with a message and an exit code (2: grading
// could not run).
class GraderError : public std::runtime_error {
 public:
  explicit GraderError(const std::string& message, int exit_code = 2)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// ---- strings ----
[[nodiscard]] std::string trim(std::string_view s);
[[nodiscard]] std::vector<std::string> split_lines(std::string_view text);
[[nodiscard]] std::string join(const std::vector<std::string>& parts, std::string_view sep);
[[nodiscard]] bool contains(std::string_view haystack, std::string_view needle);
// "1.5 s", "120 ms"
// Numbers printed without trailing zeros: 2, 2.5, 0.25.
[[nodiscard]] std::string format_number(double value);
// Keeps at most max_lines lines, adding a note when some were dropped.
[[nodiscard]] std::string cap_lines(std::string_view text, std::size_t max_lines);

// ---- files ----
[[nodiscard]] std::string read_file(const fs::path& path);
[[nodiscard]] std::optional<std::string> try_read_file(const fs::path& path);
// Writes via a temporary file and a rename, so readers never see half a file.
void write_file(const fs::path& path, std::string_view content);
[[nodiscard]] bool files_equal(const fs::path& a, const fs::path& b);
// The path relative to base when it lies inside base, else the path unchanged.
[[nodiscard]] std::string display_path(const fs::path& path, const fs::path& base);
[[nodiscard]] bool is_inside(const fs::path& path, const fs::path& dir);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "course-grader-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---- environment and terminal ----
[[nodiscard]] std::optional<std::string> get_env(const char* name);
[[nodiscard]] bool stdout_is_tty();
[[nodiscard]] bool stderr_is_tty();
// Colour only on a TTY and when NO_COLOR is unset (https://no-color.org).
[[nodiscard]] bool use_color();
// CI=true or COURSE_WERROR=1: warnings become errors in the builds the grader configures.
[[nodiscard]] bool werror_requested();
// The COURSE_TIME_SCALE the grader was started with (1 when unset or invalid).
[[nodiscard]] double base_time_scale();

// ---- Ctrl-C ----
// Installs SIGINT/SIGTERM handlers that set a flag and make interrupt_fd()
// readable, so loops that poll file descriptors wake up at once.
void install_interrupt_handlers();
[[nodiscard]] bool interrupted();
[[nodiscard]] int interrupt_fd();  // -1 until install_interrupt_handlers()
// Waits up to `seconds` or until interrupted; returns false when interrupted.
bool wait_unless_interrupted(double seconds);

}  // namespace grader
