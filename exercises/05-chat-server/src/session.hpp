// One connection's coroutines (session.cpp), started by the accept loop (server.cpp).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "server_internal.hpp"

namespace chat::detail {

// Starts serving a connection on its socket's executor (a strand of its own): a reader that
// handles the client's lines one by one, and a writer that empties its outbound queue. Returns
// at once; the connection ends when the client quits, drops, is too slow or the server stops.
void start_session(boost::asio::ip::tcp::socket socket, Hub& hub, Counters& counters,
                   const SessionSettings& settings);

}  // namespace chat::detail
