// scan::SuiteInfo — what a cipher suite's IANA name says about its strength (pure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlslab::scan {

struct SuiteInfo {
  std::uint16_t id = 0;
  std::string name;          // IANA: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  std::string key_exchange;  // "ECDHE_RSA", "RSA", "" for TLS 1.3 suites
  int bits = 0;              // symmetric strength: 0 for NULL, 112 for 3DES
  bool forward_secret = false;
  bool aead = false;
  bool cbc = false;
  bool rc4 = false;
  bool triple_des = false;
  bool insecure = false;  // NULL, export, anonymous, DES: no real protection
  bool tls13 = false;
  // strength is "strong" (AEAD + forward secrecy), "acceptable", "weak" or "insecure".
  [[nodiscard]] std::string strength() const;
};

// describe_suite classifies a suite from its IANA name.
[[nodiscard]] SuiteInfo describe_suite(std::uint16_t id);

// legacy_candidates lists every registered TLS <= 1.2 suite (no SCSVs, no TLS 1.3 suites).
[[nodiscard]] const std::vector<std::uint16_t>& legacy_candidates();

// signed_candidates lists the TLS <= 1.2 suites whose ServerKeyExchange the server signs
// (ECDHE_ECDSA, ECDHE_RSA, DHE_RSA, DHE_DSS): the signature scheme is in the clear.
[[nodiscard]] const std::vector<std::uint16_t>& signed_candidates();

// ecdhe_candidates lists the signed ECDHE suites: their ServerKeyExchange names the curve.
[[nodiscard]] const std::vector<std::uint16_t>& ecdhe_candidates();

// tls13_candidates lists the TLS 1.3 suites (RFC 8446 §B.4 and RFC 9150 ones).
[[nodiscard]] const std::vector<std::uint16_t>& tls13_candidates();

// group_candidates lists the groups probed one at a time for TLS 1.3, hybrid post-quantum ones
// included (the server's HelloRetryRequest names the group; we need not implement it).
[[nodiscard]] const std::vector<std::uint16_t>& group_candidates();

}  // namespace tlslab::scan
