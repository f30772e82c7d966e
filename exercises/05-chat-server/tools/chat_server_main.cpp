// `chat_server --port P [--threads N]`: the exercise's server as a program. All the work is in
// chat::run_command_line (your src/command_line.cpp), which the tests also run.
#include <iostream>
#include <string_view>
#include <vector>

#include "chat/server.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  return chat::run_command_line(args, std::cout, std::cerr);
}
