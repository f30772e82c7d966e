// Running one test: the arguments and environment a test binary gets, its
// fresh working directory, retries of timing tests, and trace collection.
// Shell scripts stand in for GoogleTest binaries and copy captured JSON
// results to the --gtest_output path they are given.
#include "running/test_runner.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "running/sandbox.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::make_script;

// A script that records its arguments, environment and directory in `state`, reports `name`
// on the result channel as the course's harness would (its secret read from the channel's first
// pipe): "passes.json" passes, "fails.json" fails with two messages; then exits with `code`.
std::string fake_gtest(const std::filesystem::path& state, const std::string& fixture,
                       const std::string& case_name, int code, const std::string& extra = "") {
  const std::string test = "Suite." + case_name;
  const std::string say = "echo \"$secret ";
  std::string report = say + "start " + test + "\" >&$report_fd\n";
  if (fixture == "throws.json") {
    report += say +
              "failure unknown file:-1\\nC++ exception with description \\\"not "
              "implemented yet: level 1\\\" thrown in the test body.\" >&$report_fd\n";
    report += say + "end " + test + " failed\" >&$report_fd\n";
  } else if (fixture == "timing.json") {  // every failure carries the kit's timing mark
    report += say + "failure t.cpp:4\\\\n[timing] took 900 ms, more than 600\" >&$report_fd\n";
    report +=
        say + "failure t.cpp:5\\\\nValue of: overlap\\\\n[timing] 1 in flight\" >&$report_fd\n";
    report += say + "end " + test + " failed\" >&$report_fd\n";
  } else if (fixture == "mixed.json") {  // a timing failure and a wrong result
    report += say + "failure t.cpp:4\\\\n[timing] took 900 ms, more than 600\" >&$report_fd\n";
    report += say + "failure t.cpp:5\\\\ncounted 3 increments, expected 4\" >&$report_fd\n";
    report += say + "end " + test + " failed\" >&$report_fd\n";
  } else if (fixture == "fails.json") {
    report += say + "failure t.cpp:4\\\\ncounted 3 increments, expected 4\" >&$report_fd\n";
    report += say + "failure t.cpp:5\\\\nExpected: true\" >&$report_fd\n";
    report += say + "end " + test + " failed\" >&$report_fd\n";
  } else {
    report += say + "end " + test + " passed\" >&$report_fd\n";
  }
  report += say + "done 1\" >&$report_fd\n";
  return "echo \"$@\" > '" + state.string() + "/args'\n" + "env > '" + state.string() + "/env'\n" +
         "pwd > '" + state.string() + "/cwd'\n" +
         "secret_fd=${COURSE_GRADER_CHANNEL%,*}; report_fd=${COURSE_GRADER_CHANNEL#*,}\n"
         "secret=$(cat <&$secret_fd)\n" +
         report + extra + "exit " + std::to_string(code) + "\n";
}

// The runner's mechanics, in the basic sandbox: these scripts live in the test's own private
// temporary directories, which a separate user could not reach (sandbox_test.cpp tests the
// layers themselves).
class TestRunner : public ::testing::Test {
 protected:
  void SetUp() override { force_basic_sandbox(true); }
  void TearDown() override { force_basic_sandbox(false); }
};

// The scripts run programs (cat, env, pwd), which the seccomp filter allows only to an exercise
// whose `processes` is "exec".
SandboxPolicy script_policy() {
  SandboxPolicy policy;
  policy.syscalls.fork = true;
  policy.syscalls.exec = true;
  return policy;
}

TestRunRequest script_request() {
  TestRunRequest request;
  request.policy = script_policy();
  return request;
}

TestSpec spec_named(const std::string& name, std::vector<std::string> tags = {}) {
  TestSpec spec;
  spec.name = name;
  spec.timeout_s = 5;
  spec.tags = std::move(tags);
  return spec;
}

bool env_has(const std::string& env, const std::string& line) {
  return ("\n" + env).find("\n" + line + "\n") != std::string::npos;
}

TEST_F(TestRunner, PassesTheFilterJsonOutputAndCourseEnvironment) {
  TempDir state;
  TempDir bin;
  TestRunRequest request = script_request();
  request.binary =
      make_script(bin.path(), "tests", fake_gtest(state.path(), "passes.json", "Case", 0));
  request.spec = spec_named("Suite.Case");
  request.base_time_scale = 1.5;
  request.root = testing_support::course_dir();
  const auto run = run_test(request);

  ASSERT_EQ(run.attempts.size(), 1U);
  EXPECT_EQ(run.final_attempt().outcome, Outcome::passed) << run.final_attempt().reason;
  const auto args = read_file(state.path() / "args");
  EXPECT_NE(args.find("--gtest_filter=Suite.Case "), std::string::npos) << args;
  EXPECT_EQ(args.find("--gtest_output"), std::string::npos)
      << "the verdict comes from the result channel, not a file the test could rewrite";
  EXPECT_NE(args.find("--gtest_color=no"), std::string::npos) << args;

  const auto env = read_file(state.path() / "env");
  EXPECT_TRUE(env_has(env, "COURSE_TIME_SCALE=1.5")) << env;
  EXPECT_NE(env.find("COURSE_TRACE_DIR="), std::string::npos);
  EXPECT_NE(env.find("TSAN_OPTIONS=halt_on_error=1 exitcode=66 second_deadlock_stack=1"),
            std::string::npos);
  EXPECT_TRUE(env_has(env, "ASAN_OPTIONS=detect_leaks=1 exitcode=66 abort_on_error=0")) << env;
  EXPECT_TRUE(env_has(env, "UBSAN_OPTIONS=halt_on_error=1 print_stacktrace=1 exitcode=66")) << env;
}

TEST_F(TestRunner, ScalesTimeBySanitizerBuildAndHidesGtestVariables) {
  TempDir state;
  TempDir bin;
  ::setenv("GTEST_REPEAT", "50", 1);
  TestRunRequest request = script_request();
  request.binary =
      make_script(bin.path(), "tests", fake_gtest(state.path(), "passes.json", "Case", 0));
  request.spec = spec_named("Suite.Case");
  request.base_time_scale = 2;
  request.config = BuildConfig::tsan;
  const auto tsan_run = run_test(request);
  ::unsetenv("GTEST_REPEAT");
  EXPECT_EQ(tsan_run.config, BuildConfig::tsan);
  EXPECT_TRUE(tsan_run.passed()) << tsan_run.final_attempt().reason;
  const auto env = read_file(state.path() / "env");
  EXPECT_TRUE(env_has(env, "COURSE_TIME_SCALE=8")) << "TSan runs at 4 x the grader's scale";
  EXPECT_EQ(env.find("GTEST_REPEAT"), std::string::npos) << "GTEST_* would change the run";

  request.config = BuildConfig::asan;
  run_test(request);
  EXPECT_TRUE(env_has(read_file(state.path() / "env"), "COURSE_TIME_SCALE=4"));
}

TEST_F(TestRunner, EachRunHasAFreshWorkingDirectoryThatIsRemovedAfterwards) {
  TempDir state;
  TempDir bin;
  TestRunRequest request = script_request();
  request.binary = make_script(
      bin.path(), "tests", fake_gtest(state.path(), "passes.json", "Case", 0, "touch left-over\n"));
  request.spec = spec_named("Suite.Case");
  run_test(request);
  const auto first = trim(read_file(state.path() / "cwd"));
  run_test(request);
  const auto second = trim(read_file(state.path() / "cwd"));
  EXPECT_NE(first, second);
  EXPECT_FALSE(std::filesystem::exists(first));
  EXPECT_FALSE(std::filesystem::exists(second));
}

TEST_F(TestRunner, AFailingTimingTestIsRetriedAndEveryAttemptIsKept) {
  TempDir state;
  TempDir bin;
  // Fails twice, then passes.
  const auto script = "n=$(cat '" + state.path().string() +
                      "/count' 2>/dev/null || echo 0)\n"
                      "n=$((n + 1)); echo $n > '" +
                      state.path().string() +
                      "/count'\n"
                      "if [ $n -lt 3 ]; then\n" +
                      fake_gtest(state.path(), "timing.json", "Flaky", 1) + "fi\n" +
                      fake_gtest(state.path(), "passes.json", "Flaky", 0);
  TestRunRequest request = script_request();
  request.binary = make_script(bin.path(), "tests", script);
  request.spec = spec_named("Suite.Flaky", {"timing"});
  const auto run = run_test(request);
  ASSERT_EQ(run.attempts.size(), 3U);
  EXPECT_EQ(run.attempts[0].outcome, Outcome::failed);
  EXPECT_EQ(run.attempts[1].outcome, Outcome::failed);
  EXPECT_EQ(run.attempts[2].outcome, Outcome::passed);
  EXPECT_TRUE(run.passed());
}

TEST_F(TestRunner, RetriesStopAtTwoAndOnlyTimingAssertionsAreRetried) {
  TempDir state;
  TempDir bin;
  TestRunRequest request = script_request();
  request.binary =
      make_script(bin.path(), "tests", fake_gtest(state.path(), "timing.json", "Case", 1));
  request.spec = spec_named("Suite.Case", {"timing"});
  EXPECT_EQ(run_test(request).attempts.size(), 3U) << "every failure carries [timing]";

  request.spec = spec_named("Suite.Case");
  EXPECT_EQ(run_test(request).attempts.size(), 1U) << "not tagged timing";

  request.spec = spec_named("Suite.Case", {"timing"});
  request.binary =
      make_script(bin.path(), "plain", fake_gtest(state.path(), "fails.json", "Case", 1));
  EXPECT_EQ(run_test(request).attempts.size(), 1U)
      << "a plain assertion (a wrong result) fails the same way every time";
  request.binary =
      make_script(bin.path(), "mixed", fake_gtest(state.path(), "mixed.json", "Case", 1));
  EXPECT_EQ(run_test(request).attempts.size(), 1U)
      << "a wrong result beside a timing failure is not bad luck";

  request.binary =
      make_script(bin.path(), "throws", fake_gtest(state.path(), "throws.json", "Case", 1));
  const auto threw = run_test(request);
  ASSERT_EQ(threw.attempts.size(), 1U)
      << "an exception (a skeleton's \"not implemented yet\") fails the same way every time";
  EXPECT_EQ(threw.final_attempt().outcome, Outcome::failed);
  EXPECT_NE(threw.output.find("not implemented yet"), std::string::npos) << threw.output;

  request.binary = make_script(bin.path(), "crashes", "kill -SEGV $$\n");
  const auto crash = run_test(request);
  ASSERT_EQ(crash.attempts.size(), 1U) << "a crash is a defect, not bad luck";
  EXPECT_EQ(crash.final_attempt().outcome, Outcome::crashed);
}

TEST_F(TestRunner, AHangingTestTimesOutAtItsScaledLimit) {
  TempDir bin;
  TestRunRequest request = script_request();
  request.binary = make_script(bin.path(), "hangs", "sleep 30\n");
  request.spec = spec_named("Suite.Hangs");
  request.spec.timeout_s = 0.2;
  request.base_time_scale = 2;
  const auto run = run_test(request);
  EXPECT_EQ(run.final_attempt().outcome, Outcome::timeout);
  EXPECT_NE(run.final_attempt().reason.find("timed out after 0.4 s"), std::string::npos)
      << run.final_attempt().reason;
  EXPECT_LT(run.final_attempt().seconds, 5.0);
}

TEST_F(TestRunner, TraceFilesAreCopiedOutBeforeTheDirectoryIsRemoved) {
  TempDir state;
  TempDir bin;
  TempDir reports;
  TestRunRequest request = script_request();
  request.binary =
      make_script(bin.path(), "tests",
                  fake_gtest(state.path(), "passes.json", "Case", 0,
                             "echo '{\"title\":\"t\"}' > \"$COURSE_TRACE_DIR/timeline.json\"\n"
                             "echo ignored > \"$COURSE_TRACE_DIR/notes.txt\"\n"));
  request.spec = spec_named("Suite.Case");
  request.trace_dir = reports.path() / "traces";
  const auto run = run_test(request);
  ASSERT_EQ(run.traces.size(), 1U);
  EXPECT_EQ(run.traces[0].parent_path(), reports.path() / "traces");
  EXPECT_EQ(run.traces[0].filename(), "Suite.Case-default-timeline.json");
  EXPECT_EQ(read_file(run.traces[0]), "{\"title\":\"t\"}\n");
}

TEST_F(TestRunner, TracesAreCappedInCountAndSizeAndSymlinksAreSkipped) {
  TempDir state;
  TempDir bin;
  TempDir reports;
  const std::string writes =
      "for i in 01 02 03 04 05 06 07 08 09 10; do echo '{}' > \"$COURSE_TRACE_DIR/t$i.json\"; "
      "done\n"
      "head -c 5242880 /dev/zero > \"$COURSE_TRACE_DIR/a-huge.json\"\n"
      "ln -s /etc/passwd \"$COURSE_TRACE_DIR/a-link.json\"\n";
  TestRunRequest request = script_request();
  request.binary =
      make_script(bin.path(), "tests", fake_gtest(state.path(), "passes.json", "Case", 0, writes));
  request.spec = spec_named("Suite.Case");
  request.trace_dir = reports.path() / "traces";
  const auto run = run_test(request);
  ASSERT_EQ(run.traces.size(), 8U) << "at most 8 trace files are kept";
  for (const auto& trace : run.traces) {
    EXPECT_EQ(read_file(trace), "{}\n") << trace << ": a symlink or a file over 4 MiB was kept";
  }
}

TEST_F(TestRunner, ListsTheTestsOfABinary) {
  TempDir bin;
  const auto listing = list_tests(
      make_script(
          bin.path(), "lists",
          "secret=$(cat <&${COURSE_GRADER_CHANNEL%,*}); out=${COURSE_GRADER_CHANNEL#*,}\n"
          "for t in Suite.Passes Suite.Fails Values/P.Works/0; do echo \"$secret test $t\" >&$out; "
          "done\n"
          "echo \"$secret done 0\" >&$out\n"),
      {}, script_policy());
  EXPECT_TRUE(listing.error.empty()) << listing.error;
  EXPECT_EQ(listing.names,
            (std::vector<std::string>{"Suite.Passes", "Suite.Fails", "Values/P.Works/0"}));

  const auto emptied =
      list_tests(make_script(bin.path(), "exits", "exit 0\n"), {}, script_policy());
  EXPECT_TRUE(emptied.names.empty());
  EXPECT_NE(emptied.error.find("ended before GoogleTest listed the tests"), std::string::npos)
      << "an exit(0) at start-up is an error, not an empty list: " << emptied.error;

  const auto broken =
      list_tests(make_script(bin.path(), "broken", "kill -SEGV $$\n"), {}, script_policy());
  EXPECT_TRUE(broken.names.empty());
  EXPECT_NE(broken.error.find("SIGSEGV"), std::string::npos) << broken.error;
}

}  // namespace
}  // namespace grader
