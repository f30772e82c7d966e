// `list` (each exercise's state and last grade) and `hint`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>

#include "building/staging.hpp"
#include "commands/commands.hpp"
#include "commands/standing.hpp"
#include "course/manifest.hpp"
#include "course/skeletons.hpp"
#include "course/util.hpp"

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

// "2 h ago", for the last grade's column.
std::string time_ago(std::int64_t then) {
  const auto now = unix_now();
  const auto seconds = std::max<std::int64_t>(0, now - then);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return std::to_string(seconds / 60) + " min ago";
  if (seconds < 86400) return std::to_string(seconds / 3600) + " h ago";
  const auto days = seconds / 86400;
  return days == 1 ? "yesterday" : std::to_string(days) + " days ago";
}

std::string last_grade(const std::optional<Standing>& standing) {
  if (!standing) return "-";
  std::string text = format_number(standing->score) + "/" + format_number(standing->max_score) +
                     " (" + std::to_string(standing->passed) + "/" +
                     std::to_string(standing->tests) + " tests), " + time_ago(standing->graded_at);
  if (!standing->sanitizers) text += ", without sanitizers";
  return text;
}

// With --impl DIR: the exercises and where each student file would be taken from.
int list_submission(const fs::path& root, const std::vector<ExerciseManifest>& manifests,
                    const fs::path& submission) {
  std::size_t id_width = 8;
  for (const auto& m : manifests) id_width = std::max(id_width, m.id.size());
  std::cout << pad("exercise", id_width) << "  points  student files\n";
  for (const auto& m : manifests) {
    std::cout << pad(m.id, id_width) << "  " << pad(format_number(total_points(m)), 6) << "  "
              << file_sources(root, m, submission, manifests.size() == 1) << "\n";
  }
  return 0;
}

}  // namespace

int cmd_list(const fs::path& root, const std::optional<std::string>& impl) {
  const auto manifests = load_all_manifests(root);
  if (impl) {
    const auto chosen = Impl::parse(*impl);
    if (chosen.submission) return list_submission(root, manifests, *chosen.submission);
  }
  const auto prints = load_skeleton_prints(root);
  const auto standings = load_standings(root);
  std::size_t id_width = 8;
  for (const auto& m : manifests) id_width = std::max(id_width, m.id.size());
  constexpr std::size_t kStateWidth = 19;
  std::cout << pad("exercise", id_width) << "  points  " << pad("state", kStateWidth)
            << "  last grade\n";
  double total = 0;
  double earned = 0;
  std::optional<std::string> next;
  for (const auto& m : manifests) {
    total += total_points(m);
    const auto found = standings.find(m.id);
    const auto standing =
        found == standings.end() ? std::nullopt : std::optional<Standing>(found->second);
    const auto state = state_of(m, prints, standing);
    if (standing && state != ExerciseState::edited) earned += standing->score;
    if (!next && state != ExerciseState::done) next = m.id;
    std::cout << pad(m.id, id_width) << "  " << pad(format_number(total_points(m)), 6) << "  "
              << pad(std::string(describe(state)), kStateWidth) << "  " << last_grade(standing)
              << "\n";
  }
  std::cout << manifests.size() << " exercise" << (manifests.size() == 1 ? "" : "s") << ", "
            << format_number(earned) << " of " << format_number(total)
            << " points as last graded (an exercise edited since counts when graded again).\n";
  if (next) {
    std::cout << "Next: `grader/grader grade " << *next
              << "` (statement: " << display_path(root / "exercises" / *next / "README.md", root)
              << ").\n";
  } else {
    std::cout << "Every exercise is done, with sanitizers. Well done.\n";
  }
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
