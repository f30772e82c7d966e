// The selfcheck's fuzzing step: which targets it finds, how it runs them, what it reports.
#include "running/fuzz.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "course/util.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::put;

TEST(Fuzz, FindsTheChosenExercisesSourcesAndTheirTargetsInTheContract) {
  const TempDir root;
  put(root.path(), "exercises/01-a/fuzz/zeta.cpp", "");
  put(root.path(), "exercises/02-b/src/main.cpp", "");
  put(root.path(), "exercises/02-b/fuzz/notes.md", "");
  EXPECT_TRUE(has_fuzz_sources(root.path(), {"01-a", "02-b"}));
  EXPECT_FALSE(has_fuzz_sources(root.path(), {"02-b"})) << "only .cpp files are fuzz targets";

  const auto contract = BuildContract::parse(
      R"({"version": 2, "implementations": [], "fuzz_targets": [
        {"exercise": "01-a", "name": "zeta", "target": "01-a_fuzz_zeta_solutions",
         "binary": "/b/fuzz/01-a/solutions/zeta"},
        {"exercise": "01-a", "name": "alpha", "target": "01-a_fuzz_alpha_solutions",
         "binary": "/b/fuzz/01-a/solutions/alpha"},
        {"exercise": "03-c", "name": "other", "target": "03-c_fuzz_other_solutions",
         "binary": "/b/fuzz/03-c/solutions/other"}]})",
      "/b");
  const auto targets = fuzz_targets(contract, {"01-a", "02-b"});
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].name, "alpha");
  EXPECT_EQ(targets[1].name, "zeta");
  EXPECT_EQ(targets[0].exercise_id, "01-a");
  EXPECT_EQ(targets[0].target, "01-a_fuzz_alpha_solutions");
  EXPECT_EQ(targets[0].binary, std::filesystem::path("/b/fuzz/01-a/solutions/alpha"));
  EXPECT_TRUE(fuzz_targets(contract, {"02-b"}).empty());
}

TEST(Fuzz, SecondsComeFromTheSettingOrDefaultTo20) {
  EXPECT_EQ(fuzz_seconds(nullptr), 20);
  EXPECT_EQ(fuzz_seconds(""), 20);
  EXPECT_EQ(fuzz_seconds("5"), 5);
  EXPECT_EQ(fuzz_seconds("0"), 20);
  EXPECT_EQ(fuzz_seconds("-3"), 20);
  EXPECT_EQ(fuzz_seconds("ten"), 20);
  EXPECT_EQ(fuzz_seconds("12s"), 20);
}

TEST(Fuzz, CommandBoundsTheRunAndNamesTheCorpus) {
  const FuzzTarget target{"01-a", "alpha", "01-a_fuzz_alpha_solutions", "/b/alpha"};
  const auto argv = fuzz_command(target, 7, "/tmp/corpus");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv.front(), "/b/alpha");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-max_total_time=7"), argv.end());
  EXPECT_EQ(argv.back(), "/tmp/corpus");
}

TEST(Fuzz, FailureExcerptStartsAtTheReport) {
  std::string output;
  for (int i = 0; i < 100; ++i) output += "#" + std::to_string(i) + " NEW cov: 1\n";
  output += "==1==ERROR: AddressSanitizer: heap-buffer-overflow\n    #0 0x1 in parse\n";
  const auto excerpt = fuzz_failure_excerpt(output);
  EXPECT_EQ(excerpt.rfind("==1==ERROR: AddressSanitizer", 0), 0u) << excerpt;
  EXPECT_NE(excerpt.find("in parse"), std::string::npos);
  // Without a report line: the last lines.
  const auto tail = fuzz_failure_excerpt("a\nb\nc\nd\n", 2);
  EXPECT_EQ(tail, "c\nd");
}

}  // namespace
}  // namespace grader
