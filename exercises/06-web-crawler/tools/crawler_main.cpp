// `crawler URL... [-j L] ...`: the exercise's crawler as a program. All the work is in
// crawler::run_command_line (src/command_line.cpp), which the tests also run. Ctrl-C becomes a
// stop request: the crawl ends promptly and the pages recorded so far are still written.
#include <iostream>
#include <string_view>
#include <vector>

#include "course/signal_stop.hpp"
#include "crawler/crawler.hpp"

int main(int argc, char** argv) {
  const course::SignalStop ctrl_c("crawler: stopping");
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  return crawler::run_command_line(args, std::cout, std::cerr, ctrl_c.token());
}
