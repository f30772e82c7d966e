#include "building/build_contract.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "course/util.hpp"

namespace grader {

namespace {

constexpr std::string_view kContractFile = "course-targets.json";

}  // namespace

BuildContract BuildContract::load(const std::filesystem::path& build_dir) {
  const auto file = build_dir / kContractFile;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw GraderError(file.string() +
                      " is missing: the build was configured by an older CMakeLists.txt; delete " +
                      build_dir.string() + " and grade again");
  }
  return parse(read_file(file), build_dir);
}

BuildContract BuildContract::parse(std::string_view json, const std::filesystem::path& build_dir) {
  BuildContract contract;
  contract.build_dir_ = build_dir;
  try {
    const auto document = nlohmann::json::parse(json);
    for (const auto& entry : document.at("implementations")) {
      ImplTargets targets;
      targets.tests_target = entry.at("tests_target").get<std::string>();
      targets.tests_binary = entry.at("tests_binary").get<std::string>();
      targets.archive = entry.at("archive").get<std::string>();
      targets.link_map = entry.value("link_map", std::string());
      targets.owners = entry.at("owners").get<std::vector<std::string>>();
      targets.header_only = entry.at("header_only").get<bool>();
      targets.staging_dir = entry.at("staging_dir").get<std::string>();
      contract
          .impls_[{entry.at("exercise").get<std::string>(), entry.at("impl").get<std::string>()}] =
          std::move(targets);
    }
    for (const auto& entry : document.at("fuzz_targets")) {
      contract.fuzz_targets_.push_back(
          {entry.at("exercise").get<std::string>(), entry.at("name").get<std::string>(),
           entry.at("target").get<std::string>(), entry.at("binary").get<std::string>()});
    }
    std::sort(contract.fuzz_targets_.begin(), contract.fuzz_targets_.end(),
              [](const FuzzTarget& a, const FuzzTarget& b) {
                return std::tie(a.exercise_id, a.name) < std::tie(b.exercise_id, b.name);
              });
  } catch (const nlohmann::json::exception& e) {
    throw GraderError((build_dir / kContractFile).string() + " is not what CMake writes (" +
                      e.what() + "); delete " + build_dir.string() + " and grade again");
  }
  return contract;
}

const ImplTargets& BuildContract::of(const std::string& exercise, const std::string& impl) const {
  const auto found = impls_.find({exercise, impl});
  if (found == impls_.end()) {
    throw GraderError("CMake defined no implementation '" + impl + "' of " + exercise + " in " +
                      build_dir_.string() + " (common/cmake/CourseExercise.cmake)");
  }
  return found->second;
}

std::vector<std::string> BuildContract::step_markers(const ImplTargets& targets) const {
  std::vector<std::string> markers;
  for (const auto& owner : targets.owners) markers.push_back("/" + owner + ".dir/");
  markers.push_back(targets.tests_binary.lexically_relative(build_dir_).string());
  return markers;
}

}  // namespace grader
