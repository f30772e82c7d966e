// Reading GoogleTest's test list and JSON results (fixtures captured from
// GoogleTest 1.12), and classifying finished runs.
#include "gtest.hpp"

#include <gtest/gtest.h>

#include <csignal>

#include "test_support.hpp"

namespace grader {
namespace {

using testing_support::data_dir;

std::string gtest_fixture(const std::string& name) {
  return read_file(data_dir() / "gtest" / name);
}

RunObservation exited(int code, std::string output, std::optional<std::string> json,
                      std::string test = "Suite.Fails") {
  RunObservation run;
  run.process.ending = Ending::exited;
  run.process.exit_code = code;
  run.process.output = std::move(output);
  run.json = std::move(json);
  run.test_name = std::move(test);
  run.timeout_s = 10;
  run.cpu_limit_s = 25;
  run.file_size_limit = 256.0 * 1024 * 1024;
  run.process_limit = 128;
  run.output_cap = 64 * 1024;
  return run;
}

RunObservation signaled(int signal, std::string output = "") {
  auto run = exited(0, std::move(output), std::nullopt);
  run.process.ending = Ending::signaled;
  run.process.exit_code = -1;
  run.process.signal = signal;
  return run;
}

TEST(GtestList, ParsesSuitesCasesAndParameterisedNames) {
  const auto names = parse_test_list(gtest_fixture("list.txt"));
  EXPECT_EQ(names,
            (std::vector<std::string>{"Suite.Passes", "Suite.Fails", "Suite.Skips", "Suite.Throws",
                                      "Values/P.Works/0", "Values/P.Works/1"}));
}

TEST(GtestJson, ReadsPassedFailedAndSkippedEntries) {
  const auto passed = find_in_gtest_json(gtest_fixture("passes.json"), "Suite.Passes");
  ASSERT_TRUE(passed.has_value());
  EXPECT_EQ(passed->status, GtestCase::Status::passed);

  const auto failed = find_in_gtest_json(gtest_fixture("fails.json"), "Suite.Fails");
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, GtestCase::Status::failed) << "\"result\" is COMPLETED even so";
  ASSERT_EQ(failed->failures.size(), 2U);
  EXPECT_NE(failed->failures[0].find("counted 3 increments, expected 4"), std::string::npos);

  const auto skipped = find_in_gtest_json(gtest_fixture("skips.json"), "Suite.Skips");
  ASSERT_TRUE(skipped.has_value());
  EXPECT_EQ(skipped->status, GtestCase::Status::skipped);
}

TEST(GtestJson, AnAbsentTestOrBrokenJsonGivesNothing) {
  EXPECT_FALSE(find_in_gtest_json(gtest_fixture("empty.json"), "Suite.Passes").has_value());
  EXPECT_FALSE(find_in_gtest_json(gtest_fixture("passes.json"), "Suite.Other").has_value());
  EXPECT_FALSE(find_in_gtest_json("{ not json", "Suite.Passes").has_value());
  EXPECT_FALSE(find_in_gtest_json(gtest_fixture("passes.json"), "NoDot").has_value());
}

TEST(Classify, ACleanExitWithAPassedEntryPasses) {
  const auto verdict = classify(exited(0, "", gtest_fixture("passes.json"), "Suite.Passes"));
  EXPECT_EQ(verdict.outcome, Outcome::passed);
}

TEST(Classify, AFailedEntryFailsWithItsMessages) {
  const auto verdict = classify(exited(1, "", gtest_fixture("fails.json")));
  EXPECT_EQ(verdict.outcome, Outcome::failed);
  EXPECT_EQ(verdict.reason, "Expected equality of these values: (and 1 more failure)");
  EXPECT_NE(verdict.output.find("counted 3 increments, expected 4"), std::string::npos);
  EXPECT_NE(verdict.output.find("Expected: true"), std::string::npos);
}

TEST(Classify, ASkippedTestIsNotRunWithTheSkipMessage) {
  const auto verdict =
      classify(exited(0, "t.cpp:5: Skipped\nno python here\n\n[  SKIPPED ] Suite.Skips",
                      gtest_fixture("skips.json"), "Suite.Skips"));
  EXPECT_EQ(verdict.outcome, Outcome::not_run);
  EXPECT_EQ(verdict.reason, "skipped: no python here");
}

TEST(Classify, ATestMissingFromTheBinaryIsNotRun) {
  const auto verdict = classify(exited(0, "", gtest_fixture("empty.json"), "Suite.Gone"));
  EXPECT_EQ(verdict.outcome, Outcome::not_run);
  EXPECT_NE(verdict.reason.find("no test named Suite.Gone"), std::string::npos);
}

TEST(Classify, AnExitBeforeTheTestFinishedFails) {
  const auto verdict = classify(exited(3, "bye\n", std::nullopt));
  EXPECT_EQ(verdict.outcome, Outcome::failed);
  EXPECT_NE(verdict.reason.find("exited with code 3"), std::string::npos);
}

TEST(Classify, ThreadSanitizerReportsBecomeSanitizerWithTheReportsFirstLines) {
  const std::string report =
      "[ RUN      ] Counter.Exact\n"
      "==================\n"
      "WARNING: ThreadSanitizer: data race (pid=4242)\n"
      "  Write of size 8 at 0x7b0400000010 by thread T2:\n"
      "    #0 count(int) /home/student/src/counter.cpp:12 (counter+0x1234)\n"
      "    #1 std::thread::_State_impl<...>::_M_run() /usr/include/c++/12/bits/std_thread.h:211 "
      "(x+0x1)\n"
      "    #2 <null> <null> (libstdc++.so.6+0xdc252)\n"
      "\n"
      "  Previous write of size 8 at 0x7b0400000010 by thread T1:\n"
      "    #0 count(int) /home/student/src/counter.cpp:12 (counter+0x1234)\n"
      "SUMMARY: ThreadSanitizer: data race /home/student/src/counter.cpp:12 in count(int)\n"
      "==================\n";
  const auto verdict = classify(exited(66, report, std::nullopt, "Counter.Exact"));
  EXPECT_EQ(verdict.outcome, Outcome::sanitizer);
  EXPECT_EQ(verdict.reason,
            "WARNING: ThreadSanitizer: data race\n"
            "  Write of size 8 at 0x7b0400000010 by thread T2:\n"
            "    #0 count(int) /home/student/src/counter.cpp:12\n"
            "  Previous write of size 8 at 0x7b0400000010 by thread T1:\n"
            "    #0 count(int) /home/student/src/counter.cpp:12\n"
            "SUMMARY: ThreadSanitizer: data race /home/student/src/counter.cpp:12 in count(int)");
}

TEST(Classify, AddressSanitizerLeakSanitizerAndUbsanReportsAreSanitizerOutcomes) {
  const auto asan = classify(
      exited(66,
             "=================================================================\n"
             "==77==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n"
             "READ of size 4 at 0x602000000010 thread T0\n"
             "    #0 0x55d1 in use() /src/a.cpp:3\n",
             std::nullopt));
  EXPECT_EQ(asan.outcome, Outcome::sanitizer);
  EXPECT_EQ(split_lines(asan.reason).front(),
            "ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010");
  EXPECT_NE(asan.reason.find("#0 use() /src/a.cpp:3"), std::string::npos) << asan.reason;

  const auto lsan = classify(exited(66, "==5==ERROR: LeakSanitizer: detected memory leaks\n",
                                    gtest_fixture("passes.json"), "Suite.Passes"));
  EXPECT_EQ(lsan.outcome, Outcome::sanitizer) << "a leak fails a test that otherwise passed";

  const auto ubsan = classify(signaled(
      SIGABRT, "/src/a.cpp:7:9: runtime error: signed integer overflow: 2147483647 + 1\n"));
  EXPECT_EQ(ubsan.outcome, Outcome::sanitizer);
  EXPECT_NE(ubsan.reason.find("signed integer overflow"), std::string::npos);
}

TEST(Classify, SignalsAreCrashesWithANameAndTheTerminateMessage) {
  const auto segv = classify(signaled(SIGSEGV));
  EXPECT_EQ(segv.outcome, Outcome::crashed);
  EXPECT_EQ(segv.reason.rfind("crashed with SIGSEGV (segmentation fault", 0), 0U) << segv.reason;

  const auto abort = classify(
      signaled(SIGABRT, "terminate called after throwing an instance of 'std::logic_error'\n"));
  EXPECT_EQ(abort.outcome, Outcome::crashed);
  EXPECT_NE(abort.reason.find("terminate called after throwing"), std::string::npos)
      << abort.reason;
}

TEST(Classify, ResourceLimitsAreTheirOwnOutcome) {
  const auto cpu = classify(signaled(SIGXCPU));
  EXPECT_EQ(cpu.outcome, Outcome::resource_limit);
  EXPECT_NE(cpu.reason.find("more than 25 s of CPU time"), std::string::npos);

  const auto file = classify(signaled(SIGXFSZ));
  EXPECT_EQ(file.outcome, Outcome::resource_limit);
  EXPECT_NE(file.reason.find("larger than 256 MiB"), std::string::npos);

  const auto threads = classify(exited(1, "", gtest_fixture("throws.json"), "Suite.Throws"));
  EXPECT_EQ(threads.outcome, Outcome::resource_limit)
      << "std::thread could not start: \"Resource temporarily unavailable\"";
  EXPECT_NE(threads.reason.find("Resource temporarily unavailable"), std::string::npos);

  auto bomb = exited(0, "", std::nullopt);
  bomb.process.ending = Ending::process_limit;
  EXPECT_EQ(classify(bomb).outcome, Outcome::resource_limit);
  EXPECT_NE(classify(bomb).reason.find("more than 128 processes"), std::string::npos);
}

TEST(Classify, TimeoutsOutputFloodsAndSpawnFailures) {
  auto timeout = exited(0, "[ RUN      ] Suite.Fails\nwaiting...\n", std::nullopt);
  timeout.process.ending = Ending::timed_out;
  const auto t = classify(timeout);
  EXPECT_EQ(t.outcome, Outcome::timeout);
  EXPECT_EQ(t.reason,
            "timed out after 10 s (the test's limit); a deadlock or a sequential implementation "
            "looks like this");
  EXPECT_EQ(t.output, "waiting...") << "GoogleTest's banner lines are dropped";

  auto flood = exited(0, "yyyy", std::nullopt);
  flood.process.ending = Ending::output_limit;
  EXPECT_EQ(classify(flood).outcome, Outcome::output_limit);
  EXPECT_EQ(classify(flood).reason, "printed more than 64 KiB");

  auto spawn = exited(0, "", std::nullopt);
  spawn.process.ending = Ending::spawn_failed;
  spawn.process.error = "cannot run x: Permission denied";
  EXPECT_EQ(classify(spawn).outcome, Outcome::not_run);
}

}  // namespace
}  // namespace grader
