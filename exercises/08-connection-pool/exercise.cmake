# Exercise 08 is class templates the student writes in headers (src/pool.hpp, src/async_pool.hpp),
# so, as in exercises 04 and 07, its tests compile once per implementation (see
# common/cmake/CourseExercise.cmake); keep its test sources few. The database drivers (SQLite,
# PostgreSQL through libpq) and the throw-away PostgreSQL server of the tests are course code,
# compiled once per configuration into 08-connection-pool_db.
set(EXERCISE_HEADER_ONLY ON)
find_package(Boost 1.81 CONFIG REQUIRED)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)

# g++ 12 reports -Wmismatched-new-delete on every Asio coroutine frame (GCC bug 109224), and
# -Wmaybe-uninitialized for a std::optional holding a lease (GCC bug 80635): false positives,
# silenced for this exercise's code only.
add_library(08-connection-pool_warnings INTERFACE)
target_compile_options(08-connection-pool_warnings INTERFACE
                       $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete -Wno-maybe-uninitialized>)

add_library(08-connection-pool_db STATIC EXCLUDE_FROM_ALL "${EXERCISE_DIR}/lib/sqlite.cpp"
                                                        "${EXERCISE_DIR}/lib/postgres.cpp"
                                                        "${EXERCISE_DIR}/lib/pg_cluster.cpp")
target_include_directories(08-connection-pool_db PUBLIC "${EXERCISE_DIR}/include")
target_link_libraries(08-connection-pool_db PUBLIC course::kit PkgConfig::SQLITE3 PkgConfig::LIBPQ
                                                   Threads::Threads)

set(EXERCISE_LIBS 08-connection-pool_db Boost::headers 08-connection-pool_warnings)
# `pool_bench`: HikariCP's two cycles against the naive pool and a connection per query
# (bench/run_bench.py runs it beside SQLAlchemy's QueuePool).
set(EXERCISE_TOOLS pool_bench)
set(EXERCISE_TOOL_pool_bench_SOURCES bench/pool_bench.cpp)
set(EXERCISE_TOOL_pool_bench_LIBS CLI11::CLI11)
