// tls::negotiated — what a handshake agreed on, read from an SSL* on either side: version, cipher
// suite, group, the server's signature, ALPN, SNI, resumption. The one reader of these facts: the
// client's handshake report and a server's connection facts both start from it. Prints nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ossl/ptr.hpp"

namespace tlslab::tls {

// TlsVersion is a protocol version by its wire code point (RFC 8446 §4.2.1); None before a
// handshake. Other values (DTLS, future versions) can be held and are named "unknown".
enum class TlsVersion : std::uint16_t {
  None = 0,
  Ssl3 = 0x0300,
  Tls1_0 = 0x0301,
  Tls1_1 = 0x0302,
  Tls1_2 = 0x0303,
  Tls1_3 = 0x0304,
};

// to_string names a version as OpenSSL does (SSL_get_version): "TLSv1.3", "TLSv1", "SSLv3";
// "" for None, "unknown" for any other value.
[[nodiscard]] std::string_view to_string(TlsVersion version);

struct CipherSuite {
  std::string iana;            // "TLS_AES_128_GCM_SHA256"
  std::string openssl;         // "TLS_AES_128_GCM_SHA256" / "ECDHE-ECDSA-AES128-GCM-SHA256"
  std::uint16_t id = 0;        // IANA code point, 0x1301
  std::string key_exchange;    // "ECDHE", "RSA", "any" (TLS 1.3: negotiated separately)
  std::string authentication;  // "ECDSA", "RSA", "any" (TLS 1.3: by the certificate)
  std::string cipher;          // "AES-128-GCM"
  std::string hash;            // handshake/PRF hash "SHA256"
  std::string mac;             // "AEAD" or the HMAC digest for CBC suites
  int bits = 0;
  bool aead = false;
};

// Negotiated is what both sides agreed on in a finished handshake.
struct Negotiated {
  TlsVersion version = TlsVersion::None;
  CipherSuite cipher;
  std::string group;             // key-exchange group "x25519" ("" if none, e.g. RSA key transport)
  std::string signature_scheme;  // the server's handshake signature "ecdsa_secp256r1_sha256"
  std::string alpn;              // "" if none negotiated
  std::string sni;               // the server name the client sent; "" if none
  bool resumed = false;
};

// negotiated reads the facts out of an SSL whose handshake has completed, client or server: the
// signature is the server's either way (ours on a server, the peer's on a client).
[[nodiscard]] Negotiated negotiated(SSL* ssl);

// selected_alpn returns the protocol ALPN selected ("h2"; "" if none), viewing ssl's own copy:
// valid while ssl lives. What a server needs on every connection, without the rest.
[[nodiscard]] std::string_view selected_alpn(const SSL* ssl);

// describe_cipher fills a CipherSuite from an SSL_CIPHER.
[[nodiscard]] CipherSuite describe_cipher(const SSL_CIPHER* cipher);

// signature_scheme_from_nids names a TLS SignatureScheme from OpenSSL's peer signature type NID,
// digest NID and (for ECDSA) the key's curve.
[[nodiscard]] std::string signature_scheme_from_nids(int type_nid, int digest_nid, const std::string& curve);

}  // namespace tlslab::tls
