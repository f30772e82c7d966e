// Exercise 07, given by the course: the `logpipe` command (lib/command_line.cpp).
//
//   logpipe ACCESS_LOG... [--workers N] [--capacity C] [--policy fail-fast|skip]
//           [--error-budget N] [--status 5xx] [--from T] [--to T] [--path-prefix P] [--top N]
//           [--async] [--out report.json] [--quiet]
//
// It runs your analyse() (or analyse_async() with --async), shows the stages' statistics while it
// runs (a live table on a terminal, a progress line otherwise) and writes the report as JSON,
// atomically, to --out or to standard output.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "logpipe/api.hpp"

namespace logpipe {

using Analyser = std::function<Analysis(const std::vector<std::filesystem::path>&,
                                        const AnalyseOptions&, const std::stop_token&)>;

// Exit status: 0 the report was written; 1 the run failed or was stopped (a message on `err`,
// and no report written, not even part of one); 2 a usage error.
int run_command_line(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                     const std::stop_token& stop, const Analyser& threads, const Analyser& async);

}  // namespace logpipe
