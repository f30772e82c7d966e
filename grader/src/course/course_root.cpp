// find_root: where the course is, for every command.
#include "commands/commands.hpp"
#include "course/util.hpp"

namespace grader {

namespace {

bool is_course_root(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "exercises", ec) && fs::is_directory(dir / "grader", ec);
}

std::optional<fs::path> search_upwards(fs::path dir) {
  for (; !dir.empty(); dir = dir.parent_path()) {
    if (is_course_root(dir)) return dir;
    if (dir == dir.parent_path()) break;
  }
  return std::nullopt;
}

}  // namespace

fs::path find_root(const std::optional<fs::path>& given) {
  if (given) {
    auto root = fs::weakly_canonical(fs::absolute(*given));
    if (!is_course_root(root)) {
      throw GraderError(root.string() +
                        " is not the course's root (no exercises/ and grader/ there)");
    }
    return root;
  }
  if (auto found = search_upwards(fs::current_path())) return *found;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (auto found = search_upwards(exe.parent_path())) return *found;
  }
  throw GraderError(
      "cannot find the course's root; run grader/grader from the course, or pass --root");
}

}  // namespace grader
