#include "commands/standing.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "course/util.hpp"

namespace grader {

namespace {

fs::path standing_file(const fs::path& root) {
  return root / "build" / "reports" / "standing.json";
}

std::map<std::string, std::string> prints_of(const ExerciseManifest& manifest) {
  std::map<std::string, std::string> prints;
  for (const auto& file : manifest.student_files)
    prints[file] = sha256_of_file(manifest.dir / file).value_or("");
  return prints;
}

nlohmann::json to_json(const Standing& s) {
  return {{"score", s.score}, {"max_score", s.max_score}, {"passed", s.passed},
          {"tests", s.tests}, {"graded_at", s.graded_at}, {"sanitizers", s.sanitizers},
          {"files", s.files}};
}

std::optional<Standing> from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    Standing s;
    s.score = j.at("score").get<double>();
    s.max_score = j.at("max_score").get<double>();
    s.passed = j.at("passed").get<int>();
    s.tests = j.at("tests").get<int>();
    s.graded_at = j.at("graded_at").get<std::int64_t>();
    s.sanitizers = j.at("sanitizers").get<bool>();
    s.files = j.at("files").get<std::map<std::string, std::string>>();
    return s;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json read_document(const fs::path& root) {
  const auto text = try_read_file(standing_file(root));
  if (!text) return nlohmann::json::object();
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

}  // namespace

std::map<std::string, Standing> load_standings(const fs::path& root) {
  std::map<std::string, Standing> standings;
  const auto document = read_document(root);
  for (const auto& [id, entry] : document.items()) {
    if (auto standing = from_json(entry)) standings[id] = std::move(*standing);
  }
  return standings;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void record_standings(const fs::path& root, const GradeReport& report, bool sanitizers) {
  auto doc = read_document(root);
  bool changed = false;
  const auto now = unix_now();
  for (const auto& exercise : report.exercises) {
    if (exercise.implementation != "exercises" || exercise.not_started) continue;
    Standing s;
    s.score = exercise.score();
    s.max_score = exercise.max_score();
    s.tests = static_cast<int>(exercise.tests.size());
    for (const auto& test : exercise.tests) s.passed += test.passed() ? 1 : 0;
    s.graded_at = now;
    s.sanitizers = sanitizers;
    s.files = prints_of(exercise.manifest);
    doc[exercise.manifest.id] = to_json(s);
    changed = true;
  }
  if (changed) write_file(standing_file(root), doc.dump(2) + "\n");
}

ExerciseState state_of(const ExerciseManifest& manifest, const SkeletonPrints& prints,
                       const std::optional<Standing>& standing) {
  if (!is_started(manifest, prints, std::nullopt, false)) return ExerciseState::not_started;
  if (!standing) return ExerciseState::not_graded;
  if (standing->files != prints_of(manifest)) return ExerciseState::edited;
  // Full marks count as done only with the sanitizer runs (watch mode skips them).
  const bool full = standing->score >= standing->max_score && standing->sanitizers;
  return full ? ExerciseState::done : ExerciseState::graded;
}

std::string_view describe(ExerciseState state) {
  switch (state) {
    case ExerciseState::not_started:
      return "not started";
    case ExerciseState::not_graded:
      return "started, not graded";
    case ExerciseState::edited:
      return "edited since graded";
    case ExerciseState::graded:
      return "graded";
    case ExerciseState::done:
      return "done";
  }
  return "";
}

}  // namespace grader
