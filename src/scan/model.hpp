// scan::ScanReport — everything one scan learnt about one server, as plain data. Filled by
// net::run_scan, graded by scan::grade, rendered by report/scan_render.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pki/cert_info.hpp"
#include "tls/verify.hpp"

namespace tlslab::scan {

struct VersionSupport {
  std::uint16_t version = 0;  // 0x0002 for SSLv2, 0x0300..0x0304
  std::string name;           // "TLS 1.2"
  bool supported = false;
  std::vector<std::uint16_t> suites;      // in the server's order when it has one, else as found
  std::optional<bool> server_preference;  // unknown with fewer than two suites
};

struct Grade {
  std::string letter;             // "A+", "A", "A-", "B", "C", "D", "E", "F", "T"
  std::string letter_if_trusted;  // with "T": the grade the certificate's trust hides
  int score = 0;                  // 0..100 before caps
  int protocol_score = 0, key_exchange_score = 0, cipher_score = 0;
  std::vector<std::string> reasons;          // why it is capped or lowered
  std::vector<std::string> recommendations;  // what to change
};

struct ScanReport {
  std::string target;                    // as given: "127.0.0.1:4433"
  std::string host;                      // name (or literal) used for SNI and the name check
  std::string address;                   // "127.0.0.1:4433"
  std::vector<VersionSupport> versions;  // SSLv2, SSLv3, TLS 1.0 .. 1.3
  std::vector<std::uint16_t> groups;     // groups accepted at TLS 1.3 or (curves) 1.2, in candidate order
  std::vector<std::uint16_t> sigalgs;    // signature schemes accepted at TLS 1.2 or 1.3
  std::vector<std::string> alpn;         // in the server's order of choice
  std::optional<bool> session_id_resumption, ticket_resumption, tls13_resumption;
  std::optional<std::uint32_t> max_early_data;  // 0-RTT: what the server's ticket allows
  std::optional<bool> ocsp_stapling, secure_renegotiation, compression, fallback_scsv, extended_master_secret;
  bool handshake_done = false;  // a full handshake with OpenSSL succeeded
  std::string handshake_error;
  std::vector<pki::CertInfo> chain;  // as sent, leaf first
  tls::VerifyVerdict verdict;
  std::optional<int> http_status;
  std::optional<std::string> hsts;  // the Strict-Transport-Security header
  std::optional<std::int64_t> hsts_max_age;
  int connections = 0;
  double elapsed_ms = 0;
  Grade grade;

  [[nodiscard]] const VersionSupport* version(std::uint16_t v) const;
};

}  // namespace tlslab::scan
