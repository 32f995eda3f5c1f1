// proxy decisions, apart from any socket: which connections to intercept, where the real server
// is, which names a forged certificate carries, and whether a target would loop back to us.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pki/cert_info.hpp"

namespace tlslab::proxy {

// HostPattern matches host names: "www.bank32.com" exactly, "*.bank32.com" any sub-domain at any
// depth, "*" everything. Case-insensitive.
class HostPattern {
 public:
  explicit HostPattern(std::string pattern);
  [[nodiscard]] bool matches(const std::string& host) const;
  [[nodiscard]] const std::string& text() const { return pattern_; }

 private:
  std::string pattern_;
};

// should_pass tells whether host is relayed untouched (--pass).
[[nodiscard]] bool should_pass(const std::vector<HostPattern>& pass, const std::string& host);

// forged_names lists the names a forged certificate carries, as mitmproxy does: the real
// certificate's CN and SANs (DNS and IP), then the name the client asked for (SNI or CONNECT
// host), then the address, without duplicates (case-insensitive), in that order. upstream_leaf is
// the real certificate itself (upstream describes it): a requested name or address it already
// covers — by a wildcard, checked as a client checks it (tls::certificate_covers) — is left out,
// so every host behind *.bank32.com shares one forgery. Both are null when there is no real
// certificate.
[[nodiscard]] std::vector<std::string> forged_names(const pki::CertInfo* upstream, X509* upstream_leaf,
                                                    const std::string& requested, const std::string& address);

// cache_key is the forge cache key for a set of names and a key type ("EC", "RSA").
[[nodiscard]] std::string cache_key(const std::vector<std::string>& names, const std::string& key_type);

// UpstreamResolve is --upstream-resolve NAME:ADDR, or curl's --resolve form NAME:PORT:ADDR, which
// applies only to connections to that port (the CONNECT port, the --upstream-port, or --upstream's).
// NAME is a host name, "*.DOMAIN" (any name under DOMAIN, at any depth, as --pass) or "*".
struct UpstreamResolve {
  std::string name;  // lower case
  std::string address;
  std::optional<std::uint16_t> port;
  // matches tells whether a connection to host:port is sent to address.
  [[nodiscard]] bool matches(const std::string& host, std::uint16_t port) const;
};
// parse_upstream_resolve reads one --upstream-resolve value; Failure{Usage} saying which form is
// expected, or what is wrong (a port, an address, a wildcard that is not "*.DOMAIN").
[[nodiscard]] UpstreamResolve parse_upstream_resolve(const std::string& text);

// is_loop tells whether connecting to address:port would reach one of our own listeners.
struct Endpoint {
  std::string address;  // "127.0.0.1", "::1", "0.0.0.0"
  std::uint16_t port = 0;
};
[[nodiscard]] bool is_loop(const Endpoint& target, const std::vector<Endpoint>& listeners);

}  // namespace tlslab::proxy
