// `list` and `hint`.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "manifest.hpp"
#include "staging.hpp"
#include "util.hpp"

namespace grader {

namespace {

double total_points(const ExerciseManifest& manifest) {
  double total = 0;
  for (const auto& test : manifest.tests) total += test.points;
  return total;
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// With --impl DIR: where each student file would be taken from.
std::string file_sources(const fs::path& root, const ExerciseManifest& manifest,
                         const fs::path& submission, bool single) {
  std::vector<std::string> parts;
  for (const auto& file : manifest.student_files) {
    const auto found = find_submission_file(submission, manifest, file, single);
    parts.push_back(file + " <- " +
                    (found ? display_path(*found, root) : std::string("(missing: skeleton)")));
  }
  return join(parts, ", ");
}

fs::path hints_seen_file(const fs::path& root) { return root / "build" / "hints-seen.json"; }

nlohmann::json read_hints_seen(const fs::path& root) {
  const auto text = try_read_file(hints_seen_file(root));
  if (!text) return nlohmann::json::object();
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

}  // namespace

int cmd_list(const fs::path& root, const std::optional<std::string>& impl) {
  const auto manifests = load_all_manifests(root);
  std::optional<fs::path> submission;
  if (impl && !Impl::named(*impl)) {
    if (!fs::is_directory(*impl)) throw GraderError("--impl: '" + *impl + "' is not a directory");
    submission = fs::weakly_canonical(fs::absolute(*impl));
  }
  std::size_t id_width = 8;
  std::size_t title_width = 5;
  for (const auto& m : manifests) {
    id_width = std::max(id_width, m.id.size());
    title_width = std::max(title_width, m.title.size());
  }
  std::cout << pad("exercise", id_width) << "  " << pad("title", title_width) << "  "
            << "points  student files\n";
  double total = 0;
  for (const auto& m : manifests) {
    const auto points = total_points(m);
    total += points;
    const auto files = submission ? file_sources(root, m, *submission, manifests.size() == 1)
                                  : join(m.student_files, ", ");
    std::cout << pad(m.id, id_width) << "  " << pad(m.title, title_width) << "  "
              << pad(format_number(points), 6) << "  " << files << "\n";
  }
  std::cout << manifests.size() << " exercise" << (manifests.size() == 1 ? "" : "s") << ", "
            << format_number(total)
            << " points. Grade one with `grader/grader grade <exercise>`.\n";
  return 0;
}

int cmd_hint(const fs::path& root, const std::string& exercise, std::optional<int> level) {
  const auto manifest = select_exercises(load_all_manifests(root), {exercise}).front();
  const auto statement = display_path(manifest.dir / "README.md", root);
  const int count = static_cast<int>(manifest.hints.size());
  if (count == 0) {
    std::cout << manifest.id << " has no hints. The statement is in " << statement << ".\n";
    return 0;
  }
  auto seen = read_hints_seen(root);
  const auto entry = seen.find(manifest.id);
  const int seen_level = entry != seen.end() && entry->is_number_integer() ? entry->get<int>() : 0;
  int shown = level.value_or(std::min(seen_level + 1, count));
  if (shown < 1 || shown > count) {
    throw GraderError(manifest.id + " has hints 1 to " + std::to_string(count) +
                      "; there is no hint " + std::to_string(shown));
  }
  std::cout << "Hint " << shown << " of " << count << " for " << manifest.id << " — "
            << manifest.title << ":\n\n"
            << manifest.hints[static_cast<std::size_t>(shown - 1)] << "\n\n";
  if (shown < count) {
    std::cout << "Still stuck? `grader/grader hint " << manifest.id << "` shows hint " << shown + 1
              << ".\n";
  } else {
    std::cout << "That was the last hint.\n";
  }
  std::cout << "The statement is in " << statement << ".\n";
  seen[manifest.id] = std::max(seen_level, shown);
  write_file(hints_seen_file(root), seen.dump(2) + "\n");
  return 0;
}

}  // namespace grader
