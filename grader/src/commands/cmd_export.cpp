// `export-student DIR`: the student repository, which is the course without
// solutions/ and mutants.
#include <iostream>

#include "commands/commands.hpp"
#include "course/util.hpp"
#include "running/process.hpp"

namespace grader {

namespace {

// The course's own CI (selfcheck needs the solutions) and the Gradescope
// packaging stay with the instructors; the autograding workflow goes along.
bool is_course_ci(const fs::path& relative) {
  const auto text = relative.generic_string();
  return text == ".github/workflows/ci.yml" || text.starts_with(".ci/") || text == ".ci" ||
         text.starts_with("grader/gradescope");
}

bool is_instructor_only(const fs::path& relative) {
  auto it = relative.begin();
  if (it == relative.end()) return true;
  if (*it == "solutions" || *it == "build" || *it == ".git") return true;
  if (is_course_ci(relative)) return true;
  for (; it != relative.end(); ++it) {
    if (*it == "mutants") return true;
  }
  return false;
}

// Files git knows about (tracked, plus new files that .gitignore does not
// exclude); nullopt when the root is not a git work tree.
std::optional<std::vector<fs::path>> git_files(const fs::path& root) {
  if (!find_executable("git")) return std::nullopt;
  ProcessSpec spec;
  spec.argv = {"git", "-C",       root.string(), "ls-files",
               "-z",  "--cached", "--others",    "--exclude-standard"};
  const auto result = run_process(spec);
  if (!result.succeeded()) return std::nullopt;
  std::vector<fs::path> files;
  std::size_t start = 0;
  const auto& out = result.output;
  while (start < out.size()) {
    auto end = out.find('\0', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) files.emplace_back(out.substr(start, end - start));
    start = end + 1;
  }
  if (files.empty()) return std::nullopt;
  return files;
}

std::vector<fs::path> walked_files(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto relative = it->path().lexically_relative(root);
    if (it->is_directory(ec) && is_instructor_only(relative)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) || it->is_symlink(ec)) files.push_back(relative);
  }
  return files;
}

void copy_one(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  if (fs::is_symlink(from)) {
    fs::copy_symlink(from, to);
    return;
  }
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::status(from).permissions());
}

// The autograding workflow grades against the repository's first commit, so
// the export starts its history with the pristine course.
bool commit_starter_code(const fs::path& dest) {
  if (!find_executable("git")) return false;
  const std::vector<std::vector<std::string>> steps = {
      {"git", "-C", dest.string(), "init", "-q"},
      {"git", "-C", dest.string(), "add", "-A"},
      {"git", "-C", dest.string(), "-c", "user.name=Course", "-c", "user.email=course@localhost",
       "commit", "-q", "-m", "Starter code"},
  };
  for (const auto& argv : steps) {
    ProcessSpec spec;
    spec.argv = argv;
    if (!run_process(spec).succeeded()) return false;
  }
  return true;
}

}  // namespace

int cmd_export_student(const fs::path& root, const fs::path& dest_arg) {
  const auto dest = fs::weakly_canonical(fs::absolute(dest_arg));
  std::error_code ec;
  if (fs::exists(dest, ec) && !fs::is_empty(dest, ec)) {
    throw GraderError(dest.string() + " is not empty; export into a new directory");
  }
  if (is_inside(dest, root) && !is_inside(dest, root / "build")) {
    throw GraderError("export into a directory outside the course (or under build/)");
  }
  const auto listed = git_files(root);
  const auto files = listed ? *listed : walked_files(root);
  std::size_t copied = 0;
  for (const auto& relative : files) {
    if (is_instructor_only(relative)) continue;
    const auto from = root / relative;
    if (!fs::exists(fs::symlink_status(from))) continue;  // deleted but still tracked
    copy_one(from, dest / relative);
    ++copied;
  }
  const bool committed = commit_starter_code(dest);
  std::cout << "exported " << copied << " files to " << dest.string()
            << " (without solutions/ and mutants" << (listed ? "; files known to git" : "")
            << ").\n"
            << (committed ? "It is a git repository whose first commit, \"Starter code\", is what "
                            "the autograding workflow grades against.\n"
                          : "")
            << "Students grade with `grader/grader grade`; selfcheck needs the solutions and "
               "stays with the instructors.\n";
  return 0;
}

}  // namespace grader
