// Exercise 07: the log analysis on your pipeline. Your file: read ../README.md first.
//
//   read --batches of lines--> parse (N workers) --batches of records--> filter --> aggregate
//
// Start with one line per item (level 2); level 4b puts options.batch_lines lines in each item.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <stop_token>
#include <vector>

#include "logpipe/api.hpp"
#include "logpipe/log.hpp"
#include "pipeline.hpp"

namespace logpipe {

// Reads the logs in batches of options.batch_lines lines, parses every line on options.workers
// threads, keeps the records that options.filter matches and counts them into a Report (the one
// analyse_sequentially computes). Under ErrorPolicy::skip a malformed line becomes a dead letter;
// under fail_fast the first one in file order is thrown (a LineError). A file that cannot be read
// is thrown under either policy. A stop returns with Outcome::stopped.
inline Analysis analyse(const std::vector<std::filesystem::path>& /*logs*/,
                        const AnalyseOptions& /*options*/, const std::stop_token& /*stop*/ = {}) {
  throw std::logic_error("analyse is not implemented yet (level 2 of 07-data-pipeline)");
}

}  // namespace logpipe
