#include "course/skeletons.hpp"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>
#include <sstream>

#include "building/staging.hpp"
#include "course/util.hpp"

namespace grader {

namespace {

struct DigestDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

std::string relative_name(const ExerciseManifest& manifest, const std::string& file) {
  return "exercises/" + manifest.id + "/" + file;
}

}  // namespace

std::optional<std::string> sha256_of_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  const std::unique_ptr<EVP_MD_CTX, DigestDeleter> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    return std::nullopt;
  }
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > 0 && EVP_DigestUpdate(context.get(), buffer.data(), got) != 1) return std::nullopt;
  }
  if (in.bad()) return std::nullopt;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1) return std::nullopt;
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4U];
    hex += kHex[digest[i] & 0xFU];
  }
  return hex;
}

SkeletonPrints load_skeleton_prints(const fs::path& root) {
  SkeletonPrints prints;
  const auto text = try_read_file(root / kSkeletonPrintsFile);
  if (!text) return prints;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    // sha256sum's format: the hex, two spaces (or a space and '*'), the name.
    const auto space = line.find(' ');
    if (space == std::string::npos || space + 2 > line.size()) continue;
    prints[line.substr(space + 2)] = line.substr(0, space);
  }
  return prints;
}

std::string render_skeleton_prints(const fs::path& root,
                                   const std::vector<ExerciseManifest>& manifests) {
  std::string text;
  for (const auto& manifest : manifests) {
    for (const auto& file : manifest.student_files) {
      const auto print = sha256_of_file(manifest.dir / file);
      if (!print) throw GraderError("cannot read " + display_path(manifest.dir / file, root));
      text += *print + "  " + relative_name(manifest, file) + "\n";
    }
  }
  return text;
}

std::vector<std::string> check_skeleton_prints(const fs::path& root,
                                               const std::vector<ExerciseManifest>& manifests) {
  const std::string fix =
      "run `grader/grader skeletons --write` after changing a skeleton, and commit the file";
  const auto wanted = render_skeleton_prints(root, manifests);
  const auto have = try_read_file(root / kSkeletonPrintsFile);
  if (!have) return {std::string(kSkeletonPrintsFile) + " is missing: " + fix};
  if (*have == wanted) return {};
  std::vector<std::string> problems;
  const SkeletonPrints recorded = load_skeleton_prints(root);
  for (const auto& manifest : manifests) {
    for (const auto& file : manifest.student_files) {
      const auto name = relative_name(manifest, file);
      const auto found = recorded.find(name);
      const auto print = sha256_of_file(manifest.dir / file);
      if (found == recorded.end()) {
        problems.push_back(std::string(kSkeletonPrintsFile) + " has no line for " + name + ": " +
                           fix);
      } else if (found->second != print) {
        problems.push_back(std::string(kSkeletonPrintsFile) + ": " + name +
                           " is not the skeleton it records: " + fix);
      }
    }
  }
  if (problems.empty()) {
    problems.push_back(std::string(kSkeletonPrintsFile) +
                       " lists files that are no student file, or in another order: " + fix);
  }
  return problems;
}

bool is_started(const ExerciseManifest& manifest, const SkeletonPrints& prints,
                const std::optional<fs::path>& submission, bool single_exercise) {
  for (const auto& file : manifest.student_files) {
    const auto recorded = prints.find(relative_name(manifest, file));
    if (recorded == prints.end()) return true;
    std::optional<fs::path> source = manifest.dir / file;
    if (submission) {
      source = find_submission_file(*submission, manifest, file, single_exercise);
      if (!source) continue;  // missing from the submission: the skeleton's
    }
    std::error_code ec;
    // A symbolic link (or anything but a regular file) is for the staging to refuse, loudly.
    if (!fs::is_regular_file(fs::symlink_status(*source, ec))) return true;
    if (sha256_of_file(*source) != recorded->second) return true;
  }
  return false;
}

}  // namespace grader
