# Exercise 06 parses HTML with libxml2 (its HTML parser) and URLs with Boost.URL, and fetches
# pages with the course's HTTP client (lib/http_client.cpp, on Boost.Beast): the exercise's given
# library (common/cmake/CourseExercise.cmake), compiled once per configuration, since a Beast
# translation unit is the most expensive file of the course to compile and the skeleton, the
# reference and every mutant link the same one.
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS url)
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
set(EXERCISE_LIB_LIBS course::asio Boost::url)

# The command line is parsed with CLI11 and writes JSON with nlohmann-json; Ctrl-C is the kit's
# SignalStop.
set(EXERCISE_LIBS PkgConfig::LIBXML2 CLI11::CLI11 nlohmann_json::nlohmann_json
                  course::output_file)
# The tests run the command with Ctrl-C in a child process.
set(EXERCISE_TEST_LIBS course::signal_stop)
# `crawler`: the command (the reference's, or yours); `bench_site`: the benchmark's synthetic web
# (bench/run_bench.py runs every crawler against it).
set(EXERCISE_TOOLS crawler bench_site)
set(EXERCISE_TOOL_crawler_SOURCES tools/crawler_main.cpp)
set(EXERCISE_TOOL_crawler_LIBS course::signal_stop)
set(EXERCISE_TOOL_bench_site_SOURCES bench/bench_site.cpp)
set(EXERCISE_TOOL_bench_site_LIBS course::kit CLI11::CLI11)
