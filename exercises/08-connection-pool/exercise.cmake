# Exercise 08 is class templates the student writes in headers (src/pool.hpp, src/async_pool.hpp),
# so, as in exercises 04 and 07, its tests compile once per implementation (see
# common/cmake/CourseExercise.cmake); keep its test sources few. The database drivers (SQLite,
# PostgreSQL through libpq) and the throw-away PostgreSQL server of the tests are the exercise's
# given library (lib/), compiled once per configuration. Asio (level 5) comes with course::asio.
set(EXERCISE_HEADER_ONLY ON)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
set(EXERCISE_LIB_LIBS course::kit PkgConfig::SQLITE3 PkgConfig::LIBPQ)
set(EXERCISE_LIBS course::asio)
# `pool_bench`: HikariCP's two cycles against the naive pool and a connection per query
# (bench/run_bench.py runs it beside SQLAlchemy's QueuePool).
set(EXERCISE_TOOLS pool_bench)
set(EXERCISE_TOOL_pool_bench_SOURCES bench/pool_bench.cpp)
set(EXERCISE_TOOL_pool_bench_LIBS CLI11::CLI11)
