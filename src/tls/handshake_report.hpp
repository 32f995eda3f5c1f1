// tls::HandshakeReport — the facts of a finished handshake, read from an SSL*. Prints nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"

namespace tlslab::tls {

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

struct HandshakeReport {
  std::string version;  // "TLSv1.3"
  CipherSuite cipher;
  std::string group;             // key-exchange group "x25519" ("" if none, e.g. RSA key transport)
  std::string signature_scheme;  // server's handshake signature "ecdsa_secp256r1_sha256"
  std::string alpn;              // "" if none negotiated
  std::string sni_sent;          // "" if none sent
  bool resumed = false;
  bool session_ticket = false;  // the server sent a ticket
  bool ocsp_stapled = false;
  bool extended_master_secret = false;
  bool secure_renegotiation = false;
  std::string client_certificate;  // subject of the certificate we sent, "" if none
  bool client_certificate_requested = false;
  std::vector<pki::CertInfo> peer_chain;      // as the server sent it, leaf first
  std::vector<pki::CertInfo> verified_chain;  // leaf to anchor, as verification built it
};

// read_handshake copies the facts out of an SSL whose handshake has completed.
[[nodiscard]] HandshakeReport read_handshake(SSL* ssl);

// describe_cipher fills a CipherSuite from an SSL_CIPHER.
[[nodiscard]] CipherSuite describe_cipher(const SSL_CIPHER* cipher);

// signature_scheme_from_nids names a TLS SignatureScheme from OpenSSL's peer signature type NID,
// digest NID and (for ECDSA) the key's curve.
[[nodiscard]] std::string signature_scheme_from_nids(int type_nid, int digest_nid, const std::string& curve);

}  // namespace tlslab::tls
