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

// ForgeIssuer says what signs a forged leaf: the CA itself, or an RSA issuing CA under it (made by
// the Forger) signing with PKCS#1 v1.5 or with RSASSA-PSS.
enum class ForgeIssuer { Ca, RsaPkcs1, RsaPss };

// ForgeChoice is which forged chain a client gets: the leaf's key type ("EC" or "RSA") and issuer.
struct ForgeChoice {
  std::string key_type;
  ForgeIssuer issuer = ForgeIssuer::Ca;
  bool operator==(const ForgeChoice&) const = default;
};

// choose_forgery picks a chain the client can accept whenever the real server's would do. The leaf
// key: the real server's type (real_key_type, "EC" or "RSA"), unless the client's
// signature_algorithms have no scheme for it and do have one for the other (an EC leaf is P-256:
// ecdsa_secp256r1_sha256; an RSA leaf: rsa_pss_rsae_* or rsa_pkcs1_*). The issuer: the CA, unless
// the schemes the client accepts in certificates (signature_algorithms_cert, else
// signature_algorithms: RFC 8446 §4.2.3) leave out ca_scheme — the CA's own signature scheme — and
// hold rsa_pkcs1_sha256 (RsaPkcs1) or rsa_pss_rsae_sha256 / rsa_pss_pss_sha256 (RsaPss). OpenSSL's
// server refuses a leaf whose signature the client did not offer ("no suitable signature
// algorithm"). A client that sent no schemes takes anything.
[[nodiscard]] ForgeChoice choose_forgery(const std::vector<std::uint16_t>& signature_schemes,
                                         const std::vector<std::uint16_t>& certificate_schemes,
                                         const std::string& real_key_type, std::uint16_t ca_scheme);

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
