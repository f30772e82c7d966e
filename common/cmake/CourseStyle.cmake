# The course's style checks, as build targets, with the configurations at the root
# (.clang-format, .clang-tidy). clang-format and clang-tidy are Debian packages
# (grader/install-deps --extras); without them the targets say how to get them.
#
#   cmake --build build/default --target format         rewrite every C++ file in the course's style
#   cmake --build build/default --target check-format   fail on a file that is not (what CI runs)
#   cmake --build build/default --target tidy           clang-tidy on every file the build compiles
#   cmake --build build/default --target tidy-04-cache  clang-tidy on one exercise's files
#
# tidy reads build/<preset>/compile_commands.json, so it checks each file with the flags it is
# built with; a finding fails the target (WarningsAsErrors in .clang-tidy).
find_program(COURSE_CLANG_FORMAT NAMES clang-format-14 clang-format)
find_program(COURSE_RUN_CLANG_TIDY NAMES run-clang-tidy-14 run-clang-tidy)
find_program(COURSE_CLANG_TIDY NAMES clang-tidy-14 clang-tidy)

set(course_style_dirs common exercises solutions grader)
set(course_style_globs)
foreach(dir IN LISTS course_style_dirs)
  list(APPEND course_style_globs "${CMAKE_SOURCE_DIR}/${dir}/*.cpp" "${CMAKE_SOURCE_DIR}/${dir}/*.hpp")
endforeach()
file(GLOB_RECURSE course_style_sources CONFIGURE_DEPENDS ${course_style_globs})

function(_course_missing_tool_target name tool)
  add_custom_target(${name}
    COMMAND "${CMAKE_COMMAND}" -E echo "${name}: ${tool} is not installed (grader/install-deps --extras installs it)"
    COMMAND "${CMAKE_COMMAND}" -E false
    VERBATIM)
endfunction()

if(COURSE_CLANG_FORMAT)
  add_custom_target(format
    COMMAND "${COURSE_CLANG_FORMAT}" -i ${course_style_sources}
    WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
    COMMENT "clang-format: rewriting the course's C++ files in its style"
    VERBATIM)
  add_custom_target(check-format
    COMMAND "${COURSE_CLANG_FORMAT}" --dry-run --Werror ${course_style_sources}
    WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
    COMMENT "clang-format: checking the course's C++ files (fix with the format target)"
    VERBATIM)
else()
  _course_missing_tool_target(format clang-format)
  _course_missing_tool_target(check-format clang-format)
endif()

# run-clang-tidy's file argument is a regular expression over the database's paths. The flags
# are g++'s: clang does not know some of its warning options, which is not a finding.
function(_course_tidy_target name regex)
  if(COURSE_RUN_CLANG_TIDY AND COURSE_CLANG_TIDY)
    add_custom_target(${name}
      COMMAND "${COURSE_RUN_CLANG_TIDY}" -quiet -p "${CMAKE_BINARY_DIR}"
              -clang-tidy-binary "${COURSE_CLANG_TIDY}"
              -extra-arg=-Wno-unknown-warning-option
              "${regex}"
      WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
      COMMENT "clang-tidy (.clang-tidy) on ${regex}"
      VERBATIM)
  else()
    _course_missing_tool_target(${name} clang-tidy)
  endif()
endfunction()

_course_tidy_target(tidy "^${CMAKE_SOURCE_DIR}/(common|exercises|solutions|grader)/.*\\.cpp$")
foreach(exercise_dir IN LISTS COURSE_EXERCISE_DIRS)
  get_filename_component(exercise_id "${exercise_dir}" NAME)
  _course_tidy_target(tidy-${exercise_id} "^${CMAKE_SOURCE_DIR}/exercises/${exercise_id}/.*\\.cpp$")
endforeach()
