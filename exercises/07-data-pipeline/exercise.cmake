# Exercise 07 is class templates the student writes in headers (src/*.hpp), so, as in exercise
# 04, its tests compile once per implementation (see common/cmake/CourseExercise.cmake); keep
# its test sources few. The log format, the report and the command line are the exercise's given
# library (lib/), compiled once per configuration. Asio (level 6) comes with course::asio.
set(EXERCISE_HEADER_ONLY ON)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
set(EXERCISE_LIB_LIBS nlohmann_json::nlohmann_json CLI11::CLI11 course::output_file)
set(EXERCISE_LIBS course::asio)
# `logpipe`: the command (yours, or the reference's); `loggen`: writes a deterministic log.
# `logpipe_chunked`: the benchmark's peer tuned beyond the statement, on each implementation's
# pipeline (bench/logpipe_chunked.cpp says why it is not the reference).
set(EXERCISE_TOOLS logpipe loggen logpipe_chunked)
set(EXERCISE_TOOL_logpipe_SOURCES tools/logpipe_main.cpp)
set(EXERCISE_TOOL_logpipe_LIBS course::signal_stop)
set(EXERCISE_TOOL_loggen_SOURCES tools/loggen_main.cpp)
set(EXERCISE_TOOL_loggen_LIBS CLI11::CLI11)
set(EXERCISE_TOOL_logpipe_chunked_SOURCES bench/logpipe_chunked.cpp)
set(EXERCISE_TOOL_logpipe_chunked_LIBS CLI11::CLI11)
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
  target_link_libraries(07-data-pipeline_tbb_pipeline PRIVATE 07-data-pipeline_lib TBB::tbb CLI11::CLI11)
  set_target_properties(07-data-pipeline_tbb_pipeline PROPERTIES
    OUTPUT_NAME "tbb_pipeline"
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools/07-data-pipeline")
endif()

# The tuned peer counts what logpipe counts (ctest label "tools", which `grader/grader selfcheck`
# runs), with the reference behind both; a student repository has no reference, so no such test.
if(IS_DIRECTORY "${CMAKE_SOURCE_DIR}/solutions/07-data-pipeline/src")
  add_test(NAME 07-data-pipeline/tools/logpipe-chunked-counts
           COMMAND "${EXERCISE_DIR}/tools/logpipe_chunked_test.sh"
                   "$<TARGET_FILE:07-data-pipeline_logpipe_chunked_solutions>"
                   "$<TARGET_FILE:07-data-pipeline_logpipe_solutions>"
                   "$<TARGET_FILE:07-data-pipeline_loggen_solutions>")
  set_tests_properties(07-data-pipeline/tools/logpipe-chunked-counts PROPERTIES LABELS tools
                       TIMEOUT 120)
endif()
