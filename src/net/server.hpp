// net::run_server — `tlslab serve`: an HTTPS server (HTTP/1.1 and HTTP/2) on Asio coroutines, one io_context and
// one SO_REUSEPORT acceptor per thread and listen address, so cores share nothing on the hot path.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tls/server_context.hpp"

namespace tlslab::net {

struct ServeLimits {
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{10'000};   // first request line + headers
  std::chrono::milliseconds idle_timeout{60'000};     // between keep-alive requests
  std::chrono::milliseconds request_timeout{30'000};  // request body
  std::chrono::milliseconds write_timeout{60'000};    // per write of the response
  std::chrono::milliseconds grace{5'000};             // SIGINT/SIGTERM: time for in-flight requests
  std::size_t max_connections = 10'000;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::uint32_t max_streams = 100;  // HTTP/2 streams open at once per connection (nginx's default)
};

struct ServeOptions {
  std::vector<std::string> listen = {"127.0.0.1:4433"};
  tls::ServerTlsOptions tls;
  std::string root;  // serve files from here ("" = built-in pages)
  bool echo = false;
  unsigned threads = 0;  // 0 = one per core
  ServeLimits limits;
  bool log_json = false;
  bool access_log = true;
  // reload re-reads the certificates on SIGHUP (it may throw Failure; the old ones then stay).
  std::function<std::shared_ptr<tls::ServerContexts>()> reload;
  // on_ready is called once every listener is bound, with the addresses ("127.0.0.1:4433").
  std::function<void(const std::vector<std::string>& addresses, unsigned threads)> on_ready;
};

// run_server serves until SIGINT/SIGTERM, then stops accepting, lets in-flight requests finish
// within limits.grace, and returns. Failure{Usage} for a bad --listen, Failure{Connect} when an
// address cannot be bound.
void run_server(const ServeOptions& options, std::shared_ptr<tls::ServerContexts> contexts);

}  // namespace tlslab::net
