# Exercise 03 builds on Boost.Asio (C++20 coroutines) and Boost.Beast, both header-only: link
# Boost::headers (there is no Boost::asio target). Beast is slow to compile, so only
# src/session.cpp includes it; the tests talk to the server through raw sockets and never
# include Beast either. nlohmann-json parses the answers in the tests' support file.
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
# g++ 12 reports -Wmismatched-new-delete on every Asio coroutine frame: a false positive (GCC
# bug 109224: it pairs the frame's operator delete with the aligned_alloc inside Asio's operator
# new). Silenced for this exercise's code only, so that -Werror builds stay usable.
add_library(03-async-server_warnings INTERFACE)
target_compile_options(03-async-server_warnings INTERFACE
                       $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)
# The command line (level 4) is parsed with CLI11.
set(EXERCISE_LIBS Boost::headers CLI11::CLI11 03-async-server_warnings)
set(EXERCISE_TEST_LIBS nlohmann_json::nlohmann_json)
# `async_server`: the server as a program (the reference's, or yours). `threaded_server`: the
# "before" picture, the notes' threaded web server on cpp-httplib's thread pool.
set(EXERCISE_TOOLS async_server threaded_server)
set(EXERCISE_TOOL_async_server_SOURCES tools/async_server_main.cpp)
set(EXERCISE_TOOL_threaded_server_SOURCES tools/threaded_server.cpp)
set(EXERCISE_TOOL_threaded_server_LIBS course::httplib)
