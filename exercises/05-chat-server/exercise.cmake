# Exercise 05 builds on Boost.Asio (C++20 coroutines), header-only: link course::asio
# (common/CMakeLists.txt). Only src/session.cpp and src/server.cpp include Asio; the protocol, the hub and the commands are
# plain C++, and the tests talk to the server through raw sockets.
# The command line is parsed with CLI11.
set(EXERCISE_LIBS course::asio CLI11::CLI11)
# `chat_server`: the server as a program (the reference's, or yours). `chat_load`: the
# benchmark's load generator.
set(EXERCISE_TOOLS chat_server chat_load)
set(EXERCISE_TOOL_chat_server_SOURCES tools/chat_server_main.cpp)
set(EXERCISE_TOOL_chat_load_SOURCES bench/chat_load.cpp)
set(EXERCISE_TOOL_chat_load_LIBS CLI11::CLI11)
