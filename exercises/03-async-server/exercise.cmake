# Exercise 03 builds on Boost.Asio (C++20 coroutines) and Boost.Beast, both header-only: link
# course::asio (Boost's headers, with GCC 12's false positives in Asio silenced, in
# common/CMakeLists.txt). Beast is slow to compile, so only the tests talk to the server through raw sockets and never include Beast either. nlohmann-json parses the answers in the tests' support file.
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
# The command line (level 4) is parsed with CLI11.
set(EXERCISE_LIBS course::asio CLI11::CLI11)
set(EXERCISE_TEST_LIBS nlohmann_json::nlohmann_json)
# `async_server`: the server as a program (the reference's, or yours). `threaded_server`: the
# "before" picture, the notes' threaded web server on cpp-httplib's thread pool.
set(EXERCISE_TOOLS async_server threaded_server)
set(EXERCISE_TOOL_async_server_SOURCES tools/async_server_main.cpp)
set(EXERCISE_TOOL_threaded_server_SOURCES tools/threaded_server_main.cpp)
set(EXERCISE_TOOL_threaded_server_LIBS course::httplib)
