// Build driving: configuring a preset on first use, building several targets
// in one call, and telling which target failed with which compiler errors.
#include "building/build.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::put;

const char* const kPresets = R"({
  "version": 6,
  "configurePresets": [{"name": "default", "generator": "Ninja",
                        "binaryDir": "${sourceDir}/build/default"}]
})";

// A tiny project with the course's target names: one builds, one does not.
void make_project(const std::filesystem::path& root, const std::string& cmake_extra = "") {
  put(root, "CMakePresets.json", kPresets);
  put(root, "CMakeLists.txt",
      "cmake_minimum_required(VERSION 3.25)\nproject(mini CXX)\n" + cmake_extra +
          "add_executable(09-x_tests_exercises good.cpp)\n"
          "add_executable(09-x_tests_solutions bad.cpp)\n");
  put(root, "good.cpp", "int main() { return 0; }\n");
  put(root, "bad.cpp", "int main() { return undeclared_name; }\n");
}

TEST(Build, ConfiguresOnFirstUseAndNamesTheTargetThatFailed) {
  TempDir root;
  make_project(root.path());
  auto progress = Progress::silent();
  Builder builder(root.path(), progress);
  const auto result =
      builder.build(BuildConfig::normal, {"09-x_tests_exercises", "09-x_tests_solutions"}, "09-x");
  EXPECT_TRUE(std::filesystem::exists(root.path() / "build/default/build.ninja"));
  EXPECT_FALSE(result.ok);
  ASSERT_EQ(result.errors.size(), 1U);
  const auto& [target, errors] = *result.errors.begin();
  EXPECT_EQ(target, "09-x_tests_solutions");
  EXPECT_NE(errors.find("bad.cpp:1"), std::string::npos) << errors;
  EXPECT_NE(errors.find("undeclared_name"), std::string::npos) << errors;
  EXPECT_NE(errors.find("error"), std::string::npos) << errors;
  EXPECT_TRUE(std::filesystem::exists(root.path() / "build/default/09-x_tests_exercises"))
      << "the other target still built";
  EXPECT_TRUE(std::filesystem::exists(result.log));

  const auto again = builder.build(BuildConfig::normal, {"09-x_tests_exercises"}, "09-x");
  EXPECT_TRUE(again.ok);
}

TEST(Build, AConfigureFailureStopsWithTheLogTailAndAnInstallHint) {
  TempDir root;
  make_project(root.path(), "message(FATAL_ERROR \"Boost 1.81 is missing\")\n");
  auto progress = Progress::silent();
  Builder builder(root.path(), progress);
  try {
    builder.ensure_configured(BuildConfig::normal);
    FAIL() << "the configure step must fail";
  } catch (const GraderError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    const std::string message = e.what();
    EXPECT_NE(message.find("Boost 1.81 is missing"), std::string::npos) << message;
    EXPECT_NE(message.find("grader/install-deps"), std::string::npos) << message;
    EXPECT_NE(message.find("build/logs/configure-default.log"), std::string::npos) << message;
  }
}

TEST(Build, ExtractsTheErrorsOfOneTargetFromANinjaLog) {
  const std::string log =
      "[1/6] Building CXX object "
      "exercises/00-warmup/CMakeFiles/00-warmup_impl_exercises.dir/src/a.cpp.o\n"
      "FAILED: exercises/00-warmup/CMakeFiles/00-warmup_impl_submission.dir/src/counter.cpp.o\n"
      "/usr/bin/c++ -I... -c /build/submission/00-warmup/src/counter.cpp\n"
      "/build/submission/00-warmup/src/counter.cpp: In function 'int f()':\n"
      "/build/submission/00-warmup/src/counter.cpp:3:10: error: 'x' was not declared in this "
      "scope\n"
      "    3 |   return x;\n"
      "      |          ^\n"
      "[2/6] Building CXX object "
      "exercises/01-pool/CMakeFiles/01-pool_impl_submission.dir/src/p.cpp.o\n"
      "FAILED: exercises/01-pool/CMakeFiles/01-pool_impl_submission.dir/src/p.cpp.o\n"
      "/usr/bin/c++ -c p.cpp\n"
      "p.cpp:1:1: error: unrelated\n"
      "ninja: build stopped: subcommand failed.\n";
  const auto contract = BuildContract::parse(
      R"({"version": 2, "implementations": [
        {"exercise": "00-warmup", "impl": "submission", "tests_target": "00-warmup_tests_submission",
         "tests_binary": "/build/tests/00-warmup/submission", "archive": "",
         "header_only": false, "staging_dir": "/build/submission/00-warmup",
         "owners": ["00-warmup_impl_submission", "00-warmup_tests_submission"]},
        {"exercise": "00-warmup", "impl": "solutions", "tests_target": "00-warmup_tests_solutions",
         "tests_binary": "/build/tests/00-warmup/solutions", "archive": "",
         "header_only": false, "staging_dir": "",
         "owners": ["00-warmup_impl_solutions", "00-warmup_tests_solutions"]}],
       "fuzz_targets": []})",
      "/build");
  const auto submission = contract.step_markers(contract.of("00-warmup", "submission"));
  const auto errors = extract_build_errors(log, submission);
  EXPECT_EQ(errors,
            "/build/submission/00-warmup/src/counter.cpp:3:10: error: 'x' was not declared in this "
            "scope\n    3 |   return x;\n      |          ^");
  EXPECT_EQ(extract_build_errors(log, contract.step_markers(contract.of("00-warmup", "solutions"))),
            "");
  EXPECT_NE(extract_build_errors(log, {}).find("unrelated"), std::string::npos)
      << "no markers: every failed step";
}

TEST(Build, ALinkStepIsClaimedByItsOwnBinaryOnly) {
  const std::string log =
      "FAILED: tests/04-cache/mutant-ab\n"
      "/usr/bin/ld: undefined reference to 'f'\n"
      "collect2: error: ld returned 1 exit status\n";
  EXPECT_EQ(extract_build_errors(log, {"tests/04-cache/mutant-a"}), "");
  EXPECT_NE(extract_build_errors(log, {"tests/04-cache/mutant-ab"}), "");
}

TEST(BuildContract, ReadsWhatCMakeWroteAndNamesWhatItLacks) {
  const auto contract = BuildContract::parse(
      R"({"version": 2, "implementations": [
        {"exercise": "00-warmup", "impl": "solutions", "tests_target": "00-warmup_tests_solutions",
         "tests_binary": "/c/build/tsan/tests/00-warmup/solutions",
         "archive": "/c/build/tsan/lib00-warmup_impl_solutions.a",
         "header_only": false, "staging_dir": "",
         "owners": ["00-warmup_impl_solutions", "00-warmup_reference_counter_cpp"]},
        {"exercise": "04-cache", "impl": "submission", "tests_target": "04-cache_tests_submission",
         "tests_binary": "/c/build/tsan/tests/04-cache/submission", "archive": "",
         "header_only": true, "staging_dir": "/c/build/tsan/submission/04-cache",
         "owners": ["04-cache_tests_submission"]}],
       "fuzz_targets": [
        {"exercise": "07-b", "name": "zeta", "target": "07-b_fuzz_zeta_solutions",
         "binary": "/c/build/fuzz/fuzz/07-b/solutions/zeta"},
        {"exercise": "03-a", "name": "alpha", "target": "03-a_fuzz_alpha_solutions",
         "binary": "/c/build/fuzz/fuzz/03-a/solutions/alpha"}]})",
      "/c/build/tsan");
  const auto& targets = contract.of("00-warmup", "solutions");
  EXPECT_EQ(targets.tests_binary, std::filesystem::path("/c/build/tsan/tests/00-warmup/solutions"));
  EXPECT_FALSE(targets.header_only);
  EXPECT_TRUE(targets.staging_dir.empty());
  const auto& cache = contract.of("04-cache", "submission");
  EXPECT_TRUE(cache.header_only) << "header-only is CMake's word, not guessed from file names";
  EXPECT_EQ(cache.staging_dir, std::filesystem::path("/c/build/tsan/submission/04-cache"));
  ASSERT_EQ(contract.fuzz_targets().size(), 2U);
  EXPECT_EQ(contract.fuzz_targets()[0].name, "alpha") << "by exercise, then name";
  EXPECT_EQ(contract.fuzz_targets()[1].binary,
            std::filesystem::path("/c/build/fuzz/fuzz/07-b/solutions/zeta"));
  EXPECT_EQ(contract.step_markers(targets),
            (std::vector<std::string>{"/00-warmup_impl_solutions.dir/",
                                      "/00-warmup_reference_counter_cpp.dir/",
                                      "tests/00-warmup/solutions"}));
  EXPECT_THROW((void)contract.of("00-warmup", "mutant-x"), GraderError);
  EXPECT_THROW(BuildContract::parse("{\"implementations\": 3}", "/c"), GraderError);
  EXPECT_THROW(BuildContract::load("/nonexistent/build"), GraderError);
}

TEST(Build, NamesBuildDirectoriesAfterTheirPresets) {
  EXPECT_EQ(build_dir("/c", BuildConfig::asan), std::filesystem::path("/c/build/asan"));
  EXPECT_EQ(preset_name(BuildConfig::normal), "default");
}

}  // namespace
}  // namespace grader
