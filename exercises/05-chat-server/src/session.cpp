// One connection: a reader and a writer, two coroutines on the connection's strand.
// Read ../README.md first (level 1).
#include <stdexcept>

#include "session.hpp"

namespace chat::detail {

// Level 1: co_spawn the session on the socket's executor; see the statement for its two loops.
void start_session(boost::asio::ip::tcp::socket /*socket*/, Hub& /*hub*/, Counters& /*counters*/,
                   const SessionSettings& /*settings*/) {
  throw std::logic_error("start_session is not implemented yet (level 1 of 05-chat-server)");
}

}  // namespace chat::detail
