// loggen: writes a deterministic access log (Combined Log Format) for the exercises and the
// benchmark. loggen OUT --lines N [--seed S] [--malformed SHARE]
#include <CLI/CLI.hpp>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>

#include "logpipe/log.hpp"

int main(int argc, char** argv) {
  CLI::App app{"loggen: write a deterministic access log in the Combined Log Format"};
  std::string out;
  std::uint64_t lines = 100000;
  std::uint64_t seed = 1;
  double malformed = 0.01;
  app.add_option("OUT", out, "the log file to write")->required();
  app.add_option("--lines", lines, "how many lines");
  app.add_option("--seed", seed, "the same seed gives the same log");
  app.add_option("--malformed", malformed, "share of malformed lines")->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);
  try {
    const auto log = logpipe::generate_log_file(out, seed, lines, malformed);
    std::cout << out << ": " << log.lines << " lines, " << log.bytes << " bytes, "
              << log.malformed_lines.size() << " malformed\n";
  } catch (const std::exception& e) {
    std::cerr << "loggen: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
