// Checks on the student's code that make forging a result cost more than solving the exercise
// (grader/README.md, "Threat model"). A problem found here is a build error of that exercise: it
// scores 0 with the message, and the other exercises are graded.
//
// Before compiling, on the source text:
//  - a student file must be a regular file, reached through no symlink (a link to the reference
//    or to /etc/passwd is refused);
//  - every #include names a file by a relative path that does not climb out with "..", and is
//    not computed from a macro; `.incbin` (an assembler directive that reads any file) is refused;
//  - in every student file: assembly (asm, __asm__), the attributes that pass text to the
//    assembler or rename symbols (section, alias, weakref, ifunc, symver, init_priority),
//    _Pragma, pragmas other than `once` and diagnostics, and token pasting (##), which could
//    build any of those words;
//  - in a header-only exercise, whose student header is compiled into the tests' own object, the
//    calls the link check refuses are refused as words of the source instead.
// After compiling, on the objects built from the student's files (nm, readelf, objdump):
//  - no main(), no symbol of GoogleTest (testing::...): the course owns the program and its
//    reporting;
//  - no calls that end the process, leave its process group, signal other processes, exec
//    something else or load code (exit, _exit, quick_exit, atexit, fork, setsid, kill, execve,
//    dlopen, ptrace...), except those the manifest's allowed_calls grants;
//  - no constructor that runs before the harness (.preinit_array, a prioritised .init_array);
//  - no raw system call instruction (syscall, sysenter, int 0x80);
//  - no string naming /proc/ or /dev/mem (a process's memory and its map);
//  - no global symbol that another file of the link also defines (check_interposition);
// These run on the objects of every build whose tests run (normal, ASan, TSan): code compiled
// only under a sanitizer is checked too.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "course/model.hpp"

namespace grader {

struct SourceFile {
  std::filesystem::path path;  // the file to read
  std::filesystem::path base;  // no component from here down to the file may be a symlink
  std::string display;         // how messages name it
};

// Problems with the sources, one message each; empty when they may be compiled.
std::vector<std::string> check_sources(const std::vector<SourceFile>& files, bool header_only,
                                       const std::vector<std::string>& allowed_calls);

// Problems with the objects in `archive` whose member names are `members` ("counter.cpp.o").
// `names` maps each member to the student file it came from, for messages.
struct ObjectFile {
  std::string member;
  std::string display;
};
// `sanitizer_build`: the objects come from an ASan or TSan build, whose compiler adds a
// constructor of priority 99 to every object.
std::vector<std::string> check_objects(const std::filesystem::path& archive,
                                       const std::vector<ObjectFile>& objects,
                                       const std::vector<std::string>& allowed_calls,
                                       bool sanitizer_build = false);

// Problems with the global symbols the student's objects define: none may also be defined by
// another file the tests binary was linked from (listed in its linker map, `link_map`, relative
// to `build_dir`), unless both definitions are weak (an inline function or a template instance of
// a header both include). So no student file interposes write() over the C library's, or replaces
// the kit's OverlapProbe or anything of GoogleTest.
std::vector<std::string> check_interposition(const std::filesystem::path& archive,
                                             const std::vector<ObjectFile>& objects,
                                             const std::filesystem::path& link_map,
                                             const std::filesystem::path& build_dir);

// The same for a header-only exercise, whose student header is compiled into the tests' own
// objects: the global symbols of the objects of `tests_target` (found in the linker's map) are
// compared with every other file of the link. `shown` names the student's header in messages.
std::vector<std::string> check_header_only_interposition(const std::string& tests_target,
                                                         const std::string& shown,
                                                         const std::filesystem::path& link_map,
                                                         const std::filesystem::path& build_dir);

// The calls refused by default (C names), for documentation and tests.
const std::vector<std::string>& refused_calls();

}  // namespace grader
