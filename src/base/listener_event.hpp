// ListenerEvent — what the threads that accept connections for `tlslab serve` and `tlslab proxy`
// have to say about themselves (not about a connection): an accept that failed, the connection
// limit reached, a stop begun. net::Workers hands them to a hook; report renders them.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace tlslab {

struct ListenerEvent {
  enum class Kind {
    AcceptFailed,        // error: why (the first time only)
    TooManyConnections,  // count: the limit (the first time only)
    Stopping,            // signal: SIGINT or SIGTERM; count: the connections still open; grace
  };
  Kind kind = Kind::AcceptFailed;
  std::string_view command;  // "serve", "proxy"
  std::string_view error;
  std::size_t count = 0;
  int signal = 0;
  std::chrono::milliseconds grace{0};
};

}  // namespace tlslab
