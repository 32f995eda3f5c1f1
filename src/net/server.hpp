// net::run_server — `tlslab serve`: an HTTPS server (HTTP/1.1 and HTTP/2) on Asio coroutines, one io_context and
// one SO_REUSEPORT acceptor per thread and listen address, so cores share nothing on the hot path.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "serve/events.hpp"
#include "serve/limits.hpp"
#include "tls/server_context.hpp"

namespace tlslab::net {

using ServeLimits = serve::Limits;

struct ServeOptions {
  std::vector<std::string> listen = {"127.0.0.1:4433"};
  tls::ServerTlsOptions tls;
  std::string root;  // serve files from here ("" = built-in pages)
  bool echo = false;
  unsigned threads = 0;  // 0 = one per core
  ServeLimits limits;
  bool access_log = true;
  // log takes the access log's requests and the error log's events (it must outlive run_server);
  // run_server formats no line itself.
  serve::LogSink* log = nullptr;
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
