#include "building/staging.hpp"

#include <algorithm>
#include <set>

#include "building/submission_check.hpp"
#include "course/util.hpp"

namespace grader {

std::optional<fs::path> find_submission_file(const fs::path& submission,
                                             const ExerciseManifest& manifest,
                                             const std::string& file, bool single_exercise) {
  std::vector<fs::path> candidates = {submission / "exercises" / manifest.id / file,
                                      submission / manifest.id / file};
  if (single_exercise) candidates.push_back(submission / file);
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

bool sync_file(const fs::path& source, const fs::path& target) {
  if (files_equal(source, target)) return false;
  fs::create_directories(target.parent_path());
  write_file(target, read_file(source));
  return true;
}

namespace {

// Files CMake copied from the skeleton at configure time, or a previous
// course version left, must follow the course: only student files come from
// the submission.
void sync_course_files(const ExerciseManifest& manifest, const fs::path& staging_dir,
                       const std::set<std::string>& student_files) {
  std::error_code ec;
  if (!fs::is_directory(staging_dir, ec)) return;
  std::vector<fs::path> present;
  for (auto it = fs::recursive_directory_iterator(staging_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) present.push_back(it->path());
  }
  for (const auto& path : present) {
    const auto rel = path.lexically_relative(staging_dir).generic_string();
    if (student_files.contains(rel)) continue;
    const auto course_copy = manifest.dir / rel;
    if (fs::is_regular_file(course_copy, ec)) {
      sync_file(course_copy, path);
    } else {
      fs::remove(path, ec);
    }
  }
  // Files of the skeleton's src/ that the staging directory lacks.
  const auto skeleton_src = manifest.dir / "src";
  for (auto it = fs::recursive_directory_iterator(skeleton_src, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const auto rel = it->path().lexically_relative(manifest.dir).generic_string();
    if (!student_files.contains(rel) && !fs::exists(staging_dir / rel)) {
      sync_file(it->path(), staging_dir / rel);
    }
  }
}

}  // namespace

StagingResult stage_submission(const fs::path& submission, const ExerciseManifest& manifest,
                               const fs::path& staging_dir, bool header_only,
                               bool single_exercise) {
  StagingResult result;
  const std::set<std::string> student_files(manifest.student_files.begin(),
                                            manifest.student_files.end());
  for (const auto& file : manifest.student_files) {
    StagedFile staged;
    staged.file = file;
    staged.staged = staging_dir / file;
    if (auto found = find_submission_file(submission, manifest, file, single_exercise)) {
      staged.source = *found;
    } else {
      staged.source = manifest.dir / file;
      staged.from_skeleton = true;
      result.warnings.push_back("the submission has no " + file + " for " + manifest.id +
                                "; using the skeleton's");
    }
    if (!staged.from_skeleton) {
      const auto problems = check_sources({{staged.source, submission, staged.source.string()}},
                                          header_only, manifest.allowed_calls);
      if (!problems.empty()) {
        result.errors.insert(result.errors.end(), problems.begin(), problems.end());
        result.files.push_back(staged);
        continue;
      }
    }
    staged.copied = sync_file(staged.source, staged.staged);
    result.files.push_back(staged);
  }
  sync_course_files(manifest, staging_dir, student_files);
  return result;
}

}  // namespace grader
