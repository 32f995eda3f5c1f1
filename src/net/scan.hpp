// net::run_scan — `tlslab scan` as a library call: many small probes (hand-built ClientHellos,
// only the server's first answer read) and a few full OpenSSL handshakes, run concurrently under
// a bound, gathered into a scan::ScanReport (graded). Prints nothing (progress callback aside).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "connect/target.hpp"
#include "scan/model.hpp"
#include "tls/client_options.hpp"

namespace tlslab::net {

struct ScanOptions {
  connect::Target target;
  std::vector<connect::ResolveOverride> resolves;
  std::string servername;  // SNI and the name checked; default: the target's host (no SNI for IPs)
  std::optional<std::string> cafile, capath;
  int concurrency = 8;  // probes in flight at once
  int delay_ms = 0;     // pause before each probe (per slot)
  double timeout = 5;   // seconds per connection
  // progress is called after each connection and each finished group of probes, with the
  // connections made so far and the groups done out of all (the scan's share that is done).
  std::function<void(int connections, int groups_done, int groups)> progress;
};

// run_scan scans one target. Failure{Connect/Timeout/Resolve} when it cannot be reached at all.
[[nodiscard]] scan::ScanReport run_scan(const ScanOptions& options);

}  // namespace tlslab::net
