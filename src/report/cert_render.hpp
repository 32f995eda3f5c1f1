// Rendering a pki::CertInfo for people (rows of a report::Text) and for programs (JSON).
// Used by `connect` (each certificate of the chain) and `cert show`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "pki/cert_info.hpp"
#include "report/text.hpp"

namespace tlslab::report {

// validity_text says how the certificate's dates relate to now: "88 days left",
// "expired 3 days ago", "not valid for another 2 days".
[[nodiscard]] std::string validity_text(const pki::CertInfo& cert, std::int64_t now);

// key_text is "EC P-256 (256 bits)", "RSA 2048 bits", "Ed25519".
[[nodiscard]] std::string key_text(const pki::CertInfo& cert);

// sans_text is "DNS:www.bank32.com, IP:127.0.0.1" ("none" when empty).
[[nodiscard]] std::string sans_text(const pki::CertInfo& cert);

// add_cert_rows appends the certificate's rows to out at the given indent level.
void add_cert_rows(Text& out, const pki::CertInfo& cert, std::int64_t now, int level = 0);

// iso_time is "2026-11-28T21:08:04Z", as the JSON reports write times.
[[nodiscard]] std::string iso_time(std::int64_t epoch_seconds);

// cert_json is the certificate as JSON (snake_case; times as ISO 8601 strings and epoch seconds).
[[nodiscard]] nlohmann::json cert_json(const pki::CertInfo& cert, std::int64_t now);

}  // namespace tlslab::report
