// Requirements tables: parsing, and every problem selfcheck refuses.
#include "course/requirements.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "course/util.hpp"

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

| id | kind | promise | source | tests |
|----|------|---------|--------|-------|
| R1 | order | results come in input order | header: download | `Pool.Order`, `Async.Order` |
| R2 | behaviour | a pipe \| inside a cell | README | `Pool.Pipe` |
)";

TEST(Requirements, ParsesTheTableWithItsColumns) {
  const auto table = parse_requirements(kTable, "REQ.md");
  EXPECT_TRUE(table.problems.empty()) << join(table.problems, "\n");
  ASSERT_EQ(table.rows.size(), 2U);
  EXPECT_EQ(table.rows[0].id, "R1");
  EXPECT_EQ(table.rows[0].kind, "order");
  EXPECT_EQ(table.rows[0].source, "header: download");
  EXPECT_EQ(table.rows[0].tests, (std::vector<std::string>{"Pool.Order", "Async.Order"}));
  EXPECT_EQ(table.rows[0].line, 11);
  EXPECT_EQ(table.rows[1].promise, "a pipe | inside a cell");
}

TEST(Requirements, RefusesRowsWithoutTestsDuplicatesAndStrayText) {
  const auto table = parse_requirements(R"(| id | kind | promise | source | tests |
|---|---|---|---|---|
| R1 | behaviour | a promise | README |  |
| R1 | behaviour | another | README | `A.B` |
| R3 | behaviour | a third | README | A.B |
| R4 | behaviour | too few | cells |
|  | behaviour | no id | README | `A.B` |
)",
                                        "REQ.md");
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:3: R1: names no test"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:4: R1: the id is used twice"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:5: R3: write each test as `Suite.Case`"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:6: a row has 5 cells"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:7: the row has no id"));
}

TEST(Requirements, RefusesAFileWithoutTheTable) {
  EXPECT_TRUE(has_problem(parse_requirements("# nothing\n", "REQ.md").problems,
                          "no table with the columns"));
  EXPECT_TRUE(has_problem(
      parse_requirements("| id | kind | promise | source | tests |\n| x |\n", "REQ.md").problems,
      "followed by |---|"));
  EXPECT_TRUE(has_problem(
      parse_requirements("| id | kind | promise | source | tests |\n|--|--|--|--|--|\n", "REQ.md")
          .problems,
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
             "| id | kind | promise | source | tests |\n|--|--|--|--|--|\n"
             "| R1 | order | order | header | `Pool.Order`, `Pool.Gone` |\n");
  const auto table = check_requirements(manifest, root);
  const auto& problems = table.problems;
  ASSERT_EQ(problems.size(), 1U) << join(problems, "\n");
  EXPECT_TRUE(has_problem(problems,
                          "REQUIREMENTS.md:3: R1: Pool.Gone is not a test of "
                          "exercises/07-sample/exercise.toml"));
  EXPECT_EQ(table.rows.size(), 1U);
  EXPECT_EQ(tests_outside_requirements(manifest, table), std::vector<std::string>{"Pool.Extra"});
}

TEST(Requirements, ABoundNamesItsProbesAtBelowAndAbove) {
  const auto table = parse_requirements(R"(| id | kind | promise | source | tests |
|---|---|---|---|---|
| R1 | bound | at most 200 bytes | header | at: `Names.At`; below: `Names.Short`, `Names.Usual`; above: `Names.Long` |
| R2 | bound | at most 16 bytes | header | at: `Names.At`; above: `Names.Long` |
| R3 | bound | within N | header | `Names.At` |
)",
                                        "REQ.md");
  ASSERT_EQ(table.rows.size(), 3U);
  ASSERT_EQ(table.rows[0].probes.size(), 3U);
  EXPECT_EQ(table.rows[0].probes[1].label, "below");
  EXPECT_EQ(table.rows[0].probes[1].tests,
            (std::vector<std::string>{"Names.Short", "Names.Usual"}));
  EXPECT_EQ(table.rows[0].tests,
            (std::vector<std::string>{"Names.At", "Names.Short", "Names.Usual", "Names.Long"}));
  EXPECT_FALSE(has_problem(table.problems, "REQ.md:3:")) << join(table.problems, "\n");
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:4: R2: a bound row names its probes \"below\""));
  EXPECT_TRUE(
      has_problem(table.problems, "REQ.md:5: R3: a bound row names its probes \"at\", \"below\""));
}

TEST(Requirements, EachKindAsksForItsOwnProbes) {
  const auto table = parse_requirements(R"(| id | kind | promise | source | tests |
|---|---|---|---|---|
| R1 | duration | not validated again within alive_bypass of the return | header | origin: `Pool.Origin`; non-default: `Pool.Other` |
| R2 | duration | the back-off multiplies | header | origin: `Retry.Previous` |
| R3 | path | a hit makes the entry recent | header | get: `Cache.Get`; get_or_load hit: `Cache.Load` |
| R4 | path | HEAD in every Allow | README | 405: `Http.Allow` |
| R5 | wait | a stop ends every wait | header | queue push: `Pipe.Push`; reorder window: `Pipe.Reorder` |
| R6 | wait | a stop ends every wait | header | `Pipe.Push` |
| R7 | sorcery | anything | header | `Pipe.Push` |
| R8 | wait | a stop ends every wait | header | queue push: ; pop: `Pipe.Pop` |
| R9 | ceiling | at most N more calls after a stop | README | full: `Pipe.Stop` |
| R10 | ceiling | at most N more calls after a stop | README | `Pipe.Stop` |
)",
                                        "REQ.md");
  EXPECT_FALSE(has_problem(table.problems, "R1:")) << join(table.problems, "\n");
  EXPECT_TRUE(has_problem(table.problems,
                          "REQ.md:4: R2: a duration row names its probes "
                          "\"non-default\""));
  EXPECT_FALSE(has_problem(table.problems, "R3:")) << join(table.problems, "\n");
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:6: R4: a path row names 2 or more labelled"));
  EXPECT_FALSE(has_problem(table.problems, "R5:")) << join(table.problems, "\n");
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:8: R6: a wait row names 1 or more labelled"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:9: R7: kind \"sorcery\" is not one of: "));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:10: R8: probe \"queue push\" names no test"));
  EXPECT_FALSE(has_problem(table.problems, "R9:")) << join(table.problems, "\n");
  EXPECT_TRUE(
      has_problem(table.problems, "REQ.md:12: R10: a ceiling row names its probes \"full\""));
}

TEST(Requirements, AProbeWrittenDownAsMissingIsAWarningNotAnError) {
  const auto table = parse_requirements(R"(| id | kind | promise | source | tests |
|---|---|---|---|---|
| R1 | bound | at most 200 bytes | header | at: missing (a queue at its cap cannot be held there yet; flow control); below: `Names.Short`; above: `Names.Long` |
| R2 | bound | at most 16 bytes | header | at: missing; below: missing; above: missing |
)",
                                        "REQ.md");
  EXPECT_FALSE(has_problem(table.problems, "R1:")) << join(table.problems, "\n");
  ASSERT_EQ(table.rows[0].probes.size(), 3U);
  EXPECT_EQ(table.rows[0].probes[0].missing,
            "a queue at its cap cannot be held there yet; flow control");
  EXPECT_TRUE(has_problem(table.warnings, "REQ.md:3: R1: no at probe yet (a queue at its cap"));
  EXPECT_TRUE(has_problem(table.problems, "REQ.md:4: R2: names no test"))
      << "a row whose every probe is missing has no test at all";
}

}  // namespace
}  // namespace grader
