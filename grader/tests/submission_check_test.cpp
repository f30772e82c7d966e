// The checks on student code before and after it is compiled (submission_check.hpp): includes
// that leave the exercise, symlinks, words a header-only exercise may not use, and the symbols,
// sections and instructions of compiled objects.
#include "building/submission_check.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "running/process.hpp"
#include "test_support.hpp"

namespace grader {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> check_text(const std::string& text, const std::string& name = "a.cpp",
                                    const std::vector<std::string>& allowed = {}) {
  TempDir dir;
  testing_support::put(dir.path(), name, text);
  const bool header_only = name.ends_with(".hpp");
  return check_sources({{dir.path() / name, dir.path(), name}}, header_only, allowed);
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

void expect_mentions_all(const std::vector<std::string>& problems,
                         const std::vector<std::string>& texts) {
  for (const auto& text : texts)
    EXPECT_TRUE(mentions(problems, text)) << "no problem says " << text;
}

TEST(SourceCheck, IncludesThatClimbOutOfTheExerciseOrAreComputedAreRefused) {
  EXPECT_TRUE(check_text("#include <vector>\n#include \"warmup/warmup.hpp\"\n"
                         "// #include \"../../solutions/x.cpp\"\n"
                         "const char* s = \"#include \\\"../x\\\"\";\n")
                  .empty())
      << "ordinary includes, a comment and a string are fine";
  EXPECT_TRUE(mentions(check_text("#include \"../../../../solutions/00-warmup/src/counter.cpp\"\n"),
                       "reaches outside the exercise"));
  EXPECT_TRUE(mentions(check_text("#  include </etc/passwd>\n"), "reaches outside"));
  EXPECT_TRUE(mentions(check_text("#/**/include \"a/../../b.hpp\"\n"), "reaches outside"))
      << "a comment between # and include changes nothing";
  EXPECT_TRUE(mentions(check_text("#inc\\\nlude \"../b.hpp\"\n"), "reaches outside"))
      << "nor does a line continuation";
  EXPECT_TRUE(mentions(check_text("#define P \"../x.hpp\"\n#include P\n"), "not a macro"));
  EXPECT_TRUE(
      mentions(check_text("#if __has_include(\"../../x.hpp\")\n#endif\n"), "__has_include"));
  EXPECT_TRUE(mentions(check_text("asm(\".incbin \\\"/etc/passwd\\\"\");\n"), ".incbin"));
}

TEST(SourceCheck, ASymlinkedFileOrDirectoryIsRefused) {
  TempDir dir;
  testing_support::put(dir.path(), "real/a.cpp", "int x;\n");
  fs::create_symlink(dir.path() / "real" / "a.cpp", dir.path() / "link.cpp");
  fs::create_symlink(dir.path() / "real", dir.path() / "src");
  EXPECT_TRUE(
      mentions(check_sources({{dir.path() / "link.cpp", dir.path(), "link.cpp"}}, false, {}),
               "symbolic link"));
  EXPECT_TRUE(
      mentions(check_sources({{dir.path() / "src" / "a.cpp", dir.path(), "src/a.cpp"}}, false, {}),
               "symbolic link"))
      << "a link anywhere on the way counts";
  EXPECT_TRUE(check_sources({{dir.path() / "real" / "a.cpp", dir.path(), "real/a.cpp"}}, false, {})
                  .empty());
}

TEST(SourceCheck, AHeaderOnlyExerciseMayNotUseTheRefusedCallsAsWords) {
  EXPECT_TRUE(check_text("template <class T> struct Cache { T get(); };\n"
                         "// exit() in a comment, \"fork\" in a string\n",
                         "cache.hpp")
                  .empty());
  const auto problems = check_text(
      "inline void f() { std::exit(0); ::fork(); }\nint main() {}\n"
      "#define CAT(a, b) a##b\ntesting::Test* t;\n",
      "cache.hpp");
  expect_mentions_all(problems, {"uses exit()", "uses fork()", "'main'", "'testing'", "##"});
  EXPECT_FALSE(
      mentions(check_text("inline void f() { ::fork(); }\n", "cache.hpp", {"fork"}), "fork"))
      << "allowed_calls lets it through";
}

TEST(SourceCheck, ANamespaceOrAHeaderNamedLikeARefusedCallIsNotACall) {
  EXPECT_TRUE(check_text("#include <boost/system/system_error.hpp>\n"
                         "  #  include <sys/wait.h>\n"
                         "inline void f() { throw boost::system::system_error({}); }\n"
                         "inline boost::system :: error_code e;\n",
                         "async_pool.hpp")
                  .empty())
      << "exercise 08's async pool throws boost::system::system_error, as its header says";
  expect_mentions_all(check_text("inline int f() { return std::system(\"sh\"); }\n"
                                 "#define RUN system\n"
                                 "inline auto* g = &::fork;\n",
                                 "cache.hpp"),
                      {"uses system()", "uses fork()"});
  EXPECT_TRUE(
      mentions(check_text("#define X 1\ninline int f() { return system(\"sh\"); }\n", "cache.hpp"),
               "uses system()"))
      << "a directive that is not an include does not hide the lines after it";
}

TEST(SourceCheck, AssemblySymbolAttributesPastingAndPragmasAreRefusedInEveryFile) {
  for (const char* code :
       {"asm(\".incbin \\\"/etc/shadow\\\"\");\n", "void f() { __asm__ volatile(\"\"); }\n",
        "__attribute__((section(\".text\"))) int x;\n", "[[gnu::alias(\"g\")]] void f();\n",
        "__attribute__((constructor(101))) void f() {}\n", "#define J(a, b) a##b\n",
        "_Pragma(\"weak write\")\n", "#pragma weak write = mine\n"}) {
    EXPECT_FALSE(check_text(code, "counter.cpp").empty()) << "accepted: " << code;
  }
  EXPECT_TRUE(check_text("#pragma once\n#pragma GCC diagnostic ignored \"-Wshadow\"\n"
                         "// asm, section and ## in a comment\n"
                         "const char* s = \"the header section\";\nint sectioned = 0x1e5;\n",
                         "counter.cpp")
                  .empty())
      << "comments, strings, longer words and the usual pragmas are not code";
}

// Compiles each named source to an object in `dir` (g++ -c -O1 -fPIC).
void compile(const fs::path& dir, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    ProcessSpec compile;
    compile.argv = {"g++", "-std=c++20",
                    "-O1", "-fPIC",
                    "-c",  (dir / (name + ".cpp")).string(),
                    "-o",  (dir / (name + ".cpp.o")).string()};
    const auto result = run_process(compile);
    ASSERT_TRUE(result.succeeded()) << name << ":\n" << result.output;
  }
}

TEST(ObjectCheck, ADefinitionAnotherFileOfTheLinkHasIsRefusedUnlessBothAreInlineCopies) {
  if (!find_executable("g++") || !find_executable("ar") || !find_executable("nm")) {
    GTEST_SKIP() << "needs g++, ar and nm";
  }
  TempDir dir;
  const std::string shared_header =
      "template <class T> T twice(T x) { return x + x; }\n"
      "inline int counter() { static int n = 0; return ++n; }\n";
  testing_support::put(dir.path(), "student.cpp",
                       "#include <unistd.h>\n#include <string>\n" + shared_header +
                           "extern \"C\" ssize_t write(int, const void*, size_t) { return 0; }\n"
                           "namespace course { int probe_peak() { return 64; } }\n"
                           "extern \"C\" const char* __tsan_default_options() { return \"\"; }\n"
                           "extern \"C\" void __sanitizer_symbolize_code() {}\n"
                           "extern \"C\" inline ssize_t read(int, void*, size_t) { return 0; }\n"
                           "auto keep_read = &read;\n"
                           "int student_work() { return twice(2) + counter(); }\n"
                           "std::string name() { return \"x\"; }\n");
  testing_support::put(dir.path(), "kit.cpp",
                       shared_header +
                           "namespace course { int probe_peak() { return 1; } }\n"
                           "int kit_work() { return twice(3) + counter(); }\n");
  testing_support::put(dir.path(), "main.cpp",
                       "int student_work(); int kit_work();\n"
                       "int main() { return student_work() + kit_work(); }\n");
  compile(dir.path(), {"student", "kit", "main"});
  ProcessSpec archive;
  archive.argv = {"ar", "rcs", (dir.path() / "libstudent.a").string(),
                  (dir.path() / "student.cpp.o").string()};
  ASSERT_TRUE(run_process(archive).succeeded());
  archive.argv = {"ar", "rcs", (dir.path() / "libkit.a").string(),
                  (dir.path() / "kit.cpp.o").string()};
  ASSERT_TRUE(run_process(archive).succeeded());
  // The kit's object is pulled in for kit_work, so probe_peak is defined twice: -z muldefs lets
  // the link go through, as a student who defines every symbol of a member would.
  ProcessSpec link;
  link.argv = {"g++",
               (dir.path() / "main.cpp.o").string(),
               (dir.path() / "libstudent.a").string(),
               (dir.path() / "libkit.a").string(),
               "-Wl,-z,muldefs",
               "-Wl,-Map=" + (dir.path() / "tests.map").string(),
               "-o",
               (dir.path() / "tests").string()};
  const auto linked = run_process(link);
  ASSERT_TRUE(linked.succeeded()) << linked.output;

  const auto problems =
      check_interposition(dir.path() / "libstudent.a", {{"student.cpp.o", "src/student.cpp"}},
                          dir.path() / "tests.map", dir.path());
  expect_mentions_all(problems, {"src/student.cpp: defines write, which libc.so",
                                 "defines course::probe_peak(), which libkit.a",
                                 "defines __tsan_default_options, a name reserved",
                                 "defines __sanitizer_symbolize_code, a name reserved",
                                 "defines read, which libc.so"});
  EXPECT_FALSE(mentions(problems, "twice")) << "a template instance both files make is fine";
  EXPECT_FALSE(mentions(problems, "counter")) << "an inline function's copies are fine";
  EXPECT_FALSE(mentions(problems, "basic_string")) << "the standard library's templates too";
  EXPECT_EQ(problems.size(), 5U) << join(problems, "\n");

  EXPECT_FALSE(check_interposition(dir.path() / "libstudent.a", {{"student.cpp.o", "s"}},
                                   dir.path() / "missing.map", dir.path())
                   .empty())
      << "without the linker's map the check cannot pass quietly";
}

TEST(ObjectCheck, RefusesMainGoogleTestExitCallsPriorityConstructorsAndRawSystemCalls) {
  if (!find_executable("g++") || !find_executable("ar") || !find_executable("nm")) {
    GTEST_SKIP() << "needs g++, ar and nm";
  }
  TempDir dir;
  testing_support::put(
      dir.path(), "bad.cpp",
      "#include <unistd.h>\n"
      "namespace testing { struct UnitTest { static UnitTest* GetInstance(); }; }\n"
      "int main() { testing::UnitTest::GetInstance(); _exit(0); }\n"
      "volatile int touched;\n"
      "__attribute__((constructor(101))) void early() { touched = 1; }\n"
      "long raw() { long r; asm volatile(\"syscall\" : \"=a\"(r) : \"a\"(39L) : "
      "\"rcx\", \"r11\"); return r; }\n");
  testing_support::put(dir.path(), "good.cpp",
                       "#include <atomic>\n#include <latch>\n#include <thread>\n"
                       "int good() { std::latch l(1); std::jthread t([&] { l.count_down(); });\n"
                       "  l.wait(); std::atomic<int> a{0}; a.wait(1); return 1; }\n");
  for (const char* name : {"bad", "good"}) {
    ProcessSpec compile;
    compile.argv = {"g++",
                    "-std=c++20",
                    "-O1",
                    "-c",
                    (dir.path() / (std::string(name) + ".cpp")).string(),
                    "-o",
                    (dir.path() / (std::string(name) + ".cpp.o")).string()};
    ASSERT_TRUE(run_process(compile).succeeded()) << name;
  }
  ProcessSpec archive;
  archive.argv = {"ar", "rcs", (dir.path() / "lib.a").string(), (dir.path() / "bad.cpp.o").string(),
                  (dir.path() / "good.cpp.o").string()};
  ASSERT_TRUE(run_process(archive).succeeded());

  const auto bad = check_objects(dir.path() / "lib.a", {{"bad.cpp.o", "src/bad.cpp"}}, {});
  expect_mentions_all(bad, {"src/bad.cpp: defines main()", "uses GoogleTest", "calls _exit()",
                            "constructor that runs before", "raw system call"});
  EXPECT_FALSE(
      mentions(check_objects(dir.path() / "lib.a", {{"bad.cpp.o", "b"}}, {"_exit"}), "_exit"))
      << "allowed_calls lets it through";

  const auto good = check_objects(dir.path() / "lib.a", {{"good.cpp.o", "src/good.cpp"}}, {});
  EXPECT_TRUE(good.empty()) << "std::latch, std::jthread and atomic waits are the course's tools: "
                            << (good.empty() ? "" : good.front());
}

}  // namespace
}  // namespace grader
