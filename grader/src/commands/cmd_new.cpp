// `new NAME`: scaffolds exercises/NN-NAME and solutions/NN-NAME from the
// templates in grader/templates/, which instructors may edit.
//
// grader/templates/exercise/ is copied to exercises/NN-NAME/ and
// grader/templates/solution/ to solutions/NN-NAME/. In file names and
// contents, {{id}} becomes "NN-NAME", {{name}} the C++ identifier form of NAME,
// {{Name}} its CamelCase form, {{number}} "NN" and {{order}} NN as an integer;
// a trailing ".tmpl" is dropped (grader/templates/README.md).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <regex>

#include "commands/commands.hpp"
#include "course/manifest.hpp"
#include "course/skeletons.hpp"
#include "course/util.hpp"

namespace grader {

namespace {

struct Names {
  std::string id;      // "05-bounded-queue"
  std::string name;    // "bounded_queue"
  std::string camel;   // "BoundedQueue"
  std::string number;  // "05"
  std::string order;   // "5"
};

std::string substitute(std::string text, const Names& names) {
  const std::pair<std::string, std::string> replacements[] = {{"{{id}}", names.id},
                                                              {"{{name}}", names.name},
                                                              {"{{Name}}", names.camel},
                                                              {"{{number}}", names.number},
                                                              {"{{order}}", names.order}};
  for (const auto& [from, to] : replacements) {
    std::size_t pos = 0;
    while ((pos = text.find(from, pos)) != std::string::npos) {
      text.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  return text;
}

int next_number(const fs::path& root) {
  int next = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "exercises", ec)) {
    const auto name = entry.path().filename().string();
    if (name.size() > 2 && std::isdigit(static_cast<unsigned char>(name[0])) &&
        std::isdigit(static_cast<unsigned char>(name[1])) && name[2] == '-') {
      next = std::max(next, std::stoi(name.substr(0, 2)) + 1);
    }
  }
  return next;
}

Names names_for(const fs::path& root, const std::string& name) {
  static const std::regex valid(R"([a-z][a-z0-9]*([_-][a-z0-9]+)*)");
  if (!std::regex_match(name, valid)) {
    throw GraderError("'" + name +
                      "' is not a valid exercise name: use lower-case letters, digits, and - or _ "
                      "between words (for example bounded-queue)");
  }
  const int number = next_number(root);
  if (number > 99) throw GraderError("no free exercise number left (00 to 99 are taken)");
  Names names;
  names.number = (number < 10 ? "0" : "") + std::to_string(number);
  names.order = std::to_string(number);
  names.id = names.number + "-" + name;
  names.name = name;
  std::replace(names.name.begin(), names.name.end(), '-', '_');
  bool upper = true;
  for (char c : names.name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    names.camel += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  for (const auto& dir : exercise_dirs(root)) {
    const auto existing = dir.filename().string();
    if (existing.substr(existing.find('-') + 1) == name) {
      throw GraderError("an exercise named '" + name + "' exists already: " + existing);
    }
  }
  return names;
}

// Every file below `from`, with its destination below `to`.
std::vector<std::pair<fs::path, fs::path>> plan_copy(const fs::path& from, const fs::path& to,
                                                     const Names& names) {
  std::vector<std::pair<fs::path, fs::path>> plan;
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    if (!entry.is_regular_file()) continue;
    auto relative = substitute(entry.path().lexically_relative(from).generic_string(), names);
    if (relative.size() > 5 && relative.ends_with(".tmpl")) relative.resize(relative.size() - 5);
    plan.emplace_back(entry.path(), to / relative);
  }
  std::sort(plan.begin(), plan.end());
  return plan;
}

}  // namespace

int cmd_new(const fs::path& root, const std::string& name) {
  const auto templates = root / "grader" / "templates";
  if (!fs::is_directory(templates / "exercise") || !fs::is_directory(templates / "solution")) {
    throw GraderError("the templates are missing: " + display_path(templates, root) +
                      "/exercise and /solution");
  }
  const auto names = names_for(root, name);
  const auto exercise_dir = root / "exercises" / names.id;
  const auto solution_dir = root / "solutions" / names.id;
  if (fs::exists(exercise_dir) || fs::exists(solution_dir)) {
    throw GraderError(names.id + " exists already");
  }
  auto plan = plan_copy(templates / "exercise", exercise_dir, names);
  const auto solution_plan = plan_copy(templates / "solution", solution_dir, names);
  plan.insert(plan.end(), solution_plan.begin(), solution_plan.end());
  for (const auto& [from, to] : plan) {
    write_file(to, substitute(read_file(from), names));
    std::cout << "  created " << display_path(to, root) << "\n";
  }
  // The new skeleton is not started work: grade must know its files.
  write_file(root / kSkeletonPrintsFile, render_skeleton_prints(root, load_all_manifests(root)));
  std::cout << "  updated " << kSkeletonPrintsFile << "\n";
  std::cout << "Scaffolded " << names.id << ". Next: write the statement in "
            << display_path(exercise_dir / "README.md", root) << ", then check it with "
            << "`grader/grader selfcheck " << names.id << "`.\n";
  return 0;
}

}  // namespace grader
