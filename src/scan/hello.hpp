// scan::ClientHello building — hand-made hellos for probing what a server accepts (sans-I/O).
//
// The scanner does not need whole handshakes to learn which versions, suites and groups a server
// takes: it sends a ClientHello made here and reads only the server's first answer. The builder
// writes any version's hello, including SSLv3 and the SSLv2-format hello no library speaks any
// more, and offers code points our own TLS library does not implement (the server's answer is
// all we want).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlslab::scan {

inline constexpr std::uint16_t kSsl3 = 0x0300, kTls10 = 0x0301, kTls11 = 0x0302, kTls12 = 0x0303, kTls13 = 0x0304;
inline constexpr std::uint16_t kFallbackScsv = 0x5600, kRenegotiationScsv = 0x00FF;

struct KeyShare {
  std::uint16_t group = 0;
  std::string public_key;  // as sent on the wire
};

// HelloSpec is what one probe offers.
struct HelloSpec {
  std::uint16_t version = kTls12;  // highest version offered; kTls13 adds supported_versions
  std::vector<std::uint16_t> suites;
  std::vector<std::uint16_t> groups;   // supported_groups (omitted when empty)
  std::vector<std::uint16_t> sigalgs;  // signature_algorithms (TLS 1.2+; omitted when empty)
  std::vector<KeyShare> key_shares;    // TLS 1.3 key_share (may be empty: the server answers HRR)
  std::vector<std::uint8_t> compression = {0};
  std::vector<std::string> alpn;  // omitted when empty
  std::string servername;         // SNI; omitted when empty
  bool session_ticket = true;     // an empty session_ticket extension
  bool status_request = true;     // OCSP stapling request
  bool extended_master_secret = true;
  bool renegotiation_info = true;  // an empty renegotiation_info extension (TLS <= 1.2)
};

// build_client_hello returns one TLS record holding the ClientHello for spec. The record version is
// 0x0301 (0x0300 for SSLv3), as clients send for the widest compatibility (RFC 8446 §5.1).
[[nodiscard]] std::string build_client_hello(const HelloSpec& spec);

// build_sslv2_hello returns an SSLv2 CLIENT-HELLO (draft-hickman-netscape-ssl-00) offering every
// SSLv2 cipher kind; a server that still speaks SSLv2 answers with a SERVER-HELLO.
[[nodiscard]] std::string build_sslv2_hello();

// default_sigalgs lists the signature schemes a broad probe offers (TLS 1.3 and 1.2 ones).
[[nodiscard]] const std::vector<std::uint16_t>& default_sigalgs();

// tls13_signature_scheme says whether scheme may sign a TLS 1.3 CertificateVerify (RFC 8446
// §4.2.3: ECDSA bound to its curve, RSA-PSS, EdDSA; not PKCS#1 v1.5, SHA-1 or SHA-224).
[[nodiscard]] bool tls13_signature_scheme(std::uint16_t scheme);

// default_groups lists the named groups a broad probe offers (x25519 first).
[[nodiscard]] const std::vector<std::uint16_t>& default_groups();

}  // namespace tlslab::scan

namespace tlslab::scan {

// x25519_share returns a fresh X25519 key share (a real public key, from OpenSSL) so that a
// TLS 1.3 server answers with a ServerHello rather than a HelloRetryRequest.
[[nodiscard]] KeyShare x25519_share();

}  // namespace tlslab::scan
