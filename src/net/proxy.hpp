// net::run_proxy — `tlslab proxy`: the man-in-the-middle HTTPS proxy's I/O driver. It moves bytes
// and carries out what the sans-I/O parts decide (proxy/: ClientHello reading, policy, forging,
// flow observation, HAR), and tells what happened as events (proxy::LogEvent) to the caller's
// sink: it prints nothing itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/alpn.hpp"
#include "proxy/core.hpp"
#include "proxy/log_event.hpp"
#include "proxy/policy.hpp"

namespace tlslab::pki {
class Ca;
}

namespace tlslab::net {

struct ProxyOptions {
  proxy::Mode mode = proxy::Mode::Sni;
  std::vector<std::string> listen;
  std::string upstream;  // reverse mode: HOST:PORT
  std::vector<proxy::UpstreamResolve> upstream_resolve;
  std::uint16_t upstream_port = 443;
  std::optional<proxy::Endpoint> dns;  // --dns: ask this DNS server (UDP), not the system resolver
  std::vector<proxy::HostPattern> pass;
  std::optional<std::string> upstream_cacert;
  bool upstream_insecure = false;
  proxy::Http2Mode http2 = proxy::Http2Mode::Auto;  // --http2 auto|off
  bool redact = false;                              // flows are masked before they are logged or kept
  // Each host's first forgery is shown (a ForgeryShown event) with --show-forgery and with --dump;
  // the flows' --dump blocks are the renderer's.
  bool dump = false;
  bool show_forgery = false;
  std::string har_file;
  bool har_force = false;  // --force: replace a --har file that is not a HAR
  std::string keylog_file;
  unsigned threads = 0;
  std::size_t cert_cache = 1000;  // forged certificates kept in memory (--cert-cache-size)
  std::string cert_cache_dir;     // --cert-cache DIR: forged certificates kept across runs; "" for none
  std::size_t max_connections = 10'000;
  std::size_t body_cap = 64 * 1024;  // bytes of each body kept for --dump and HAR
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds grace{5'000};
  std::function<void(const std::vector<std::string>& addresses, unsigned threads)> on_ready;
  std::string version;  // for the HAR creator
  proxy::LogSink log;   // what happens, as it happens (from every worker thread)
};

// run_proxy serves until SIGINT/SIGTERM, and returns. The --har file is checked (Failure{Write},
// or Failure{Exists} for a file that is not a HAR, without --force) and written before the
// proxy listens, kept complete about once a second, and written a last time on return.
void run_proxy(const ProxyOptions& options, const pki::Ca& ca);

}  // namespace tlslab::net
