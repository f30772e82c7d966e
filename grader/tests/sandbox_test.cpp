// The sandbox's layers against hostile programs (the helpers in helper_programs.cpp): a fork bomb
// whose processes leave their group, a test that signals the grader, writes outside the run's
// own /tmp, a memory hog. These need root (a cgroup, a separate user, mount namespaces); as
// another user they are skipped with the reason.
#include "running/sandbox.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "commands/commands.hpp"
#include "running/proc.hpp"
#include "running/process.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

namespace fs = std::filesystem;

// Every process on the machine.
int machine_processes() { return static_cast<int>(proc::processes().size()); }

int processes_of_user(uid_t uid) {
  const auto all = proc::processes();
  return static_cast<int>(std::count_if(all.begin(), all.end(), [uid](const proc::Process& p) {
    return p.owner == uid && !p.zombie();
  }));
}

// One sandboxed run of a helper, with every layer the machine allows.
struct Sandboxed {
  std::optional<UidLease> user;
  std::unique_ptr<RunDir> dir;
  std::unique_ptr<RunCgroup> cgroup;
  ProcessSpec spec;

  Sandboxed(const std::string& mode, const std::string& arg = "",
            CgroupLimits limits = CgroupLimits{}, std::uint64_t tmp_bytes = 64ULL << 20) {
    if (auto lease = UidLease::take()) user.emplace(std::move(*lease));
    std::optional<uid_t> uid;
    if (user) uid = user->uid();
    dir = std::make_unique<RunDir>(tmp_bytes, uid);
    cgroup = RunCgroup::create(limits);
    spec.argv = {fs::read_symlink("/proc/self/exe").string()};
    spec.env = environment_with({{"GRADER_TEST_HELPER", mode}, {"GRADER_TEST_ARG", arg}});
    spec.limits.wall_timeout_s = 20;
    spec.limits.max_group_processes = 128;
    spec.isolation.cgroup = cgroup.get();
    spec.isolation.uid = uid;
    if (dir->bounded()) {
      spec.isolation.private_tmp = dir->path();
      spec.isolation.read_only.push_back(testing_support::course_dir());
      spec.cwd = "/tmp";
    } else {
      spec.cwd = dir->path();
    }
  }
};

class Sandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& support = sandbox_support();
    if (!support.root || support.cgroups == CgroupKind::none || !support.separate_users ||
        !support.mount_namespaces) {
      GTEST_SKIP() << "these layers need root, a cgroup and mount namespaces; here: "
                   << support.describe();
    }
  }
};

TEST_F(Sandbox, AForkBombThatLeavesItsGroupIsStoppedAtOnceAndLeavesNothing) {
  const int before = machine_processes();
  Sandboxed run("fork-bomb-setsid");
  const auto result = run_process(run.spec);
  EXPECT_EQ(result.ending, Ending::process_limit);
  // The cgroup is watched every 10 ms; 5 s is a wide margin on a loaded machine.
  EXPECT_LT(result.seconds, 5.0) << "a fork bomb must be a LIMIT result within about a second";
  EXPECT_EQ(processes_of_user(run.user->uid()), 0) << "every process of the run is gone";
  EXPECT_EQ(run.cgroup->process_count(), 0);
  // Other processes of the machine come and go; the bomb's thousands must not be among them.
  EXPECT_LT(machine_processes(), before + 20) << "the machine's process count is back";
}

TEST_F(Sandbox, ATestCannotStopOrKillTheGrader) {
  Sandboxed run("signal-the-grader");
  const auto result = run_process(run.spec);
  EXPECT_EQ(result.ending, Ending::exited);
  EXPECT_EQ(result.exit_code, 0) << "SIGSTOP and SIGKILL to the grader must be refused (EPERM)";
}

TEST_F(Sandbox, WritesStayInTheRunsOwnBoundedTmpAndTheCourseTreeIsReadOnly) {
  Sandboxed run("write-everywhere", testing_support::course_dir().string());
  const auto result = run_process(run.spec);
  ASSERT_EQ(result.ending, Ending::exited) << result.error << result.output;
  EXPECT_EQ(result.exit_code & 1, 0) << "wrote into the course tree";
  EXPECT_EQ(result.exit_code & 2, 0) << "could not write 4 MiB into its own /tmp";
  EXPECT_EQ(result.exit_code & 4, 0) << "its /tmp is not bounded (1 GiB fitted in 64 MiB)";
  EXPECT_EQ(result.exit_code & 8, 0) << "wrote into /root";
  EXPECT_FALSE(fs::exists(testing_support::course_dir() / "sandbox-probe"));
  EXPECT_FALSE(fs::exists("/tmp/sandbox-small")) << "the run's /tmp is its own";
  EXPECT_FALSE(fs::exists("/tmp/sandbox-large"));
  const auto dir = run.dir->path();
  run.dir.reset();
  EXPECT_FALSE(fs::exists(dir)) << "the run's directory is gone with everything in it";
}

TEST_F(Sandbox, TheMemoryCapStopsAHog) {
  CgroupLimits limits;
  limits.max_memory_bytes = 256ULL << 20;
  Sandboxed run("hog-memory", "", limits);
  const auto result = run_process(run.spec);
  EXPECT_EQ(result.ending, Ending::memory_limit) << "exit " << result.exit_code;
}

TEST_F(Sandbox, ACourseTreeUnderAnUnsearchableDirectoryIsStillReachable) {
  // A checkout under /root (mode 0700) is the common case; this one is under a 0700 directory.
  TempDir outer("course-cover-");
  fs::permissions(outer.path(), fs::perms::owner_all, fs::perm_options::replace);
  const auto tree = outer.path() / "course";
  fs::create_directories(tree);
  testing_support::put(tree, "data.txt", "reachable\n");
  Sandboxed run("read-arg-file", (tree / "data.txt").string());
  ASSERT_TRUE(run.user.has_value());
  const auto cover = blocking_ancestor(tree, run.user->uid());
  ASSERT_TRUE(cover.has_value()) << "the 0700 directory blocks the sandbox's user";
  EXPECT_EQ(*cover, outer.path());
  // The helper runs from inside the tree: the run sees nothing else of where it lies (the
  // private /tmp would hide a course checked out under /tmp, as a fresh clone may be).
  fs::copy_file(run.spec.argv.front(), tree / "helper");
  run.spec.argv = {(tree / "helper").string()};
  fs::permissions(tree, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  run.spec.isolation.read_only = {tree};
  run.spec.isolation.cover = cover;
  const auto result = run_process(run.spec);
  EXPECT_EQ(result.ending, Ending::exited) << result.error;
  EXPECT_EQ(result.exit_code, 0) << "the tree's file could not be read as the sandbox's user";
}

TEST_F(Sandbox, WithoutACgroupADaemonEndsWithItsUsersLease) {
  // Where no cgroup can be made (some containers), nothing kills a daemon that left the process
  // group; its user id would then be leased to a later test, which it could signal.
  Sandboxed run("leave-a-daemon");
  run.spec.isolation.cgroup = nullptr;
  // Nor a PID namespace, which would end the daemon with its init: the lease alone must.
  run.spec.isolation.private_tmp.clear();
  run.spec.isolation.read_only.clear();
  run.spec.isolation.cover.reset();
  const auto result = run_process(run.spec);
  ASSERT_EQ(result.ending, Ending::exited) << result.error;
  const uid_t uid = run.user->uid();
  EXPECT_GE(processes_of_user(uid), 1) << "the daemon should have outlived the run";
  run.user.reset();
  EXPECT_EQ(processes_of_user(uid), 0) << "giving the user id back ends all its processes";
}

TEST_F(Sandbox, TheFilterRefusesProcessesAndProgramsUnlessThePolicyAllowsThem) {
  Sandboxed refused("start-programs");
  refused.spec.isolation.syscalls = SyscallPolicy{};
  const auto denied = run_process(refused.spec);
  ASSERT_EQ(denied.ending, Ending::exited) << denied.error;
  EXPECT_EQ(denied.exit_code, 0) << "a threads-only test started a process or a program ("
                                 << denied.exit_code << ")";

  Sandboxed allowed("start-programs");
  allowed.spec.isolation.syscalls = SyscallPolicy{.fork = true, .exec = true};
  const auto started = run_process(allowed.spec);
  ASSERT_EQ(started.ending, Ending::exited) << started.error;
  EXPECT_EQ(started.exit_code, 1) << "fork was refused although the policy allows it";
}

TEST_F(Sandbox, ARunSeesOnlyItsOwnPidNamespace) {
  Sandboxed run("count-processes");
  const auto result = run_process(run.spec);
  ASSERT_EQ(result.ending, Ending::exited) << result.error;
  EXPECT_LE(result.exit_code, 2) << "its /proc shows " << result.exit_code
                                 << " processes: the namespace's init and the test only";
  EXPECT_GE(result.exit_code, 1);
}

TEST_F(Sandbox, AWorldWritableFolderOfTheMachineIsReadOnlyInARun) {
  // A folder on the root file system that anyone may write, as /run/lock or /var/crash are.
  const fs::path place =
      fs::path("/var/tmp").parent_path() / "lib" / ("course-ww-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(place, ec);
  if (ec) GTEST_SKIP() << "cannot make " << place << ": " << ec.message();
  fs::permissions(place, fs::perms::all | fs::perms::sticky_bit, ec);
  Sandboxed run("write-arg-dir", place.string());
  const auto result = run_process(run.spec);
  const bool left = fs::exists(place / "sandbox-probe");
  fs::remove_all(place, ec);
  ASSERT_EQ(result.ending, Ending::exited) << result.error;
  EXPECT_EQ(result.exit_code, 0) << "the run wrote into " << place;
  EXPECT_FALSE(left);
}

TEST_F(Sandbox, StudentCodeCompilesAsASandboxUserWhoCannotReadRootsFiles) {
  if (!find_executable("c++")) GTEST_SKIP() << "needs c++";
  TempDir secret_dir;  // 0700, root's: its file is what an .incbin or an #include would leak
  fs::permissions(secret_dir.path(), fs::perms::owner_all, fs::perm_options::replace);
  testing_support::put(secret_dir.path(), "secret.h", "int leaked = 1;\n");
  TempDir tree;
  fs::permissions(tree.path(),
                  fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  testing_support::put(tree.path(), "ok.cpp", "int ok() { return 1; }\n");
  testing_support::put(tree.path(), "bad.cpp",
                       "#include \"" + (secret_dir.path() / "secret.h").string() +
                           "\"\nint bad() { return leaked; }\n");
  const auto saved = fs::current_path();
  fs::current_path(tree.path());  // as Ninja runs the launcher: from the build tree
  const int ok = cmd_sandbox_compile(tree.path(), {"c++", "-c", "ok.cpp", "-o", "ok.o"});
  const int bad = cmd_sandbox_compile(tree.path(), {"c++", "-c", "bad.cpp", "-o", "bad.o"});
  fs::current_path(saved);
  EXPECT_EQ(ok, 0) << "a plain file must compile in the sandbox";
  struct stat st {};
  ASSERT_EQ(::stat((tree.path() / "ok.o").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_EQ(st.st_uid, ::getuid()) << "the object is given back to the grader's user";
  EXPECT_NE(bad, 0) << "the compiler read a file only root may read";
  EXPECT_FALSE(fs::exists(tree.path() / "bad.o")) << "a failed compile leaves no object";
}

TEST_F(Sandbox, TwoRunsAtOnceGetTwoUsers) {
  auto first = UidLease::take();
  auto second = UidLease::take();
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->uid(), second->uid()) << "one test could then signal the other";
}

}  // namespace
}  // namespace grader
