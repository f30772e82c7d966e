# Exercise 02's given library (lib/image.cpp): imgfilter::Image with stb's loader and PNG writer,
# the one translation unit that compiles stb. Its programs, built
# against each implementation: the `imgfilter` command, `make_samples`, which writes the notes'
# sample images, and the benchmark (build it in the release preset). All three parse their
# command line with CLI11.
#
# Pillow computes its kernels and blends in single-precision float, rounding after every multiply
# and add. g++ fuses a * b + c into one FMA instruction (one rounding) wherever the target has FMA
# (-march=native, or the AVX2/AVX-512 versions of a loop), which changes some bytes: every file of
# the implementation and the tests compiles with -ffp-contract=off.
add_library(02-image-filter_exact_float INTERFACE)
target_compile_options(02-image-filter_exact_float INTERFACE -ffp-contract=off)
set(EXERCISE_LIB_LIBS course::output_file 02-image-filter_exact_float)
set(EXERCISE_LIBS 02-image-filter_exact_float)
set(EXERCISE_TOOLS imgfilter make_samples bench)
set(EXERCISE_TOOL_imgfilter_SOURCES tools/imgfilter_main.cpp)
set(EXERCISE_TOOL_imgfilter_LIBS CLI11::CLI11 course::signal_stop)
set(EXERCISE_TOOL_make_samples_SOURCES tools/make_samples_main.cpp)
set(EXERCISE_TOOL_make_samples_LIBS CLI11::CLI11)
set(EXERCISE_TOOL_bench_SOURCES bench/imgfilter_bench.cpp)
set(EXERCISE_TOOL_bench_LIBS CLI11::CLI11)

# The command's own behaviour on bad input, with the reference behind it (ctest label "tools",
# which `grader/grader selfcheck` runs); a student repository has no reference, so no such test.
if(IS_DIRECTORY "${CMAKE_SOURCE_DIR}/solutions/02-image-filter/src")
  add_test(NAME 02-image-filter/tools/imgfilter-bad-input
           COMMAND "${EXERCISE_DIR}/tools/imgfilter_main_test.sh"
                   "$<TARGET_FILE:02-image-filter_imgfilter_solutions>")
  set_tests_properties(02-image-filter/tools/imgfilter-bad-input PROPERTIES LABELS tools TIMEOUT 120)
endif()
