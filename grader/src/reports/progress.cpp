#include "reports/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "course/util.hpp"

namespace grader {

namespace {

std::size_t terminal_width() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 10) return size.ws_col;
  return 80;
}

}  // namespace

Progress::Progress(bool interactive, bool quiet) : interactive_(interactive), quiet_(quiet) {}

Progress Progress::for_terminal() { return Progress(stderr_is_tty(), false); }

Progress Progress::silent() { return Progress(false, true); }

void Progress::draw_locked(std::string_view text) {
  std::string line(text);
  const auto width = terminal_width() - 1;
  if (line.size() > width) line = line.substr(0, width);
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  line_shown_ = true;
}

void Progress::step(std::string_view text) {
  std::scoped_lock lock(mutex_);
  if (quiet_) return;
  step_ = text;
  if (interactive_) {
    draw_locked(step_);
  } else {
    std::fprintf(stderr, "%s\n", step_.c_str());
  }
}

void Progress::update(std::string_view text) {
  std::scoped_lock lock(mutex_);
  if (quiet_ || !interactive_) return;
  draw_locked(step_ + " " + std::string(text));
}

void Progress::message(std::string_view text) {
  std::scoped_lock lock(mutex_);
  if (quiet_) return;
  if (interactive_ && line_shown_) std::fprintf(stderr, "\r\033[K");
  line_shown_ = false;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data());
  if (interactive_ && !step_.empty()) draw_locked(step_);
}

void Progress::clear() {
  std::scoped_lock lock(mutex_);
  if (interactive_ && line_shown_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  line_shown_ = false;
  step_.clear();
}

}  // namespace grader
