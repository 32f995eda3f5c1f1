#include "report/cert_render.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tlslab::report {

std::string iso_time(std::int64_t t) {
  auto s = pki::format_time(t);  // "YYYY-MM-DD HH:MM:SS UTC"
  return s.substr(0, 10) + "T" + s.substr(11, 8) + "Z";
}

namespace {

std::string plural_days(long n) { return fmt::format("{} day{}", n, n == 1 ? "" : "s"); }

std::string constraints_text(const pki::CertInfo& c) {
  if (!c.has_basic_constraints) return "none (not a CA)";
  std::string out = c.is_ca ? "CA:TRUE" : "CA:FALSE";
  if (c.path_len) out += fmt::format(", pathlen:{}", *c.path_len);
  if (c.basic_constraints_critical) out += " (critical)";
  return out;
}

}  // namespace

std::string validity_text(const pki::CertInfo& cert, std::int64_t now) {
  if (now < cert.not_before)
    return fmt::format("not valid for another {}", plural_days(pki::days_between(now, cert.not_before) + 1));
  if (now > cert.not_after) return fmt::format("expired {} ago", plural_days(pki::days_between(cert.not_after, now)));
  return fmt::format("{} left", plural_days(pki::days_between(now, cert.not_after)));
}

std::string key_text(const pki::CertInfo& cert) {
  if (cert.key_type == "EC") return fmt::format("EC {} ({} bits)", cert.key_curve, cert.key_bits);
  if (cert.key_type == "Ed25519" || cert.key_type == "Ed448") return cert.key_type;
  return fmt::format("{} {} bits", cert.key_type, cert.key_bits);
}

std::string sans_text(const pki::CertInfo& cert) {
  if (cert.sans.empty()) return "none";
  std::string out;
  for (const auto& san : cert.sans) {
    if (!out.empty()) out += ", ";
    std::string_view type = san.type == pki::SanType::Dns  ? "DNS"
                            : san.type == pki::SanType::Ip ? "IP"
                                                           : pki::to_string(san.type);
    out += fmt::format("{}:{}", type, san.value);
  }
  return out;
}

void add_cert_rows(Text& out, const pki::CertInfo& c, std::int64_t now, int level) {
  out.row("Subject", c.subject, Tone::Strong, level);
  out.row("Issuer", c.issuer + (c.self_signed ? "  (self-signed)" : ""), Tone::Plain, level);
  out.row("Serial", c.serial_hex, Tone::Dim, level);
  bool valid_now = now >= c.not_before && now <= c.not_after;
  out.row("Valid",
          fmt::format("{} -> {}  ({})", pki::format_time(c.not_before), pki::format_time(c.not_after),
                      validity_text(c, now)),
          valid_now ? Tone::Plain : Tone::Bad, level);
  out.row("Names (SAN)", sans_text(c), Tone::Plain, level);
  out.row("Key", key_text(c), Tone::Plain, level);
  out.row(
      "Signature", c.signature_algorithm,
      c.signature_algorithm.find("sha1") != std::string::npos || c.signature_algorithm.find("SHA1") != std::string::npos
          ? Tone::Warn
          : Tone::Plain,
      level);
  out.row("SHA-256", c.sha256_fingerprint, Tone::Dim, level);
  out.row("Constraints", constraints_text(c), Tone::Plain, level);
  out.row("Key usage", c.key_usage.empty() ? "any (no extension)" : fmt::format("{}", fmt::join(c.key_usage, ", ")),
          Tone::Plain, level);
  out.row(
      "Extended usage",
      c.extended_key_usage.empty() ? "any (no extension)" : fmt::format("{}", fmt::join(c.extended_key_usage, ", ")),
      Tone::Plain, level);
  if (!c.permitted_dns.empty() || !c.excluded_dns.empty())
    out.row("Name constraints",
            fmt::format("permitted: {}; excluded: {}",
                        c.permitted_dns.empty() ? "-" : fmt::format("{}", fmt::join(c.permitted_dns, ", ")),
                        c.excluded_dns.empty() ? "-" : fmt::format("{}", fmt::join(c.excluded_dns, ", "))),
            Tone::Plain, level);
}

nlohmann::json cert_json(const pki::CertInfo& c, std::int64_t now) {
  nlohmann::json sans = nlohmann::json::array();
  for (const auto& san : c.sans) sans.push_back({{"type", pki::to_string(san.type)}, {"value", san.value}});
  nlohmann::json j = {
      {"subject", c.subject},
      {"issuer", c.issuer},
      {"common_name", c.common_name},
      {"serial", c.serial_hex},
      {"version", c.version},
      {"not_before", iso_time(c.not_before)},
      {"not_after", iso_time(c.not_after)},
      {"not_before_epoch", c.not_before},
      {"not_after_epoch", c.not_after},
      {"days_left", pki::days_between(now, c.not_after)},
      {"valid_now", now >= c.not_before && now <= c.not_after},
      {"subject_alt_names", sans},
      {"key_type", c.key_type},
      {"key_bits", c.key_bits},
      {"key_curve", c.key_curve.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.key_curve)},
      {"signature_algorithm", c.signature_algorithm},
      {"sha256_fingerprint", c.sha256_fingerprint},
      {"sha1_fingerprint", c.sha1_fingerprint},
      {"self_signed", c.self_signed},
      {"is_ca", c.is_ca},
      {"basic_constraints",
       c.has_basic_constraints
           ? nlohmann::json{{"ca", c.is_ca},
                            {"path_len", c.path_len ? nlohmann::json(*c.path_len) : nlohmann::json(nullptr)},
                            {"critical", c.basic_constraints_critical}}
           : nlohmann::json(nullptr)},
      {"key_usage", c.key_usage},
      {"extended_key_usage", c.extended_key_usage},
      {"subject_key_id", c.subject_key_id},
      {"authority_key_id", c.authority_key_id},
  };
  if (!c.permitted_dns.empty() || !c.excluded_dns.empty())
    j["name_constraints"] = {{"permitted_dns", c.permitted_dns}, {"excluded_dns", c.excluded_dns}};
  return j;
}

}  // namespace tlslab::report
