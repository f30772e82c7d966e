# Exercise 01 links libcurl (its easy and multi interfaces) and has two programs built against
# each implementation: the `downloader` command and the benchmark (build it in the release preset).
set(EXERCISE_LIBS CURL::libcurl)
set(EXERCISE_TOOLS downloader bench)
set(EXERCISE_TOOL_downloader_SOURCES tools/downloader_cli.cpp)
set(EXERCISE_TOOL_bench_SOURCES bench/downloader_bench.cpp)
set(EXERCISE_TOOL_bench_LIBS course::kit)
