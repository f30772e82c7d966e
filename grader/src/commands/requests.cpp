// What `grade` grades: the implementation requests of --impl, and the manifest problems that
// building them revealed.
#include "commands/commands.hpp"
#include "course/util.hpp"

namespace grader {

std::vector<ImplRequest> make_requests(const fs::path& root,
                                       const std::vector<ExerciseManifest>& manifests,
                                       const Impl& impl, const PlanOptions& options) {
  std::vector<ImplRequest> requests;
  for (const auto& manifest : manifests) {
    const auto solution = root / "solutions" / manifest.id;
    switch (impl.kind) {
      case Impl::Kind::reference:
        if (!fs::is_directory(solution / "src")) {
          throw GraderError("no reference solution for " + manifest.id + " (solutions/" +
                            manifest.id + "/src is missing)");
        }
        break;
      case Impl::Kind::mutant:
        if (!is_mutant_dir(solution / "mutants" / impl.name)) {
          throw GraderError(manifest.id + " has no mutant '" + impl.name + "'");
        }
        break;
      case Impl::Kind::going_further:
        if (!fs::is_directory(solution / "going-further" / impl.name)) {
          throw GraderError(manifest.id + " has no going-further variant '" + impl.name +
                            "' (solutions/" + manifest.id + "/going-further/)");
        }
        break;
      case Impl::Kind::student:
      case Impl::Kind::submission:
        break;
    }
    ImplRequest request;
    request.manifest = manifest;
    request.impl = impl;
    request.plan = options.tests.empty() ? RunPlan::only_in(manifest, options.build)
                                         : RunPlan::only_in(manifest, options.build, options.tests);
    request.plan.also_build(options.build);
    if (options.sanitizer_builds_first) {
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
