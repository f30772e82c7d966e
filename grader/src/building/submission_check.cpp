#include "building/submission_check.hpp"

#include <cxxabi.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "course/util.hpp"
#include "running/process.hpp"

namespace grader {

namespace {

// Why each family of calls is refused, as the message says it.
struct CallFamily {
  const char* why;
  std::vector<std::string> names;
};

const std::vector<CallFamily>& call_families() {
  static const std::vector<CallFamily> families = {
      {"ends the program before the test can report; return or throw instead",
       {"exit", "_exit", "_Exit", "quick_exit", "at_quick_exit", "atexit", "on_exit"}},
      {"starts or runs other programs, or leaves the test's process group; the exercise does "
       "not need it",
       {"fork",        "vfork",        "clone",   "clone3", "__clone", "daemon",
        "setsid",      "setpgid",      "setpgrp", "execve", "execv",   "execvp",
        "execvpe",     "execl",        "execlp",  "execle", "fexecve", "execveat",
        "posix_spawn", "posix_spawnp", "system",  "popen"}},
      {"signals other processes; the exercise does not need it",
       {"kill", "killpg", "tgkill", "tkill", "sigqueue", "pidfd_send_signal"}},
      {"loads code or makes raw system calls, which the course cannot check",
       // Not syscall(): libstdc++'s inline std::atomic::wait (so std::latch and
       // std::counting_semaphore) calls it. Raw system call instructions are refused instead.
       {"dlopen", "dlmopen", "dlsym", "dlvsym", "ptrace", "process_vm_readv", "process_vm_writev",
        "__libc_start_main"}},
      {"reads or changes the protection of the process's own memory (where the harness keeps "
       "what it reports); the exercise does not need it",
       {"mprotect", "pkey_mprotect", "pkey_alloc", "process_madvise", "personality", "seccomp"}},
      {"changes the process's limits, identity or mounts, which the grader sets",
       {"prctl",     "setrlimit", "setrlimit64", "prlimit",  "prlimit64", "unshare",  "setns",
        "mount",     "umount",    "umount2",     "chroot",   "setuid",    "seteuid",  "setreuid",
        "setresuid", "setgid",    "setegid",     "setregid", "setresgid", "setgroups"}},
  };
  return families;
}

const CallFamily* family_of(const std::string& name) {
  for (const auto& family : call_families()) {
    if (std::find(family.names.begin(), family.names.end(), name) != family.names.end())
      return &family;
  }
  return nullptr;
}

bool allowed(const std::vector<std::string>& allowed_calls, const std::string& name) {
  return std::find(allowed_calls.begin(), allowed_calls.end(), name) != allowed_calls.end();
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Source text with comments replaced by a space and line continuations joined, string and
// character literals kept.
std::string without_comments(std::string_view text) {
  std::string joined;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      continue;
    }
    joined += text[i];
  }
  std::string out;
  for (std::size_t i = 0; i < joined.size(); ++i) {
    const char c = joined[i];
    if (c == '"' || c == '\'') {
      const std::size_t start = i;
      for (++i; i < joined.size() && joined[i] != c && joined[i] != '\n'; ++i) {
        if (joined[i] == '\\') ++i;
      }
      out.append(joined, start, i - start + 1);
    } else if (c == '/' && i + 1 < joined.size() && joined[i + 1] == '/') {
      while (i < joined.size() && joined[i] != '\n') ++i;
      out += '\n';
    } else if (c == '/' && i + 1 < joined.size() && joined[i + 1] == '*') {
      const auto end = joined.find("*/", i + 2);
      i = end == std::string::npos ? joined.size() : end + 1;
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// "..", or an absolute path, in the name of an included file.
bool escapes(std::string_view name) {
  if (name.empty() || name.front() == '/') return true;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    auto end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(pos, end - pos) == "..") return true;
    pos = end + 1;
  }
  return false;
}

void check_includes(const std::string& text, const std::string& display,
                    std::vector<std::string>& problems) {
  int line_number = 0;
  for (const auto& raw : split_lines(text)) {
    ++line_number;
    auto line = trim(raw);
    const auto where = display + ":" + std::to_string(line_number) + ": ";
    if (line.empty() || line[0] != '#') continue;
    line = trim(std::string_view(line).substr(1));
    std::string directive;
    std::size_t i = 0;
    while (i < line.size() && is_identifier_char(line[i])) directive += line[i++];
    if (directive != "include" && directive != "include_next" && directive != "import" &&
        directive != "embed") {
      continue;
    }
    const auto argument = trim(std::string_view(line).substr(i));
    const char open = argument.empty() ? '\0' : argument[0];
    const char close = open == '<' ? '>' : '"';
    const auto end = argument.find(close, 1);
    if ((open != '<' && open != '"') || end == std::string::npos) {
      problems.push_back(where + "#" + directive +
                         " must name a file in quotes or angle brackets, not a macro");
      continue;
    }
    const auto name = argument.substr(1, end - 1);
    if (escapes(name)) {
      problems.push_back(where + "#" + directive + " " + argument.substr(0, end + 1) +
                         " reaches outside the exercise; include the course's headers by their "
                         "own names (\"warmup/warmup.hpp\") and standard headers with <...>");
    }
  }
  for (std::size_t pos = text.find("__has_include"); pos != std::string::npos;
       pos = text.find("__has_include", pos + 1)) {
    const auto open = text.find_first_of("<\"", pos);
    const auto close = open == std::string::npos ? open : text.find_first_of(">\"", open + 1);
    if (open == std::string::npos || close == std::string::npos ||
        escapes(std::string_view(text).substr(open + 1, close - open - 1))) {
      problems.push_back(display + ": __has_include must name a file inside the exercise");
    }
  }
}

// The directive at `pos` (a '#' that starts a line) names a file: #include and its kin, whose
// argument check_includes checks. Its words (<boost/system/error_code.hpp>) are not code.
bool names_a_file(const std::string& text, std::size_t pos) {
  std::size_t i = pos + 1;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  std::string directive;
  while (i < text.size() && is_identifier_char(text[i])) directive += text[i++];
  return directive == "include" || directive == "include_next" || directive == "import" ||
         directive == "embed";
}

// A word followed by `::` names a namespace or a class (boost::system::error_code), not one of
// the refused functions.
bool qualifies_a_name(const std::string& text, std::size_t end) {
  while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
  return text.compare(end, 2, "::") == 0;
}

// Words of the source that a header-only exercise may not use (it has no object of its own).
void check_words(const std::string& text, const std::string& display,
                 const std::vector<std::string>& allowed_calls,
                 std::vector<std::string>& problems) {
  std::set<std::string> reported;
  std::size_t i = 0;
  bool line_start = true;  // only blanks since the last newline
  while (i < text.size()) {
    if (text[i] == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (line_start && text[i] == '#' && names_a_file(text, i)) {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (text[i] != ' ' && text[i] != '\t') line_start = false;
    if (text[i] == '"' || text[i] == '\'') {  // skip literals
      const char quote = text[i];
      for (++i; i < text.size() && text[i] != quote; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    if (!is_identifier_char(text[i]) || (text[i] >= '0' && text[i] <= '9')) {
      if (text[i] == '#' && i + 1 < text.size() && text[i + 1] == '#' &&
          reported.insert("##").second)
        problems.push_back(display + ": token pasting (##) is refused in a student header");
      ++i;
      continue;
    }
    std::string word;
    while (i < text.size() && is_identifier_char(text[i])) word += text[i++];
    if (reported.contains(word)) continue;
    if (word == "main" || word == "testing" || word == "asm" || word == "__asm__" ||
        word == "__asm") {
      reported.insert(word);
      problems.push_back(display + ": '" + word +
                         "' is refused in student code (the course owns main() and GoogleTest, "
                         "and cannot check assembly)");
    } else if (const auto* family = family_of(word);
               family && !allowed(allowed_calls, word) && !qualifies_a_name(text, i)) {
      reported.insert(word);
      problems.push_back(display + ": uses " + word + "(), which " + family->why);
    }
  }
}

// Words refused in every student file: assembly (which can read any file through the assembler's
// .incbin and .include, and makes system calls the course cannot see), and the attributes that
// hand text to the assembler or rename, alias and reorder symbols. Token pasting (##) could build
// any of them, so it is refused too, and so are pragmas other than `once` and diagnostics
// (#pragma weak and redefine_extname rename symbols).
const std::set<std::string>& assembler_words() {
  static const std::set<std::string> words = {
      "asm",         "__asm",           "__asm__",    "section",       "__section__",
      "alias",       "__alias__",       "weakref",    "__weakref__",   "ifunc",
      "__ifunc__",   "symver",          "__symver__", "init_priority", "__init_priority__",
      "constructor", "__constructor__", "_Pragma"};
  return words;
}

bool allowed_pragma(std::string_view line) {
  auto rest = trim(line);
  if (rest.empty() || rest[0] != '#') return true;
  rest = trim(std::string_view(rest).substr(1));
  if (rest.rfind("pragma", 0) != 0) return true;
  rest = trim(std::string_view(rest).substr(6));
  return rest == "once" || rest.rfind("GCC diagnostic", 0) == 0 ||
         rest.rfind("clang diagnostic", 0) == 0;
}

void check_assembler_words(const std::string& text, const std::string& display,
                           std::vector<std::string>& problems) {
  std::set<std::string> reported;
  int line_number = 0;
  for (const auto& line : split_lines(text)) {
    ++line_number;
    if (!allowed_pragma(line)) {
      problems.push_back(display + ":" + std::to_string(line_number) + ": '" + trim(line) +
                         "' is refused in student code (only #pragma once and diagnostic pragmas "
                         "are allowed)");
    }
  }
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"' || text[i] == '\'') {  // skip literals
      const char quote = text[i];
      for (++i; i < text.size() && text[i] != quote && text[i] != '\n'; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    if (text[i] == '#' && i + 1 < text.size() && text[i + 1] == '#') {
      if (reported.insert("##").second) {
        problems.push_back(display +
                           ": token pasting (##) is refused in student code (it could build a "
                           "word the course refuses)");
      }
      i += 2;
      continue;
    }
    if (!is_identifier_char(text[i]) || (text[i] >= '0' && text[i] <= '9')) {
      // Skip a number whole (1e10, 0x1f) so its letters are not read as a word.
      if (text[i] >= '0' && text[i] <= '9') {
        while (i < text.size() && is_identifier_char(text[i])) ++i;
      } else {
        ++i;
      }
      continue;
    }
    std::string word;
    while (i < text.size() && is_identifier_char(text[i])) word += text[i++];
    if (assembler_words().contains(word) && reported.insert(word).second) {
      problems.push_back(display + ": '" + word +
                         "' is refused in student code: assembly, and attributes that pass text "
                         "to the assembler or rename or alias symbols, are code the course cannot "
                         "check (no exercise needs them)");
    }
  }
}

// Is any component from `base` down to `path` a symlink (or not there)?
std::optional<fs::path> symlink_on_the_way(const fs::path& base, const fs::path& path) {
  const auto relative = path.lexically_relative(base);
  fs::path current = base;
  for (const auto& part : relative) {
    current /= part;
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(current, ec))) return current;
  }
  return std::nullopt;
}

ProcessResult run_tool(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.limits.wall_timeout_s = 60.0;
  spec.limits.output_cap_bytes = 64ULL << 20;
  return run_process(spec);
}

std::string demangled(const std::string& name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> text(
      abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && text ? std::string(text.get()) : name;
}

bool mentions_gtest(const std::string& name) {
  const auto readable = demangled(name);
  for (auto pos = readable.find("testing::"); pos != std::string::npos;
       pos = readable.find("testing::", pos + 1)) {
    if (pos == 0 || !is_identifier_char(readable[pos - 1])) return true;
  }
  return contains(name, "gtest") || contains(name, "GTEST");
}

// "lib.a[counter.cpp.o]: name T 0 10" -> member and fields.
bool parse_nm_line(const std::string& line, std::string& member, std::string& name,
                   std::string& type) {
  const auto open = line.find('[');
  const auto close = line.find("]: ");
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  member = line.substr(open + 1, close - open - 1);
  const auto rest = line.substr(close + 3);
  const auto space = rest.find(' ');
  if (space == std::string::npos) return false;
  name = rest.substr(0, space);
  type = rest.substr(space + 1, 1);
  return true;
}

}  // namespace

const std::vector<std::string>& refused_calls() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> names;
    for (const auto& family : call_families())
      names.insert(names.end(), family.names.begin(), family.names.end());
    return names;
  }();
  return all;
}

std::vector<std::string> check_sources(const std::vector<SourceFile>& files, bool header_only,
                                       const std::vector<std::string>& allowed_calls) {
  std::vector<std::string> problems;
  for (const auto& file : files) {
    if (const auto link = symlink_on_the_way(file.base, file.path)) {
      problems.push_back(file.display + ": is reached through a symbolic link (" + link->string() +
                         "); submit the file itself");
      continue;
    }
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(file.path, ec))) {
      problems.push_back(file.display + ": is not a regular file");
      continue;
    }
    const auto text = without_comments(read_file(file.path));
    check_includes(text, file.display, problems);
    check_assembler_words(text, file.display, problems);
    if (contains(text, "incbin")) {
      problems.push_back(file.display +
                         ": .incbin (an assembler directive that reads any file) is "
                         "refused in student code");
    }
    const bool header = file.path.extension() == ".hpp" || file.path.extension() == ".h";
    if (header_only && header) check_words(text, file.display, allowed_calls, problems);
  }
  return problems;
}

std::vector<std::string> check_objects(const fs::path& archive,
                                       const std::vector<ObjectFile>& objects,
                                       const std::vector<std::string>& allowed_calls,
                                       bool sanitizer_build) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> display;
  for (const auto& object : objects) display[object.member] = object.display;
  auto report = [&](const std::string& member, const std::string& what) {
    const auto text = display[member] + ": " + what;
    if (std::find(problems.begin(), problems.end(), text) == problems.end())
      problems.push_back(text);
  };

  const auto symbols = run_tool({"nm", "-P", "-A", archive.string()});
  if (!symbols.succeeded()) return {"cannot read the symbols of " + archive.string() + " with nm"};
  for (const auto& line : split_lines(symbols.output)) {
    std::string member;
    std::string name;
    std::string type;
    if (!parse_nm_line(line, member, name, type) || !display.contains(member)) continue;
    if (name == "main" && type == "T") {
      report(member, "defines main(); the course's test harness owns the program's main()");
    } else if (mentions_gtest(name)) {
      report(member, "uses GoogleTest (" + demangled(name) +
                         "); tests and their reporting belong to the course");
    } else if (type == "U") {
      // glibc versions some names: "fork@GLIBC_2.2.5" in objects is rare, but be safe.
      const auto plain = name.substr(0, name.find('@'));
      if (const auto* family = family_of(plain); family && !allowed(allowed_calls, plain))
        report(member, "calls " + plain + "(), which " + family->why);
    }
  }

  const auto sections = run_tool({"readelf", "-S", "-W", archive.string()});
  std::string member;
  for (const auto& line : split_lines(sections.output)) {
    if (line.rfind("File: ", 0) == 0) {
      const auto open = line.find('(');
      member = open == std::string::npos ? "" : line.substr(open + 1, line.size() - open - 2);
      continue;
    }
    if (!display.contains(member)) continue;
    // A sanitizer registers each object with its runtime from a constructor of priority 99.
    const bool sanitizer_constructor = sanitizer_build && contains(line, ".init_array.00099 ");
    if (!sanitizer_constructor && (contains(line, ".preinit_array") ||
                                   contains(line, ".init_array.") || contains(line, ".ctors."))) {
      report(member,
             "has a constructor that runs before the course's harness "
             "(constructor priority or .preinit_array); use ordinary code instead");
    }
  }

  // The paths to the process's own memory and memory map, wherever the compiler put them.
  for (const auto& object : objects) {
    const auto bytes = run_tool({"ar", "p", archive.string(), object.member});
    for (const char* path : {"/proc/", "/dev/mem", "/dev/kmem"}) {
      if (bytes.output.find(path) != std::string::npos) {
        report(object.member, std::string("names ") + path +
                                  " (a process's memory, its map or other processes): the "
                                  "exercise reads none of it");
      }
    }
  }

  const auto code = run_tool({"objdump", "-d", "--no-show-raw-insn", archive.string()});
  member.clear();
  for (const auto& line : split_lines(code.output)) {
    if (line.find(":     file format") != std::string::npos) {
      member = trim(line.substr(0, line.find(':')));
      continue;
    }
    if (!display.contains(member)) continue;
    const auto t = trim(line);
    const auto tab = t.find('\t');
    const auto instruction = tab == std::string::npos ? "" : trim(t.substr(tab + 1));
    if (instruction.rfind("syscall", 0) == 0 || instruction.rfind("sysenter", 0) == 0 ||
        instruction.rfind("int    $0x80", 0) == 0) {
      report(member, "makes a raw system call (inline assembly); the course cannot check it");
    }
  }
  return problems;
}

namespace {

// How another file of the link defines a global symbol.
struct Definition {
  bool weak = false;      // weak or unique: vague linkage, one copy per header
  bool function = false;  // code (T, i), not data (typeinfo, vtables, variables)
};

bool is_global_definition(char type) {
  // nm: upper case is global; 'u' a unique global, 'i' an indirect function (glibc's memcpy...).
  return (type >= 'A' && type <= 'Z' && type != 'U') || type == 'u' || type == 'i';
}
// Weak, or a unique global (the static local of an inline function, an inline variable such as
// std::piecewise_construct): one copy per header that every file including it may define.
bool is_weak_definition(char type) { return type == 'W' || type == 'V' || type == 'u'; }

// Every file the link loaded, from the linker map's "LOAD <file>" lines (relative to the build
// directory), with the linker scripts (libc.so) left out: the files they name follow them.
std::vector<fs::path> loaded_files(const fs::path& link_map, const fs::path& build_dir) {
  std::vector<fs::path> files;
  for (const auto& line : split_lines(try_read_file(link_map).value_or(""))) {
    if (line.rfind("LOAD ", 0) != 0) continue;
    fs::path file = trim(std::string_view(line).substr(5));
    if (file.is_relative()) file = build_dir / file;
    std::error_code ec;
    file = fs::weakly_canonical(file, ec);
    const auto head = try_read_file(file).value_or("").substr(0, 8);
    const bool object = head.rfind(
                            "\x7f"
                            "ELF",
                            0) == 0 ||
                        head.rfind("!<arch>", 0) == 0;
    if (object && std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  }
  return files;
}

// The global symbols a file defines (for a shared library, those it exports), read with nm once
// per file and modification time for the whole run of the grader.
const std::map<std::string, Definition>& definitions_in(const fs::path& file) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<fs::file_time_type, std::map<std::string, Definition>>>
      cache;
  std::error_code ec;
  const auto stamp = fs::last_write_time(file, ec);
  const std::lock_guard lock(mutex);
  auto& entry = cache[file.string()];
  if (entry.first == stamp && !entry.second.empty()) return entry.second;
  entry.first = stamp;
  entry.second.clear();
  const auto name = file.filename().string();
  const bool shared = contains(name, ".so");
  std::vector<std::string> argv = {"nm", "-P", "--defined-only"};
  if (shared) argv.emplace_back("-D");
  argv.push_back(file.string());
  for (const auto& line : split_lines(run_tool(argv).output)) {
    // "name T 0 10", or "archive[member]: name T 0 10" for an archive.
    auto text = std::string_view(line);
    if (const auto colon = text.find("]: "); colon != std::string_view::npos)
      text = text.substr(colon + 3);
    const auto space = text.find(' ');
    if (space == std::string_view::npos || space + 1 >= text.size()) continue;
    const char type = text[space + 1];
    if (!is_global_definition(type)) continue;
    const auto symbol = std::string(text.substr(0, std::min(space, text.find('@'))));
    const Definition definition{is_weak_definition(type),
                                type == 'T' || type == 'i' || type == 'W'};
    auto [it, added] = entry.second.emplace(symbol, definition);
    if (!added && !definition.weak) it->second = definition;  // strong somewhere: strong
  }
  return entry.second;
}

// Does a student definition (weak or strong) replace the other file's? A C name that a shared
// library exports always does (below). Otherwise a strong one always
// competes. A weak one (the compiler's copy of an inline function, a template instance, a
// typeinfo) is harmless beside another weak copy; beside a static library's strong definition it
// can win when that member is never pulled in, so it is refused; beside a shared library's it is
// refused for code (the executable's copy interposes the library's at run time, as an
// `extern "C" inline write` would) and allowed for data, whose vague-linkage copies (typeinfo,
// vtables) libraries export as ordinary symbols.
bool interposes(const std::string& name, bool student_weak, const Definition& theirs,
                bool shared_library) {
  // A C name (not mangled) that a shared library exports: the C library defines most of its
  // functions as weak aliases (write, read), and the executable's copy wins either way.
  if (shared_library && name.rfind("_Z", 0) != 0) return true;
  if (!student_weak) return true;
  if (theirs.weak) return false;
  return !shared_library || theirs.function;
}

}  // namespace

namespace {

// Symbol -> (how messages name the file that defines it, whether that definition is weak).
using Definitions = std::map<std::string, std::pair<std::string, bool>>;

// The problems with the student's definitions: reserved names, and names another file of the link
// (every loaded file but those in `own`) defines too.
std::vector<std::string> compare_with_the_link(const Definitions& student,
                                               const std::vector<fs::path>& own,
                                               const std::vector<fs::path>& loaded) {
  std::vector<std::string> problems;
  std::set<std::string> reported;
  // Names the C and C++ standards reserve for the implementation (__x, _X; not _Z..., a mangled
  // C++ name): the sanitizers and the runtime look some of them up as hooks that no library
  // defines (__sanitizer_symbolize_code, __tsan_on_report), so no file of the link would show them.
  for (const auto& [name, where] : student) {
    const bool reserved = name.size() > 1 && name[0] == '_' &&
                          (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z' && name[1] != 'Z'));
    if (reserved && reported.insert(name).second) {
      problems.push_back(where.first + ": defines " + name +
                         ", a name reserved for the compiler, the C library and the sanitizers "
                         "(rename yours)");
    }
  }
  for (const auto& file : loaded) {
    if (std::find(own.begin(), own.end(), file) != own.end()) continue;
    const bool shared = contains(file.filename().string(), ".so");
    const auto& theirs = definitions_in(file);
    for (const auto& [name, where] : student) {
      const auto found = theirs.find(name);
      if (found == theirs.end() || !interposes(name, where.second, found->second, shared)) continue;
      if (!reported.insert(name).second) continue;
      problems.push_back(where.first + ": defines " + demangled(name) + ", which " +
                         file.filename().string() +
                         " also defines: a student file may not replace the C library, the "
                         "standard library, GoogleTest, the course's kit or anything else the "
                         "tests are linked with (rename yours)");
    }
  }
  return problems;
}

std::string missing_map(const fs::path& link_map) {
  return "the link map " + link_map.string() +
         " is missing, so the link check cannot compare symbols; delete the build directory "
         "and grade again";
}

}  // namespace

std::vector<std::string> check_interposition(const fs::path& archive,
                                             const std::vector<ObjectFile>& objects,
                                             const fs::path& link_map, const fs::path& build_dir) {
  if (!fs::exists(link_map)) return {missing_map(link_map)};
  std::map<std::string, std::string> display;
  for (const auto& object : objects) display[object.member] = object.display;
  Definitions student;
  const auto symbols = run_tool({"nm", "-P", "-A", "--defined-only", archive.string()});
  for (const auto& line : split_lines(symbols.output)) {
    std::string member;
    std::string name;
    std::string type;
    if (!parse_nm_line(line, member, name, type) || !display.contains(member)) continue;
    if (!is_global_definition(type[0])) continue;
    student.emplace(name, std::make_pair(display[member], is_weak_definition(type[0])));
  }
  return compare_with_the_link(student, {fs::weakly_canonical(archive)},
                               loaded_files(link_map, build_dir));
}

std::vector<std::string> check_header_only_interposition(const std::string& tests_target,
                                                         const std::string& shown,
                                                         const fs::path& link_map,
                                                         const fs::path& build_dir) {
  if (!fs::exists(link_map)) return {missing_map(link_map)};
  const auto loaded = loaded_files(link_map, build_dir);
  const auto marker = "/" + tests_target + ".dir/";
  std::vector<fs::path> own;
  Definitions student;
  for (const auto& file : loaded) {
    if (!contains(file.string(), marker)) continue;
    own.push_back(file);
    for (const auto& line :
         split_lines(run_tool({"nm", "-P", "--defined-only", file.string()}).output)) {
      std::istringstream fields(line);  // "name T 0 10"
      std::string name;
      std::string type;
      if (!(fields >> name >> type) || !is_global_definition(type[0])) continue;
      student.emplace(name, std::make_pair(shown, is_weak_definition(type[0])));
    }
  }
  return compare_with_the_link(student, own, loaded);
}

}  // namespace grader
