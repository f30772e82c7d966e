# Exercise 07 is class templates the student writes in headers (src/*.hpp), so, as in exercise
# 04, its tests compile once per implementation (see common/cmake/CourseExercise.cmake); keep
# its test sources few. The log format, the report, the generator and the command are course
# code, compiled once per configuration into 07-data-pipeline_log.
set(EXERCISE_HEADER_ONLY ON)
find_package(Boost 1.81 CONFIG REQUIRED)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)

# g++ 12 reports -Wmismatched-new-delete on every Asio coroutine frame (GCC bug 109224), and
# -Wmaybe-uninitialized inside Asio's channel for a std::optional payload (GCC bug 80635): false
# positives, silenced for this exercise's code only.
add_library(07-data-pipeline_warnings INTERFACE)
target_compile_options(07-data-pipeline_warnings INTERFACE
                       $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete -Wno-maybe-uninitialized>)

add_library(07-data-pipeline_log STATIC EXCLUDE_FROM_ALL "${EXERCISE_DIR}/lib/log.cpp"
                                                         "${EXERCISE_DIR}/lib/command_line.cpp")
target_include_directories(07-data-pipeline_log PUBLIC "${EXERCISE_DIR}/include")
target_link_libraries(07-data-pipeline_log PRIVATE nlohmann_json::nlohmann_json CLI11::CLI11
                                                   course::output_file
                                           PUBLIC Threads::Threads)

set(EXERCISE_LIBS 07-data-pipeline_log Boost::headers 07-data-pipeline_warnings)
# `logpipe`: the command (yours, or the reference's); `loggen`: writes a deterministic log.
set(EXERCISE_TOOLS logpipe loggen)
set(EXERCISE_TOOL_logpipe_SOURCES tools/logpipe_main.cpp)
set(EXERCISE_TOOL_logpipe_LIBS course::signal_stop)
set(EXERCISE_TOOL_loggen_SOURCES tools/loggen_main.cpp)
set(EXERCISE_TOOL_loggen_LIBS CLI11::CLI11)
# The tests read the command's JSON report.
set(EXERCISE_TEST_LIBS nlohmann_json::nlohmann_json)
# fuzz/log_fuzzer.cpp checks that the report it writes parses back.
set(EXERCISE_FUZZ_LIBS nlohmann_json::nlohmann_json)

# The benchmark's industrial anchor: oneTBB's parallel_pipeline running the same stage functions
# (libtbb-dev, which `grader/install-deps --extras` installs). It does not depend on your code, so
# it is one program, built only on request:
#   cmake --build build/release --target 07-data-pipeline_tbb_pipeline
find_package(TBB CONFIG QUIET)
if(TBB_FOUND)
  add_executable(07-data-pipeline_tbb_pipeline EXCLUDE_FROM_ALL "${EXERCISE_DIR}/bench/tbb_pipeline.cpp")
  target_link_libraries(07-data-pipeline_tbb_pipeline PRIVATE 07-data-pipeline_log TBB::tbb CLI11::CLI11)
  set_target_properties(07-data-pipeline_tbb_pipeline PROPERTIES
    OUTPUT_NAME "tbb_pipeline"
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools/07-data-pipeline")
endif()

# Tuned beyond the statement, for the benchmark only: the reference's pipeline with batches of
# lines as items (solutions/07-data-pipeline/tuned/, which explains why). Built on request:
#   cmake --build build/release --target 07-data-pipeline_logpipe_batched
set(_tuned "${CMAKE_SOURCE_DIR}/solutions/07-data-pipeline/tuned/logpipe_batched.cpp")
if(EXISTS "${_tuned}")
  add_executable(07-data-pipeline_logpipe_batched EXCLUDE_FROM_ALL "${_tuned}")
  target_include_directories(07-data-pipeline_logpipe_batched PRIVATE
                             "${CMAKE_SOURCE_DIR}/solutions/07-data-pipeline/src")
  target_link_libraries(07-data-pipeline_logpipe_batched PRIVATE 07-data-pipeline_log
                                                                 CLI11::CLI11 Threads::Threads)
  set_target_properties(07-data-pipeline_logpipe_batched PROPERTIES
    OUTPUT_NAME "logpipe_batched"
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools/07-data-pipeline")
endif()
