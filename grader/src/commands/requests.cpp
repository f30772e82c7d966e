// What `grade` grades: the implementation requests of --impl, and the manifest problems that
// building them revealed.
#include "commands.hpp"
#include "util.hpp"

namespace grader {

std::vector<ImplRequest> make_requests(const fs::path& root,
                                       const std::vector<ExerciseManifest>& manifests,
                                       const std::string& impl, bool sanitizer_builds_first) {
  std::optional<Impl> chosen = Impl::named(impl);
  if (!chosen) {
    std::error_code ec;
    if (!fs::is_directory(impl, ec)) {
      throw GraderError("--impl: '" + impl +
                        "' is neither exercises, solutions, mutant-<name>, going-further-<name> "
                        "nor a directory");
    }
    const auto dir = fs::weakly_canonical(fs::absolute(impl));
    chosen = Impl::of_submission(dir, dir.string());
  }
  std::vector<ImplRequest> requests;
  for (const auto& manifest : manifests) {
    const auto solution = root / "solutions" / manifest.id;
    switch (chosen->kind) {
      case Impl::Kind::reference:
        if (!fs::is_directory(solution / "src")) {
          throw GraderError("no reference solution for " + manifest.id + " (solutions/" +
                            manifest.id + "/src is missing)");
        }
        break;
      case Impl::Kind::mutant:
        if (!is_mutant_dir(solution / "mutants" / chosen->name)) {
          throw GraderError(manifest.id + " has no mutant '" + chosen->name + "'");
        }
        break;
      case Impl::Kind::going_further:
        if (!fs::is_directory(solution / "going-further" / chosen->name)) {
          throw GraderError(manifest.id + " has no going-further variant '" + chosen->name +
                            "' (solutions/" + manifest.id + "/going-further/)");
        }
        break;
      case Impl::Kind::student:
      case Impl::Kind::submission:
        break;
    }
    ImplRequest request;
    request.manifest = manifest;
    request.impl = *chosen;
    request.plan = RunPlan::normal_build(manifest);
    if (sanitizer_builds_first) {
      for (const auto& test : manifest.tests) {
        for (const auto build : sanitizer_builds_of(test)) request.plan.also_build(build);
      }
    }
    request.single_exercise = manifests.size() == 1;
    requests.push_back(std::move(request));
  }
  return requests;
}

std::vector<std::string> check_prepared(const fs::path& root,
                                        const std::vector<PreparedImpl>& prepared, bool strict) {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  for (const auto& p : prepared) {
    const auto file = display_path(p.request.manifest.dir / "exercise.toml", root);
    for (const auto& name : p.check.missing_in_binary) {
      errors.push_back(file + ": tests: '" + name + "' is not a test in the test binary");
    }
    if (!p.check.missing_in_manifest.empty()) {
      const auto message = file + ": the test binary has tests the manifest does not list: " +
                           join(p.check.missing_in_manifest, ", ");
      (strict ? errors : warnings).push_back(message);
    }
  }
  if (!errors.empty()) throw ManifestError(errors);
  return warnings;
}

}  // namespace grader
