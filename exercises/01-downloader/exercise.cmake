# Exercise 01 links libcurl (its easy and multi interfaces) and has two programs built against
# each implementation: the `downloader` command and the benchmark (build it in the release preset),
# which both parse their command line with CLI11.
set(EXERCISE_LIBS CURL::libcurl course::output_file)
set(EXERCISE_TOOLS downloader bench)
set(EXERCISE_TOOL_downloader_SOURCES tools/downloader_main.cpp)
set(EXERCISE_TOOL_bench_SOURCES bench/downloader_bench.cpp)
set(EXERCISE_TOOL_downloader_LIBS CLI11::CLI11 course::signal_stop)
set(EXERCISE_TOOL_bench_LIBS course::kit CLI11::CLI11)
