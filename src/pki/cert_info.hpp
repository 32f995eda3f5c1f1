// pki::CertInfo — everything a person wants to see about one certificate, as plain data.
//
// describe() reads an X509 and copies the facts out; renderers (report/) print them as text or
// JSON. Nothing here prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/failure.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::pki {

// SanType is the kind of a subjectAltName entry (RFC 5280 §4.2.1.6 GeneralName).
enum class SanType { Dns, Ip, Email, Uri, DirName, Other };

// to_string names a type as the JSON output does: "dns", "ip", "email", "uri", "dirname", "other".
[[nodiscard]] std::string_view to_string(SanType type);

struct SubjectAltName {
  SanType type = SanType::Other;
  std::string value;  // "www.bank32.com", "127.0.0.1", "::1"
};

struct CertInfo {
  std::string subject;  // RFC 2253-like one line, most significant last as OpenSSL prints: "CN=www.bank32.com, O=Lab"
  std::string issuer;
  std::string common_name;      // "" if none
  std::string serial_hex;       // "3A:F2:..." (colon separated, upper case)
  std::int64_t not_before = 0;  // seconds since the epoch (UTC)
  std::int64_t not_after = 0;
  std::vector<SubjectAltName> sans;
  std::string key_type;  // "EC", "RSA", "RSA-PSS", "Ed25519", "Ed448", "DSA"
  int key_bits = 0;
  std::string key_curve;            // "P-256" for EC keys, "" otherwise
  std::string signature_algorithm;  // "ecdsa-with-SHA256", "sha256WithRSAEncryption"
  std::string sha256_fingerprint;   // "AB:CD:..."
  std::string sha1_fingerprint;
  bool self_issued = false;  // subject == issuer
  bool self_signed = false;  // and its own key verifies its signature
  // basicConstraints
  bool has_basic_constraints = false;
  bool is_ca = false;
  std::optional<long> path_len;
  bool basic_constraints_critical = false;
  std::vector<std::string> key_usage;           // "digitalSignature", "keyCertSign", ...
  std::vector<std::string> extended_key_usage;  // "serverAuth", "clientAuth", or dotted OIDs
  std::string subject_key_id;                   // hex with colons, "" if absent
  std::string authority_key_id;                 // hex with colons, "" if absent
  std::vector<std::string> permitted_dns;       // nameConstraints permitted DNS subtrees
  std::vector<std::string> excluded_dns;
  int version = 3;
};

// describe copies the facts out of cert.
[[nodiscard]] CertInfo describe(X509* cert);

// describe_certificates describes every certificate in data, in order: one or more PEM blocks, or
// a single DER certificate (as ossl::parse_certificates reads them). `source` names the input in
// errors; throws Failure{kind} if data holds no certificate.
[[nodiscard]] std::vector<CertInfo> describe_certificates(std::string_view data, std::string_view source,
                                                          Kind kind = Kind::Input);

// days_left returns whole days from now until not_after (negative once expired).
[[nodiscard]] long days_between(std::int64_t from, std::int64_t to);

// format_time returns "2026-11-28 21:08:04 UTC".
[[nodiscard]] std::string format_time(std::int64_t epoch_seconds);

// now_epoch returns the current time in seconds since the epoch.
[[nodiscard]] std::int64_t now_epoch();

// name_line returns a distinguished name as people read it: "C=DE, O=Bank32, CN=www.bank32.com".
[[nodiscard]] std::string name_line(const X509_NAME* name);

// asn1_time_to_epoch converts an ASN1_TIME (UTCTime or GeneralizedTime).
[[nodiscard]] std::int64_t asn1_time_to_epoch(const ASN1_TIME* t);

}  // namespace tlslab::pki
