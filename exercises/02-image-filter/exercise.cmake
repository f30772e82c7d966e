# Exercise 02 links course::image (course::Image, stb's loader and PNG writer). Its programs, built
# against each implementation: the `imgfilter` command (CLI11), `make_samples`, which writes the
# notes' sample images, and the benchmark (build it in the release preset).
set(EXERCISE_LIBS course::image)
set(EXERCISE_TOOLS imgfilter make_samples bench)
set(EXERCISE_TOOL_imgfilter_SOURCES tools/imgfilter_cli.cpp)
set(EXERCISE_TOOL_imgfilter_LIBS CLI11::CLI11)
set(EXERCISE_TOOL_make_samples_SOURCES tools/make_samples.cpp)
set(EXERCISE_TOOL_make_samples_LIBS CLI11::CLI11)
set(EXERCISE_TOOL_bench_SOURCES bench/imgfilter_bench.cpp)
set(EXERCISE_TOOL_bench_LIBS CLI11::CLI11)
