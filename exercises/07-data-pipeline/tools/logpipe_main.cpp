// The `logpipe` command, built against your src/ (or the reference): see
// include/logpipe/command.hpp.
#include <iostream>
#include <string>
#include <vector>

#include "analyse.hpp"
#include "analyse_async.hpp"
#include "course/signal_stop.hpp"
#include "logpipe/command.hpp"

int main(int argc, char** argv) {
  const course::SignalStop signals("logpipe: stopping");
  const std::vector<std::string> args(argv + 1, argv + argc);
  return logpipe::run_command_line(
      args, std::cout, std::cerr, signals.token(),
      [](const auto& logs, const auto& options, const auto& stop) {
        return logpipe::analyse(logs, options, stop);
      },
      [](const auto& logs, const auto& options, const auto& stop) {
        return logpipe::analyse_async(logs, options, stop);
      });
}
