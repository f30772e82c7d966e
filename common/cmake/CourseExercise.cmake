# course_add_exercise(<dir>): the targets of one exercise.
#
# Test sources (exercises/NN-name/tests/*.cpp) compile once into an object
# library, then link against each implementation:
#
#   NN-name_tests_exercises        the student's files   exercises/NN-name/src
#   NN-name_tests_solutions        the reference         solutions/NN-name/src
#   NN-name_tests_mutant-<m>       a known-wrong variant: solutions/NN-name/mutants/<m>/mutant.patch
#                                  applied to the reference, or files in mutants/<m>/src that
#                                  replace the reference's of the same name
#   NN-name_tests_submission       files the grader stages in <build>/submission/NN-name/src
#   NN-name_tests_going-further-<g>  tuning beyond the statement, which must score full marks too:
#                                  solutions/NN-name/going-further/<g>/variant.patch applied to
#                                  the reference, or files in going-further/<g>/src
#
# Every test binary lands in <build>/tests/NN-name/<implementation>. Each reference file is
# compiled once per configuration (an object library); the reference and every mutant made
# only of .cpp files link those objects, so a mutant compiles just the files it changes.
# A source file of exercises/NN-name/src that the student does not write (it is not in the
# manifest's student_files) is *given*: it lives there alone, with no copy in solutions/, and the
# reference and its mutants compile it from there. A given file includes only the public API
# (include/) or other given headers: a quoted include looks next to the file first, so it would
# find the skeleton's private header, not the reference's.
# An exercise may add an `exercise.cmake` that sets EXERCISE_LIBS (libraries the
# implementation links) and EXERCISE_TEST_LIBS (libraries only the tests link). An exercise
# that uses Asio links course::asio (common/CMakeLists.txt), not Boost::headers.
#
# The given library: exercises/NN-name/lib/*.cpp is code the exercise hands the student and the
# student does not write (an HTTP client, a log reader, database connections, image files). It
# compiles once per configuration into NN-name_lib, which sees the exercise's include/ and links
# EXERCISE_LIB_LIBS, and every implementation, test and tool links it. Its own unit tests,
# exercises/NN-name/lib/tests/*.cpp, make NN-name_lib_tests and run with the course's unit tests
# (ctest label "library", in `grader/grader selfcheck`); they are no part of any grade.
#
# Programs built against an implementation (a command-line tool, a benchmark) are listed in
# EXERCISE_TOOLS. For each tool T, EXERCISE_TOOL_T_SOURCES names its sources (relative to the
# exercise directory) and EXERCISE_TOOL_T_LIBS any libraries it needs besides the
# implementation, e.g.
#
#   set(EXERCISE_TOOLS downloader bench)
#   set(EXERCISE_TOOL_downloader_SOURCES tools/downloader_main.cpp)
#   set(EXERCISE_TOOL_bench_SOURCES bench/bench.cpp)
#   set(EXERCISE_TOOL_bench_LIBS course::kit)
#
# Tool T of implementation I is the target NN-name_T_I, written to <build>/tools/NN-name/I/T.
# Tools exist for the student's files, the reference, its going-further variants and a staged
# submission (not for mutants); only the first two are part of `all`. Tool sources see COURSE_EXERCISE_DIR, the exercise's
# source directory as a string literal, to find data files that sit next to them.
#
# A header-only exercise (a class template the student writes in src/*.hpp) sets
#
#   set(EXERCISE_HEADER_ONLY ON)
#
# Its tests cannot be compiled once: they include the implementation. So each implementation
# compiles the test sources itself, with its own src/ first on the include path (a mutant's
# patched copies, then the reference's files it leaves alone; a staged submission, then the
# skeleton). The implementation library is an INTERFACE library that carries that include path,
# so tools see the same headers. Keep such an exercise's test sources few: they compile once per
# implementation (skeleton, reference, submission and each mutant).
#
# Fuzz targets: every exercises/NN-name/fuzz/F.cpp is a libFuzzer target (it defines
# LLVMFuzzerTestOneInput) built against the reference and the student's files, only in the fuzz
# preset (clang, COURSE_SANITIZER=fuzzer): the targets NN-name_fuzz_F_solutions and
# NN-name_fuzz_F_exercises, written to <build>/fuzz/NN-name/<impl>/F. EXERCISE_FUZZ_LIBS adds
# libraries. `grader selfcheck` builds and runs the reference's for a bounded time.

# The grader's contract with this file: every build directory gets course-targets.json (written by
# course_write_contract at the end of the top-level CMakeLists.txt), one entry per implementation
# of each exercise: the target that builds its tests, the binary it makes, the static library of
# its objects (empty for a header-only exercise), whether the exercise is header-only, where the
# grader stages a submission's files (the submission only), and the targets whose compile errors
# are its own; and, in the fuzz build, the reference's fuzz targets and their binaries. The
# grader reads it (grader/src/building/build_contract.hpp) instead of spelling target names and
# paths.
function(_course_contract_add key impl owners)
  set(archive "")
  if(NOT EXERCISE_HEADER_ONLY)
    set(archive "$<TARGET_FILE:${key}_impl_${impl}>")
  endif()
  _course_contract_add_binary(${key} ${impl} "${key}_tests_${impl}" "${archive}" "${owners}")
endfunction()

function(_course_contract_add_binary key impl exe archive owners)
  set(quoted "")
  foreach(owner IN LISTS owners)
    list(APPEND quoted "\"${owner}\"")
  endforeach()
  list(JOIN quoted ", " owner_list)
  set(header_only false)
  if(EXERCISE_HEADER_ONLY)
    set(header_only true)
  endif()
  set(staging "")
  if(impl STREQUAL "submission")
    set(staging "${CMAKE_BINARY_DIR}/submission/${key}")
  endif()
  set_property(GLOBAL APPEND PROPERTY COURSE_CONTRACT
    "{\"exercise\": \"${key}\", \"impl\": \"${impl}\", \"tests_target\": \"${exe}\", \"tests_binary\": \"$<TARGET_FILE:${exe}>\", \"archive\": \"${archive}\", \"link_map\": \"$<TARGET_FILE:${exe}>.map\", \"header_only\": ${header_only}, \"staging_dir\": \"${staging}\", \"owners\": [${owner_list}]}")
endfunction()

# The linker writes a map of every file it loaded beside the tests binary: the grader's link check
# compares the symbols the student's objects define with those of every other file (interposition).
function(_course_link_map exe)
  target_link_options(${exe} PRIVATE "LINKER:-Map=$<TARGET_FILE:${exe}>.map")
endfunction()

# Student code (the exercises' files and a staged submission) compiles through grader/sandbox-compile:
# under the grader as root the compiler runs as a sandbox user who can read only what any user can,
# so no trick of the compiler or the assembler reads a root-only file; elsewhere it runs as it is.
function(_course_student_compiler target impl)
  if(impl STREQUAL "exercises" OR impl STREQUAL "submission")
    set_target_properties(${target} PROPERTIES
      CXX_COMPILER_LAUNCHER "${CMAKE_SOURCE_DIR}/grader/sandbox-compile")
    # The course's own code is built with line tables only (-g1, CMakePresets.json), which is
    # enough for backtraces and sanitizer reports and a third cheaper to compile; the student's
    # code keeps full debug information in the normal build, for a debugger's variables.
    if(COURSE_SANITIZER STREQUAL "none")
      target_compile_options(${target} PRIVATE "$<$<CONFIG:RelWithDebInfo>:-g>")
    endif()
  endif()
endfunction()

function(course_write_contract)
  get_property(entries GLOBAL PROPERTY COURSE_CONTRACT)
  list(JOIN entries ",\n  " body)
  get_property(fuzzers GLOBAL PROPERTY COURSE_CONTRACT_FUZZ)
  list(JOIN fuzzers ",\n  " fuzz_body)
  file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/course-targets.json"
       CONTENT "{\"version\": 2, \"implementations\": [\n  ${body}\n],\n\"fuzz_targets\": [\n  ${fuzz_body}\n]}\n")
endfunction()

# Splits an implementation into the sources it compiles itself and the reference files it
# reuses: a mutant overrides some of the reference's files and takes the rest from the reference.
function(_course_impl_sources own_var reused_var src_dir fallback_dir)
  if(src_dir STREQUAL fallback_dir)
    set(own "")  # the reference itself: every file is reused
  else()
    file(GLOB_RECURSE own CONFIGURE_DEPENDS "${src_dir}/*.cpp")
  endif()
  set(reused "")
  if(fallback_dir)
    file(GLOB_RECURSE base RELATIVE "${fallback_dir}" CONFIGURE_DEPENDS "${fallback_dir}/*.cpp")
    foreach(rel IN LISTS base)
      if(src_dir STREQUAL fallback_dir OR NOT EXISTS "${src_dir}/${rel}")
        list(APPEND reused "${rel}")
      endif()
    endforeach()
  endif()
  # Given files: sources of exercises/NN-name/src that the student does not write, so solutions/
  # has no copy. The reference and its mutants compile the one in exercises/.
  if(fallback_dir AND NOT fallback_dir STREQUAL EXERCISE_GIVEN_DIR)
    file(GLOB_RECURSE given RELATIVE "${EXERCISE_GIVEN_DIR}" CONFIGURE_DEPENDS
         "${EXERCISE_GIVEN_DIR}/*.cpp")
    foreach(rel IN LISTS given)
      if(NOT EXISTS "${src_dir}/${rel}" AND NOT EXISTS "${fallback_dir}/${rel}")
        list(APPEND own "${EXERCISE_GIVEN_DIR}/${rel}")
      endif()
    endforeach()
  endif()
  set(${own_var} "${own}" PARENT_SCOPE)
  set(${reused_var} "${reused}" PARENT_SCOPE)
endfunction()

# One object library per reference source file, compiled once per configuration: the
# reference and every mutant that leaves the file alone link the same objects.
function(_course_reference_objects key solution_src)
  file(GLOB_RECURSE rels RELATIVE "${solution_src}" CONFIGURE_DEPENDS "${solution_src}/*.cpp")
  foreach(rel IN LISTS rels)
    string(MAKE_C_IDENTIFIER "${rel}" id)
    set(target "${key}_reference_${id}")
    add_library(${target} OBJECT EXCLUDE_FROM_ALL "${solution_src}/${rel}")
    target_include_directories(${target} PRIVATE "${solution_src}")
    target_link_libraries(${target} PUBLIC ${key}_api ${EXERCISE_LIBS})
  endforeach()
endfunction()

function(_course_reference_object_files out_var key rels)
  set(objects "")
  foreach(rel IN LISTS rels)
    string(MAKE_C_IDENTIFIER "${rel}" id)
    list(APPEND objects "$<TARGET_OBJECTS:${key}_reference_${id}>")
  endforeach()
  set(${out_var} "${objects}" PARENT_SCOPE)
endfunction()

function(_course_add_tools key impl lib exclude)
  foreach(tool IN LISTS EXERCISE_TOOLS)
    set(tool_sources "")
    foreach(source IN LISTS EXERCISE_TOOL_${tool}_SOURCES)
      list(APPEND tool_sources "${EXERCISE_DIR}/${source}")
    endforeach()
    if(NOT tool_sources)
      message(FATAL_ERROR "${key}: tool '${tool}' has no EXERCISE_TOOL_${tool}_SOURCES")
    endif()
    set(target "${key}_${tool}_${impl}")
    add_executable(${target} ${exclude} ${tool_sources})
    target_link_libraries(${target} PRIVATE ${lib} ${EXERCISE_TOOL_${tool}_LIBS})
    target_compile_definitions(${target} PRIVATE COURSE_EXERCISE_DIR="${EXERCISE_DIR}")
    set_target_properties(${target} PROPERTIES
      OUTPUT_NAME "${tool}"
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools/${key}/${impl}")
  endforeach()
endfunction()

function(_course_add_fuzzers key impl lib)
  if(NOT COURSE_SANITIZER STREQUAL "fuzzer")
    return()
  endif()
  file(GLOB fuzz_sources CONFIGURE_DEPENDS "${EXERCISE_DIR}/fuzz/*.cpp")
  foreach(source IN LISTS fuzz_sources)
    get_filename_component(name "${source}" NAME_WE)
    set(target "${key}_fuzz_${name}_${impl}")
    add_executable(${target} EXCLUDE_FROM_ALL "${source}")
    target_link_libraries(${target} PRIVATE ${lib} ${EXERCISE_FUZZ_LIBS})
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${target} PROPERTIES
      OUTPUT_NAME "${name}"
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/fuzz/${key}/${impl}")
    if(impl STREQUAL "solutions")
      set_property(GLOBAL APPEND PROPERTY COURSE_CONTRACT_FUZZ
        "{\"exercise\": \"${key}\", \"name\": \"${name}\", \"target\": \"${target}\", \"binary\": \"$<TARGET_FILE:${target}>\"}")
    endif()
  endforeach()
endfunction()

# A mutant or a going-further variant written as a patch (a unified diff against
# solutions/NN-name, paths like a/src/file.cpp, e.g. from `git diff --relative=solutions/NN-name`)
# is applied at configure time to copies of the files it touches, in <build>/mutants/NN-name/<m>/src
# (a variant: <build>/going-further/NN-name/<g>/src). A patch that no longer applies to the
# reference stops the configure with a message that says so.
function(_course_patched_copy out_var kind key mutant solution_dir patch_file)
  set(out "${CMAKE_BINARY_DIR}/${kind}/${key}/${mutant}")
  file(REMOVE_RECURSE "${out}")
  # A header-only mutant gets a copy of every reference header, patched or not: a header's quoted
  # #include looks next to that header first, so a mutant made of one patched header next to an
  # untouched one would otherwise mix the patched copy with the reference's original.
  if(EXERCISE_HEADER_ONLY)
    file(COPY "${solution_dir}/src" DESTINATION "${out}")
  endif()
  file(STRINGS "${patch_file}" targets REGEX "^\\+\\+\\+ ")
  if(NOT targets)
    message(FATAL_ERROR "${patch_file}: no '+++ b/src/...' line; is it a unified diff?")
  endif()
  foreach(line IN LISTS targets)
    string(REGEX REPLACE "^\\+\\+\\+ b/([^\t ]+).*$" "\\1" rel "${line}")
    if(NOT rel MATCHES "^src/" OR NOT EXISTS "${solution_dir}/${rel}")
      message(FATAL_ERROR "${patch_file}: '${rel}' is not a file of solutions/${key}/src")
    endif()
    configure_file("${solution_dir}/${rel}" "${out}/${rel}" COPYONLY)
  endforeach()
  find_program(COURSE_PATCH patch REQUIRED)
  execute_process(
    COMMAND "${COURSE_PATCH}" -p1 --quiet --forward --no-backup-if-mismatch -r - -i "${patch_file}"
    WORKING_DIRECTORY "${out}" RESULT_VARIABLE failed OUTPUT_VARIABLE said ERROR_VARIABLE said)
  if(failed)
    message(FATAL_ERROR "${kind}/${mutant} of ${key} no longer applies to the reference:\n${said}"
                        "Update ${patch_file} to the reference as it is now.")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${patch_file}")
  set(${out_var} "${out}/src" PARENT_SCOPE)
endfunction()

# Header-only: the tests compile against this implementation's headers (see the top comment).
# Tests find their data (golden files, samples) under COURSE_TEST_DATA_DIR, an absolute path
# given here: a path built from __FILE__ is relative when ccache's CCACHE_BASEDIR is set, and the
# tests run in a fresh temporary directory.
function(_course_test_data_dir target)
  target_compile_definitions(${target} PRIVATE COURSE_TEST_DATA_DIR="${EXERCISE_DIR}/tests")
endfunction()

function(_course_add_header_only_impl key impl src_dir fallback_dir exclude)
  set(lib "${key}_impl_${impl}")
  add_library(${lib} INTERFACE)
  # The implementation's own directory comes first, so that its headers win over the fallback's.
  target_include_directories(${lib} INTERFACE "${src_dir}" ${fallback_dir})
  target_link_libraries(${lib} INTERFACE ${key}_api ${EXERCISE_LIBS})
  file(GLOB test_sources CONFIGURE_DEPENDS "${EXERCISE_DIR}/tests/*.cpp")
  _course_header_only_tests(${key} ${impl} "${key}_tests_${impl}" "${impl}" "${exclude}"
                            "${test_sources}")
endfunction()

# The test binary <exe> of a header-only implementation, compiled from <sources> against its
# headers, written to <build>/tests/NN-name/<output>.
function(_course_header_only_tests key impl exe output exclude sources)
  add_executable(${exe} ${exclude} ${sources})
  # The student's header is compiled into these test sources.
  _course_student_compiler(${exe} ${impl})
  _course_link_map(${exe})
  target_link_libraries(${exe} PRIVATE ${key}_impl_${impl} course::kit ${EXERCISE_TEST_LIBS}
                                       GTest::gtest GTest::gmock course::test_main)
  _course_test_data_dir(${exe})
  set_target_properties(${exe} PROPERTIES
    OUTPUT_NAME "${output}"
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/${key}")
endfunction()

# The test sources a header-only mutant's must_fail tests need: each file that names the suite of
# one of them (TEST(Suite, ...), a macro called with Suite, INSTANTIATE_..._P(Prefix, Suite, ...)),
# and every file that defines no test (helpers). A header-only exercise compiles its tests once per
# implementation, so selfcheck, which runs only a mutant's must_fail tests, builds the mutant from
# these alone: for most mutants one test file of two or three. A test whose suite is spelled only by
# token pasting is not found here; selfcheck then says the binary lacks it. When the names cannot
# be read, every source is returned.
function(_course_must_fail_sources out_var toml sources)
  file(READ "${toml}" text)
  string(REGEX MATCH "must_fail[ \t]*=[ \t]*\\[[^]]*\\]" list_text "${text}")
  string(REGEX MATCHALL "\"[^\"]+\"" names "${list_text}")
  set(suites "")
  foreach(name IN LISTS names)
    # "Prefix/Suite.Test/param" -> Suite
    string(REGEX REPLACE "^\"([^.\"]*)\\..*$" "\\1" suite "${name}")
    string(REGEX REPLACE "^.*/" "" suite "${suite}")
    if(suite MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
      list(APPEND suites "${suite}")
    endif()
  endforeach()
  set(chosen "")
  set(any_test_file OFF)
  foreach(source IN LISTS sources)
    file(READ "${source}" code)
    if(NOT code MATCHES "(^|[^A-Za-z0-9_])(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P)[ \t]*\\(")
      list(APPEND chosen "${source}")  # a helper: no test of its own
      continue()
    endif()
    foreach(suite IN LISTS suites)
      if(code MATCHES "(^|[^A-Za-z0-9_])${suite}([^A-Za-z0-9_]|$)")
        list(APPEND chosen "${source}")
        set(any_test_file ON)
        break()
      endif()
    endforeach()
  endforeach()
  if(NOT any_test_file)
    set(chosen ${sources})
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${toml}")
  set(${out_var} "${chosen}" PARENT_SCOPE)
endfunction()

# selfcheck's build of a header-only mutant: the test files its must_fail tests need, in
# <build>/tests/NN-name/mutant-<m>.must-fail. The contract lists it as "mutant-<m>:must-fail".
function(_course_add_must_fail_tests key mutant toml)
  set(impl "mutant-${mutant}")
  file(GLOB test_sources CONFIGURE_DEPENDS "${EXERCISE_DIR}/tests/*.cpp")
  _course_must_fail_sources(sources "${toml}" "${test_sources}")
  list(LENGTH sources chosen)
  list(LENGTH test_sources all)
  if(chosen EQUAL all)
    return()  # nothing to leave out: selfcheck builds the mutant's full binary
  endif()
  set(exe "${key}_tests_${impl}_must-fail")
  _course_header_only_tests(${key} ${impl} ${exe} "${impl}.must-fail" EXCLUDE_FROM_ALL
                            "${sources}")
  _course_contract_add_binary(${key} "${impl}:must-fail" ${exe} "" "${exe}")
endfunction()

function(course_add_impl key impl src_dir)
  cmake_parse_arguments(ARG "IN_ALL;TOOLS;REUSE_REFERENCE" "FALLBACK" "" ${ARGN})
  if(EXERCISE_HEADER_ONLY)
    if(ARG_IN_ALL)
      set(exclude "")
    else()
      set(exclude EXCLUDE_FROM_ALL)
    endif()
    _course_add_header_only_impl(${key} ${impl} "${src_dir}" "${ARG_FALLBACK}" "${exclude}")
    if(ARG_TOOLS)
      _course_add_tools(${key} ${impl} "${key}_impl_${impl}" "${exclude}")
    endif()
    if(impl STREQUAL "solutions" OR impl STREQUAL "exercises")
      _course_add_fuzzers(${key} ${impl} "${key}_impl_${impl}")
    endif()
    if(impl STREQUAL COURSE_CTEST_IMPL)
      gtest_discover_tests(${key}_tests_${impl} DISCOVERY_MODE PRE_TEST TEST_PREFIX "${key}/"
                           PROPERTIES LABELS "${key}")
    endif()
    _course_contract_add(${key} ${impl} "${key}_tests_${impl}")
    return()
  endif()
  _course_impl_sources(own reused "${src_dir}" "${ARG_FALLBACK}")
  # A mutant that changes a private header must recompile every file that includes it, so
  # only a mutant made of .cpp files reuses the reference's objects. The reference itself
  # always does: its headers are the ones those objects were compiled with.
  if(src_dir STREQUAL ARG_FALLBACK)
    set(own_headers "")
  else()
    file(GLOB_RECURSE own_headers CONFIGURE_DEPENDS "${src_dir}/*.h" "${src_dir}/*.hpp")
  endif()
  set(owners "${key}_impl_${impl}" "${key}_tests_${impl}" "${key}_testobjs")
  if(ARG_REUSE_REFERENCE AND NOT own_headers)
    _course_reference_object_files(reused_sources ${key} "${reused}")
    foreach(rel IN LISTS reused)
      string(MAKE_C_IDENTIFIER "${rel}" id)
      list(APPEND owners "${key}_reference_${id}")
    endforeach()
  else()
    set(reused_sources "")
    foreach(rel IN LISTS reused)
      list(APPEND reused_sources "${ARG_FALLBACK}/${rel}")
    endforeach()
  endif()
  set(sources ${own} ${reused_sources})
  set(lib "${key}_impl_${impl}")
  set(exe "${key}_tests_${impl}")
  if(ARG_IN_ALL)
    set(exclude "")
  else()
    set(exclude EXCLUDE_FROM_ALL)
  endif()

  add_library(${lib} STATIC ${exclude} ${sources})
  _course_student_compiler(${lib} ${impl})
  # The implementation's own directory comes first so that its private
  # headers win over the reference's when a mutant overrides one.
  target_include_directories(${lib} PRIVATE "${src_dir}" ${ARG_FALLBACK})
  target_link_libraries(${lib} PUBLIC ${key}_api ${EXERCISE_LIBS})

  add_executable(${exe} ${exclude})
  target_link_libraries(${exe} PRIVATE ${key}_testobjs ${lib} ${EXERCISE_TEST_LIBS} course::test_main)
  _course_link_map(${exe})
  set_target_properties(${exe} PROPERTIES
    OUTPUT_NAME "${impl}"
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/${key}")

  if(ARG_TOOLS)
    _course_add_tools(${key} ${impl} ${lib} "${exclude}")
  endif()
  if(impl STREQUAL "solutions" OR impl STREQUAL "exercises")
    _course_add_fuzzers(${key} ${impl} ${lib})
  endif()

  if(impl STREQUAL COURSE_CTEST_IMPL)
    gtest_discover_tests(${exe} DISCOVERY_MODE PRE_TEST TEST_PREFIX "${key}/" PROPERTIES LABELS "${key}")
  endif()
  _course_contract_add(${key} ${impl} "${owners}")
endfunction()

# The given library (lib/*.cpp) and its unit tests (lib/tests/*.cpp), when the exercise has one;
# it joins EXERCISE_LIBS in the caller's scope.
function(_course_add_given_library key exercise_dir)
  file(GLOB lib_sources CONFIGURE_DEPENDS "${exercise_dir}/lib/*.cpp")
  if(NOT lib_sources)
    return()
  endif()
  add_library(${key}_lib STATIC EXCLUDE_FROM_ALL ${lib_sources})
  target_link_libraries(${key}_lib PUBLIC ${key}_api ${EXERCISE_LIB_LIBS})
  set(EXERCISE_LIBS ${key}_lib ${EXERCISE_LIBS} PARENT_SCOPE)
  file(GLOB lib_tests CONFIGURE_DEPENDS "${exercise_dir}/lib/tests/*.cpp")
  if(lib_tests)
    add_executable(${key}_lib_tests ${lib_tests})
    target_link_libraries(${key}_lib_tests PRIVATE ${key}_lib course::kit GTest::gtest_main)
    gtest_discover_tests(${key}_lib_tests DISCOVERY_MODE PRE_TEST TEST_PREFIX "${key}/lib/"
                         PROPERTIES LABELS library TIMEOUT 120)
  endif()
endfunction()

function(course_add_exercise exercise_dir)
  get_filename_component(key "${exercise_dir}" NAME)
  set(solution_dir "${CMAKE_SOURCE_DIR}/solutions/${key}")
  set(EXERCISE_DIR "${exercise_dir}")
  set(EXERCISE_GIVEN_DIR "${exercise_dir}/src")
  set(EXERCISE_LIBS "")
  set(EXERCISE_TEST_LIBS "")
  set(EXERCISE_TOOLS "")
  set(EXERCISE_HEADER_ONLY OFF)
  set(EXERCISE_FUZZ_LIBS "")
  set(EXERCISE_LIB_LIBS "")
  if(EXISTS "${exercise_dir}/exercise.cmake")
    include("${exercise_dir}/exercise.cmake")
  endif()

  # The public API: headers the course owns, shared by every implementation.
  add_library(${key}_api INTERFACE)
  target_include_directories(${key}_api INTERFACE "${exercise_dir}/include")
  target_link_libraries(${key}_api INTERFACE Threads::Threads)
  _course_add_given_library(${key} "${exercise_dir}")

  if(NOT EXERCISE_HEADER_ONLY)  # header-only: each implementation compiles the tests itself
    file(GLOB test_sources CONFIGURE_DEPENDS "${exercise_dir}/tests/*.cpp")
    add_library(${key}_testobjs OBJECT EXCLUDE_FROM_ALL ${test_sources})
    target_link_libraries(${key}_testobjs PUBLIC ${key}_api course::kit GTest::gtest GTest::gmock)
    _course_test_data_dir(${key}_testobjs)
  endif()

  course_add_impl(${key} exercises "${exercise_dir}/src" IN_ALL TOOLS)

  if(IS_DIRECTORY "${solution_dir}/src")
    if(NOT EXERCISE_HEADER_ONLY)
      _course_reference_objects(${key} "${solution_dir}/src")
    endif()
    course_add_impl(${key} solutions "${solution_dir}/src" IN_ALL TOOLS REUSE_REFERENCE
                    FALLBACK "${solution_dir}/src")
    file(GLOB mutant_dirs LIST_DIRECTORIES true CONFIGURE_DEPENDS "${solution_dir}/mutants/*")
    foreach(mutant_dir IN LISTS mutant_dirs)
      get_filename_component(mutant "${mutant_dir}" NAME)
      if(EXISTS "${mutant_dir}/mutant.patch")
        _course_patched_copy(mutant_src mutants ${key} ${mutant} "${solution_dir}"
                             "${mutant_dir}/mutant.patch")
      elseif(IS_DIRECTORY "${mutant_dir}/src")
        set(mutant_src "${mutant_dir}/src")
      else()
        continue()
      endif()
      course_add_impl(${key} "mutant-${mutant}" "${mutant_src}" REUSE_REFERENCE
                      FALLBACK "${solution_dir}/src")
      if(EXERCISE_HEADER_ONLY AND EXISTS "${mutant_dir}/mutant.toml")
        _course_add_must_fail_tests(${key} ${mutant} "${mutant_dir}/mutant.toml")
      endif()
    endforeach()
    # Going further: tuning the statement does not teach, kept apart from the reference (see
    # grader/README.md, "Going further"). It has tools, so that the benchmark can run it beside the reference.
    file(GLOB variant_dirs LIST_DIRECTORIES true CONFIGURE_DEPENDS "${solution_dir}/going-further/*")
    foreach(variant_dir IN LISTS variant_dirs)
      get_filename_component(variant "${variant_dir}" NAME)
      if(EXISTS "${variant_dir}/variant.patch")
        _course_patched_copy(variant_src going-further ${key} ${variant} "${solution_dir}"
                             "${variant_dir}/variant.patch")
      elseif(IS_DIRECTORY "${variant_dir}/src")
        set(variant_src "${variant_dir}/src")
      else()
        continue()
      endif()
      course_add_impl(${key} "going-further-${variant}" "${variant_src}" REUSE_REFERENCE TOOLS
                      FALLBACK "${solution_dir}/src")
    endforeach()
  endif()

  # The grader copies a submission's student files here before building, so
  # grading one needs no reconfigure. Until then it holds the skeleton.
  set(staging "${CMAKE_BINARY_DIR}/submission/${key}")
  if(NOT EXISTS "${staging}/src")
    file(COPY "${exercise_dir}/src" DESTINATION "${staging}")
  endif()
  course_add_impl(${key} submission "${staging}/src" FALLBACK "${exercise_dir}/src" TOOLS)
endfunction()
