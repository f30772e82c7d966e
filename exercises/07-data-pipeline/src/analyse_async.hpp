// Exercise 07, level 6: the same analysis on one thread with Asio coroutines and channels (the
// notes' asyncio version). Your file: read ../README.md first.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <stop_token>
#include <vector>

#include "logpipe/api.hpp"
#include "logpipe/log.hpp"

namespace logpipe {

// The same contract as analyse() (src/analyse.hpp), on the calling thread alone: the stages are
// coroutines and the queues between them boost::asio::experimental::channels.
inline Analysis analyse_async(const std::vector<std::filesystem::path>& /*logs*/,
                              const AnalyseOptions& /*options*/,
                              const std::stop_token& /*stop*/ = {}) {
  throw std::logic_error("analyse_async is not implemented yet (level 6 of 07-data-pipeline)");
}

}  // namespace logpipe
