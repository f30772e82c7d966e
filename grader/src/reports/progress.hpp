// The one-line progress display: on a terminal a single line rewritten with
// \r; otherwise plain lines, and only for steps (not for every counter tick).
// Written to stderr so that a report sent to stdout stays clean.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace grader {

class Progress {
 public:
  // interactive: rewrite one line (stderr is a terminal); quiet: print nothing.
  Progress(bool interactive, bool quiet);
  static Progress for_terminal();  // interactive when stderr is a TTY
  static Progress silent();

  // A new step: "building 00-warmup (default)...".
  void step(std::string_view text);
  // An update of the current step ("[12/40]"); shown on a terminal only.
  void update(std::string_view text);
  // A message that stays (warnings); clears the progress line first.
  void message(std::string_view text);
  // Erases the progress line (before the report is printed).
  void clear();

 private:
  void draw_locked(std::string_view text);

  std::mutex mutex_;
  bool interactive_;
  bool quiet_;
  std::string step_;
  bool line_shown_ = false;
};

}  // namespace grader
