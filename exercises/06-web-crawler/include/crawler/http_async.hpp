// Exercise 06: the coroutine form of fetch() (http.hpp), for the async strategy. Given by the
// course (lib/http_client.cpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <stop_token>

#include "crawler/http.hpp"

namespace crawler {

// One attempt, as a coroutine on the calling coroutine's executor: `co_await async_fetch(r)`.
// It never blocks the thread, so one thread can have any number of these in flight. A stop
// request ends it at once with the error "cancelled".
boost::asio::awaitable<FetchResult> async_fetch(FetchRequest request, std::stop_token stop = {});

}  // namespace crawler
