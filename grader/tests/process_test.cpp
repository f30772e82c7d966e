// The sandboxed runner: exit codes, output, timeouts that kill whole process
// groups, crashes, output floods, fork bombs and resource limits.
#include "running/process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "running/proc.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

ProcessSpec shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return spec;
}

ProcessSpec helper(const std::string& mode) {
  ProcessSpec spec;
  spec.argv = {std::filesystem::read_symlink("/proc/self/exe").string()};
  spec.env = environment_with({{"GRADER_TEST_HELPER", mode}});
  return spec;
}

bool process_exists(pid_t pid) {
  // A zombie still has a /proc entry; the runner must have reaped everything.
  return std::filesystem::exists("/proc/" + std::to_string(pid));
}

TEST(Process, ReportsExitCodeAndInterleavedOutput) {
  const auto result = run_process(shell("echo to-stdout; echo to-stderr >&2; exit 3"));
  EXPECT_EQ(result.ending, Ending::exited);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.output, "to-stdout\nto-stderr\n");
}

TEST(Process, GivesTheChildAnEmptyStdinItsOwnGroupDirectoryAndEnvironment) {
  TempDir dir;
  auto spec =
      shell("cat; echo \"pwd=$(pwd) greeting=$GREETING pgid=$(cut -d' ' -f5 /proc/$$/stat)\"");
  spec.cwd = dir.path();
  spec.env = environment_with({{"GREETING", "hello"}});
  const auto result = run_process(spec);
  ASSERT_TRUE(result.succeeded()) << result.output << result.error;
  EXPECT_NE(result.output.find("pwd=" + dir.path().string()), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("greeting=hello"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("pgid=" + std::to_string(result.pgid)), std::string::npos)
      << "the child leads its own process group: " << result.output;
  EXPECT_NE(result.pgid, ::getpgrp());
}

TEST(Process, TimeoutKillsTheChildAndItsGrandchild) {
  TempDir dir;
  auto spec = shell("sleep 60 & echo $! > grandchild.pid; echo $$ > child.pid; sleep 60");
  spec.cwd = dir.path();
  spec.limits.wall_timeout_s = 0.5;
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::timed_out);
  EXPECT_GE(result.seconds, 0.5);
  EXPECT_LT(result.seconds, 5.0);
  const auto child = std::stoi(read_file(dir.path() / "child.pid"));
  const auto grandchild = std::stoi(read_file(dir.path() / "grandchild.pid"));
  EXPECT_FALSE(process_exists(child));
  EXPECT_FALSE(process_exists(grandchild)) << "the background sleep must die with its group";
  EXPECT_EQ(proc::count_in_group(result.pgid), 0);
}

TEST(Process, AGrandchildLeftBehindByAFinishedChildIsKilled) {
  TempDir dir;
  auto spec = shell("sleep 60 > /dev/null 2>&1 & echo $! > grandchild.pid; exit 0");
  spec.cwd = dir.path();
  spec.limits.wall_timeout_s = 30;
  const auto result = run_process(spec);
  EXPECT_TRUE(result.succeeded());
  EXPECT_LT(result.seconds, 5.0);
  EXPECT_FALSE(process_exists(std::stoi(read_file(dir.path() / "grandchild.pid"))));
}

TEST(Process, ACrashIsReportedWithItsSignal) {
  const auto result = run_process(helper("segv"));
  EXPECT_EQ(result.ending, Ending::signaled);
  EXPECT_EQ(result.signal, SIGSEGV);
  EXPECT_NE(describe_signal(result.signal).find("segmentation fault"), std::string::npos);
}

TEST(Process, AnOutputFloodIsCappedAndStopped) {
  auto spec = shell("exec yes 'flooding the grader'");
  spec.limits.output_cap_bytes = 64 * 1024;
  spec.limits.wall_timeout_s = 30;
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::output_limit);
  EXPECT_EQ(result.output.size(), 64U * 1024U);
  EXPECT_LT(result.seconds, 5.0);
}

TEST(Process, AForkBombIsContainedQuickly) {
  auto spec = helper("fork-many");
  spec.limits.max_group_processes = 64;
  spec.limits.process_headroom = 256;
  spec.limits.wall_timeout_s = 60;
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::process_limit);
  EXPECT_LT(result.seconds, 5.0) << "the process count is watched, not left to the timeout";
  EXPECT_EQ(proc::count_in_group(result.pgid), 0) << "every process of the group is gone";
}

TEST(Process, TheResultChannelIsReadAndCapped) {
  ProcessSpec spec;
  spec.argv = {"/bin/bash", "-c", "printf 'hello\\n' >&101"};
  spec.channel_secret = "s3cr3t";
  auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::exited);
  EXPECT_EQ(result.report, "hello\n");

  spec.argv = {"/bin/bash", "-c", "head -c 3000000 /dev/zero >&101"};
  result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::output_limit) << "more than 1 MiB on the result channel";
  EXPECT_LE(result.report.size(), spec.report_cap_bytes);
}

TEST(Process, TheChildReadsTheSecretFromTheFirstPipe) {
  ProcessSpec spec;
  spec.argv = {"/bin/bash", "-c", "cat <&100 >&101"};
  spec.channel_secret = "s3cr3t";
  EXPECT_EQ(run_process(spec).report, "s3cr3t");
}

TEST(Process, TheFileSizeLimitStopsAWriter) {
  TempDir dir;
  auto spec = shell("exec head -c 4000000 /dev/zero > big.bin");
  spec.cwd = dir.path();
  spec.limits.file_size_bytes = 1 << 20;
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::signaled);
  EXPECT_EQ(result.signal, SIGXFSZ);
  EXPECT_LE(std::filesystem::file_size(dir.path() / "big.bin"), 1U << 20);
}

TEST(Process, TheCpuLimitStopsABusyLoop) {
  auto spec = shell("exec sh -c 'while :; do :; done'");
  spec.limits.cpu_seconds = 1;
  spec.limits.wall_timeout_s = 30;
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::signaled);
  EXPECT_TRUE(result.signal == SIGXCPU || result.signal == SIGKILL) << result.signal;
  EXPECT_LT(result.seconds, 10.0);
}

TEST(Process, AMissingProgramIsASpawnFailure) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/program"};
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::spawn_failed);
  EXPECT_NE(result.error.find("/nonexistent/program"), std::string::npos);

  TempDir dir;
  testing_support::put(dir.path(), "not-executable", "#!/bin/sh\n");
  std::filesystem::permissions(dir.path() / "not-executable", std::filesystem::perms::owner_read);
  spec.argv = {(dir.path() / "not-executable").string()};
  EXPECT_EQ(run_process(spec).ending, Ending::spawn_failed);
}

TEST(Process, ABadWorkingDirectoryIsASpawnFailureWithTheReason) {
  auto spec = shell("true");
  spec.cwd = "/nonexistent/directory";
  const auto result = run_process(spec);
  EXPECT_EQ(result.ending, Ending::spawn_failed);
  EXPECT_NE(result.error.find("No such file or directory"), std::string::npos) << result.error;
}

TEST(Process, StreamsOutputToACallback) {
  auto spec = shell("echo '[1/2] one'; echo '[2/2] two'");
  std::string seen;
  spec.on_output = [&seen](std::string_view chunk) { seen += chunk; };
  const auto result = run_process(spec);
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(seen, "[1/2] one\n[2/2] two\n");
}

TEST(Process, FindsExecutablesInPathAndBuildsEnvironments) {
  EXPECT_TRUE(find_executable("sh").has_value());
  EXPECT_FALSE(find_executable("no-such-program-for-sure").has_value());
  EXPECT_GT(proc::threads_of(::getuid()), 0U);

  const auto env = environment_with({{"PATH", "/only/this"}, {"NEW_VARIABLE", "1"}});
  EXPECT_EQ(std::count(env.begin(), env.end(), "PATH=/only/this"), 1);
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }),
            1);
  EXPECT_EQ(std::count(env.begin(), env.end(), "NEW_VARIABLE=1"), 1);
}

}  // namespace
}  // namespace grader
