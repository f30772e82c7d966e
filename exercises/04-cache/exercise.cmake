# Exercise 04 is a class template the student writes in a header (src/cache.hpp), so its tests
# compile once per implementation against that implementation's headers (see
# common/cmake/CourseExercise.cmake). The benchmark uses Google Benchmark (libbenchmark-dev); build
# it in the release preset.
set(EXERCISE_HEADER_ONLY ON)
# Boost's headers (the going-further variant keeps each stripe in a boost::unordered_flat_map; a
# student may use them too).
set(EXERCISE_LIBS Boost::headers)
find_package(benchmark CONFIG REQUIRED)
set(EXERCISE_TOOLS bench)
set(EXERCISE_TOOL_bench_SOURCES bench/cache_bench.cpp)
set(EXERCISE_TOOL_bench_LIBS benchmark::benchmark)
