// `skeletons`: grader/skeletons.sha256, how `grade` tells a started exercise from a skeleton.
#include <iostream>

#include "commands/commands.hpp"
#include "course/manifest.hpp"
#include "course/skeletons.hpp"
#include "course/util.hpp"

namespace grader {

int cmd_skeletons(const fs::path& root, bool write) {
  const auto manifests = load_all_manifests(root);
  if (write) {
    write_file(root / kSkeletonPrintsFile, render_skeleton_prints(root, manifests));
    std::cout << "wrote " << kSkeletonPrintsFile << " (" << manifests.size() << " exercises)\n";
    return 0;
  }
  const auto problems = check_skeleton_prints(root, manifests);
  for (const auto& problem : problems) std::cout << problem << "\n";
  if (problems.empty()) std::cout << kSkeletonPrintsFile << " matches every skeleton\n";
  return problems.empty() ? 0 : 1;
}

}  // namespace grader
