// Requirements tables: parsing, and every problem selfcheck refuses.
#include "requirements.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "util.hpp"

namespace grader {
namespace {

bool has_problem(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

constexpr std::string_view kTable = R"(# Requirements

Some prose, and a table that is not the one:

| a | b |
|---|---|
| 1 | 2 |

| id | promise | source | tests |
|----|---------|--------|-------|
| R1 | results come in input order | header: download | `Pool.Order`, `Async.Order` |
| R2 | a pipe \| inside a cell | README | `Pool.Pipe` |
)";

TEST(Requirements, ParsesTheTableWithItsColumns) {
  const auto table = parse_requirements(kTable, "REQ.md");
  EXPECT_TRUE(table.problems.empty()) << join(table.problems, "\n");
  ASSERT_EQ(table.rows.size(), 2U);
  EXPECT_EQ(table.rows[0].id, "R1");
  EXPECT_EQ(table.rows[0].source, "header: download");
  EXPECT_EQ(table.rows[0].tests, (std::vector<std::string>{"Pool.Order", "Async.Order"}));
  EXPECT_EQ(table.rows[0].line, 11);
  EXPECT_EQ(table.rows[1].promise, "a pipe | inside a cell");
}

TEST(Requirements, RefusesRowsWithoutTestsDuplicatesAndStrayText) {
  const auto table = parse_requirements(R"(| id | promise | source | tests |
|---|---|---|---|
| R1 | a promise | README |  |
| R1 | another | README | `A.B` |
| R3 | a third | README | A.B |
| R4 | too few | cells |
|  | no id | README | `A.B` |
)",
                                        "REQ.md");
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:3: R1: names no test"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:4: R1: the id is used twice"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:5: R3: write each test as `Suite.Case`"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:6: a row has 4 cells"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:7: the row has no id"));
}

TEST(Requirements, RefusesAFileWithoutTheTable) {
  EXPECT_TRUE(has_problem(parse_requirements("# nothing\n", "REQ.md").problems,
                          "no table with the columns"));
  EXPECT_TRUE(has_problem(
      parse_requirements("| id | promise | source | tests |\n| x |\n", "REQ.md").problems,
      "followed by |---|"));
  EXPECT_TRUE(has_problem(
      parse_requirements("| id | promise | source | tests |\n|--|--|--|--|\n", "REQ.md").problems,
      "the table has no rows"));
}

TEST(Requirements, ChecksEveryNamedTestAgainstTheManifest) {
  const TempDir dir;
  const auto& root = dir.path();
  ExerciseManifest manifest;
  manifest.id = "07-sample";
  for (const auto& [name, points] :
       {std::pair{"Pool.Order", 2.0}, {"Pool.Extra", 1.0}, {"Pool.Free", 0.0}}) {
    TestSpec test;
    test.name = name;
    test.points = points;
    manifest.tests.push_back(test);
  }
  EXPECT_TRUE(has_problem(check_requirements(manifest, root).problems, "REQUIREMENTS.md: missing"));

  std::filesystem::create_directories(root / "solutions" / "07-sample");
  write_file(requirements_path(root, "07-sample"),
             "| id | promise | source | tests |\n|--|--|--|--|\n"
             "| R1 | order | header | `Pool.Order`, `Pool.Gone` |\n");
  const auto table = check_requirements(manifest, root);
  const auto& problems = table.problems;
  ASSERT_EQ(problems.size(), 1U) << join(problems, "\n");
  EXPECT_TRUE(has_problem(problems,
                          "REQUIREMENTS.md:3: R1: Pool.Gone is not a test of "
                          "exercises/07-sample/exercise.toml"));
  EXPECT_EQ(table.rows.size(), 1U);
  EXPECT_EQ(tests_outside_requirements(manifest, table), std::vector<std::string>{"Pool.Extra"});
}

}  // namespace
}  // namespace grader
