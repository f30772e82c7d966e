// The result channel a test binary reports on (common/src/test_main.cpp), and classifying
// finished runs from it.
#include "running/gtest.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstddef>

#include "test_support.hpp"

namespace grader {
namespace {

constexpr const char* kSecret = "0123456789abcdef";

std::string line(const std::string& kind, const std::string& payload) {
  return std::string(kSecret) + " " + kind + " " + payload + "\n";
}

// What the harness says for one test that ends with `status` after `failures`.
std::string report(const std::string& test, const std::string& status,
                   const std::vector<std::string>& failures = {}, bool done = true) {
  std::string text = line("start", test);
  for (const auto& f : failures) text += line("failure", f);
  text += line("end", test + " " + status);
  if (done) text += line("done", "1");
  return text;
}

const std::vector<std::string> kTwoFailures = {
    "t.cpp:4\\nExpected equality of these values:\\n  a\\n    Which is: 3\\n  4\\ncounted 3 "
    "increments, expected 4",
    "t.cpp:4\\nValue of: false\\n  Actual: false\\nExpected: true"};

RunObservation exited(int code, std::string output, const std::string& channel,
                      std::string test = "Suite.Fails") {
  RunObservation run;
  run.process.ending = Ending::exited;
  run.process.exit_code = code;
  run.process.output = std::move(output);
  run.channel = parse_channel(channel, kSecret, test);
  run.test_name = std::move(test);
  run.timeout_s = 10;
  run.cpu_limit_s = 25;
  run.file_size_limit = 256.0 * 1024 * 1024;
  run.process_limit = 128;
  run.memory_limit = 2048.0 * 1024 * 1024;
  run.output_cap = std::size_t{64} * 1024;
  return run;
}

RunObservation signaled(int signal, std::string output = "") {
  auto run = exited(0, std::move(output), "");
  run.process.ending = Ending::signaled;
  run.process.exit_code = -1;
  run.process.signal = signal;
  return run;
}

TEST(Channel, ReadsAPassAFailureWithItsMessagesAndAListing) {
  const auto passed = parse_channel(report("Suite.Passes", "passed"), kSecret, "Suite.Passes");
  EXPECT_TRUE(passed.started && passed.ended && passed.done);
  EXPECT_EQ(passed.status, "passed");
  EXPECT_TRUE(passed.problems.empty());

  const auto failed =
      parse_channel(report("Suite.Fails", "failed", kTwoFailures), kSecret, "Suite.Fails");
  ASSERT_EQ(failed.failures.size(), 2U);
  EXPECT_EQ(failed.failures[1], "t.cpp:4\nValue of: false\n  Actual: false\nExpected: true")
      << "newlines and backslashes travel escaped";

  const auto listing = parse_channel(
      line("test", "Suite.A") + line("test", "Values/P.B/0") + line("done", "0"), kSecret, "");
  EXPECT_EQ(listing.listed, (std::vector<std::string>{"Suite.A", "Values/P.B/0"}));
  EXPECT_TRUE(listing.done && !listing.started);
}

TEST(Channel, LinesWithoutTheSecretOrOutOfOrderAreProblems) {
  EXPECT_FALSE(
      parse_channel("forged start Suite.Fails\n", kSecret, "Suite.Fails").problems.empty());
  EXPECT_FALSE(
      parse_channel(report("Other.Test", "passed"), kSecret, "Suite.Fails").problems.empty())
      << "only the test that was asked for may start";
  EXPECT_FALSE(parse_channel(report("Suite.Fails", "passed") + line("start", "Suite.Fails"),
                             kSecret, "Suite.Fails")
                   .problems.empty())
      << "nothing after done";
  EXPECT_FALSE(
      parse_channel(line("end", "Suite.Fails passed"), kSecret, "Suite.Fails").problems.empty())
      << "an end without a start";
  EXPECT_TRUE(parse_channel(line("start", "Suite.Fails") + std::string(kSecret) + " end Sui",
                            kSecret, "Suite.Fails")
                  .problems.empty())
      << "a line cut off by a kill is not a forgery";
}

TEST(Classify, ACleanExitWithAReportedPassPasses) {
  const auto verdict = classify(exited(0, "", report("Suite.Passes", "passed"), "Suite.Passes"));
  EXPECT_EQ(verdict.outcome, Outcome::passed);
}

TEST(Classify, AFailedTestFailsWithItsMessages) {
  const auto verdict = classify(exited(1, "", report("Suite.Fails", "failed", kTwoFailures)));
  EXPECT_EQ(verdict.outcome, Outcome::failed);
  EXPECT_EQ(verdict.reason, "Expected equality of these values: (and 1 more failure)");
  EXPECT_NE(verdict.output.find("counted 3 increments, expected 4"), std::string::npos);
  EXPECT_NE(verdict.output.find("Expected: true"), std::string::npos);
}

TEST(Classify, ASkippedTestIsNotRunWithTheSkipMessage) {
  const auto verdict =
      classify(exited(0, "t.cpp:5: Skipped\nno python here\n\n[  SKIPPED ] Suite.Skips",
                      report("Suite.Skips", "skipped"), "Suite.Skips"));
  EXPECT_EQ(verdict.outcome, Outcome::not_run);
  EXPECT_EQ(verdict.reason, "skipped: no python here");
}

TEST(Classify, ATestMissingFromTheBinaryIsNotRun) {
  const auto verdict = classify(exited(0, "", line("done", "0"), "Suite.Gone"));
  EXPECT_EQ(verdict.outcome, Outcome::not_run);
  EXPECT_NE(verdict.reason.find("no test named Suite.Gone"), std::string::npos);
}

TEST(Classify, AnExitBeforeOrDuringTheTestFailsAndSaysWhy) {
  const auto before = classify(exited(0, "", ""));
  EXPECT_EQ(before.outcome, Outcome::failed) << "exit(0) in a static initialiser is no pass";
  EXPECT_NE(before.reason.find("before the test started"), std::string::npos) << before.reason;

  const auto during = classify(exited(0, "bye\n", line("start", "Suite.Fails")));
  EXPECT_EQ(during.outcome, Outcome::failed);
  EXPECT_NE(during.reason.find("in the middle of the test"), std::string::npos) << during.reason;

  const auto after = classify(exited(0, "", report("Suite.Fails", "passed", {}, false)));
  EXPECT_EQ(after.outcome, Outcome::failed) << "a pass must be followed by a normal end";

  const auto code = classify(exited(3, "", report("Suite.Fails", "passed")));
  EXPECT_EQ(code.outcome, Outcome::failed);
  EXPECT_NE(code.reason.find("exited with code 3"), std::string::npos);
}

TEST(Classify, AForgedOrTamperedReportFails) {
  const auto forged = classify(exited(0, "", "x start Suite.Fails\nx end Suite.Fails passed\n"));
  EXPECT_EQ(forged.outcome, Outcome::failed);
  EXPECT_NE(forged.reason.find("tampered"), std::string::npos) << forged.reason;

  const auto tamper = classify(exited(0, "",
                                      line("start", "Suite.Fails") +
                                          line("tamper",
                                               "GoogleTest's failure reporting was "
                                               "replaced") +
                                          line("end", "Suite.Fails failed") + line("done", "1")));
  EXPECT_EQ(tamper.outcome, Outcome::failed);
  EXPECT_NE(tamper.reason.find("failure reporting was replaced"), std::string::npos);
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
  const auto verdict = classify(exited(66, report, "", "Counter.Exact"));
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
             ""));
  EXPECT_EQ(asan.outcome, Outcome::sanitizer);
  EXPECT_EQ(split_lines(asan.reason).front(),
            "ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010");
  EXPECT_NE(asan.reason.find("#0 use() /src/a.cpp:3"), std::string::npos) << asan.reason;

  const auto lsan = classify(exited(66, "==5==ERROR: LeakSanitizer: detected memory leaks\n",
                                    report("Suite.Passes", "passed"), "Suite.Passes"));
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

  const auto threads = classify(
      exited(1, "",
             report("Suite.Throws", "failed",
                    {"unknown file\\nC++ exception with description \"Resource temporarily "
                     "unavailable\" thrown in the test body."}),
             "Suite.Throws"));
  EXPECT_EQ(threads.outcome, Outcome::resource_limit)
      << "std::thread could not start: \"Resource temporarily unavailable\"";
  EXPECT_NE(threads.reason.find("Resource temporarily unavailable"), std::string::npos);

  auto bomb = exited(0, "", "");
  bomb.process.ending = Ending::process_limit;
  EXPECT_EQ(classify(bomb).outcome, Outcome::resource_limit);
  EXPECT_NE(classify(bomb).reason.find("more than 128 processes"), std::string::npos);

  auto memory = exited(0, "", "");
  memory.process.ending = Ending::memory_limit;
  EXPECT_EQ(classify(memory).outcome, Outcome::resource_limit);
  EXPECT_NE(classify(memory).reason.find("more than 2048 MiB of memory"), std::string::npos);
}

TEST(Classify, TimeoutsOutputFloodsAndSpawnFailures) {
  auto timeout = exited(0, "[ RUN      ] Suite.Fails\nwaiting...\n", "");
  timeout.process.ending = Ending::timed_out;
  const auto t = classify(timeout);
  EXPECT_EQ(t.outcome, Outcome::timeout);
  EXPECT_EQ(t.reason,
            "timed out after 10 s (the test's limit); a deadlock or a sequential implementation "
            "looks like this");
  EXPECT_EQ(t.output, "waiting...") << "GoogleTest's banner lines are dropped";

  auto flood = exited(0, "yyyy", "");
  flood.process.ending = Ending::output_limit;
  EXPECT_EQ(classify(flood).outcome, Outcome::output_limit);
  EXPECT_EQ(classify(flood).reason, "printed more than 64 KiB");

  auto spawn = exited(0, "", "");
  spawn.process.ending = Ending::spawn_failed;
  spawn.process.error = "cannot run x: Permission denied";
  EXPECT_EQ(classify(spawn).outcome, Outcome::not_run);
}

}  // namespace
}  // namespace grader
