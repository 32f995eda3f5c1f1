#include "report/scan_render.hpp"

#include <fmt/format.h>

#include "report/cert_render.hpp"
#include "report/text.hpp"
#include "scan/suites.hpp"
#include "tls/trace.hpp"

namespace tlslab::report {
namespace {

std::string yes_no(const std::optional<bool>& v, const char* yes = "yes", const char* no = "no") {
  return !v ? "n/a" : *v ? yes : no;
}

Tone tone_of(const std::optional<bool>& v, bool good_when) {
  return !v ? Tone::Dim : *v == good_when ? Tone::Good : Tone::Bad;
}

Tone strength_tone(const std::string& s) {
  return s == "strong" ? Tone::Good : s == "acceptable" ? Tone::Plain : s == "weak" ? Tone::Warn : Tone::Bad;
}

Tone grade_tone(const std::string& g) {
  return g.rfind("A", 0) == 0 ? Tone::Good : g == "B" || g == "C" ? Tone::Warn : Tone::Bad;
}

bool legacy_version(std::uint16_t v) { return v < 0x0303; }

}  // namespace

std::string scan_text(const scan::ScanReport& r, bool color, std::int64_t now) {
  Text t(color);
  t.heading(r.address == r.target ? fmt::format("Scan of {}", r.target)
                                  : fmt::format("Scan of {} ({})", r.target, r.address));
  const auto& g = r.grade;
  std::string letter = g.letter == "T" ? fmt::format("T (would be {} if trusted)", g.letter_if_trusted) : g.letter;
  t.row("Grade", letter, grade_tone(g.letter));
  t.row("Score", fmt::format("{} (protocols {}, key exchange {}, ciphers {})", g.score, g.protocol_score,
                             g.key_exchange_score, g.cipher_score));
  for (const auto& reason : g.reasons) t.line(reason, Tone::Warn, 1);

  t.heading("Protocols");
  for (const auto& v : r.versions) {
    Tone tone = v.supported ? (legacy_version(v.version) ? Tone::Bad : Tone::Good) : Tone::Dim;
    t.row(v.name, v.supported ? "offered" : "not offered", tone);
  }
  for (const auto& v : r.versions) {
    if (!v.supported || v.suites.empty()) continue;
    std::string order = !v.server_preference ? "one suite" : *v.server_preference ? "server's order" : "client's order";
    t.heading(fmt::format("Cipher suites, {} ({})", v.name, order));
    for (auto id : v.suites) {
      auto s = scan::describe_suite(id);
      t.row(s.name, fmt::format("0x{:04x}  {} bits  {}", id, s.bits, s.strength()), strength_tone(s.strength()));
    }
  }
  t.heading("Key exchange and signatures");
  std::string groups, sigalgs, alpn;
  for (auto gid : r.groups) groups += (groups.empty() ? "" : ", ") + tls::group_name(gid);
  for (auto s : r.sigalgs) sigalgs += (sigalgs.empty() ? "" : ", ") + tls::signature_scheme_name(s);
  for (const auto& p : r.alpn) alpn += (alpn.empty() ? "" : ", ") + p;
  t.row("Groups", groups.empty() ? "none found" : groups);
  t.row("Signature algorithms", sigalgs.empty() ? "none found" : sigalgs);
  t.row("ALPN", alpn.empty() ? "none" : alpn);

  t.heading("Features");
  t.row("Session IDs", yes_no(r.session_id_resumption, "resumed", "not resumed"),
        tone_of(r.session_id_resumption, true));
  t.row("Session tickets", yes_no(r.ticket_resumption, "resumed", "not resumed"), tone_of(r.ticket_resumption, true));
  t.row("TLS 1.3 resumption", yes_no(r.tls13_resumption, "resumed", "not resumed"), tone_of(r.tls13_resumption, true));
  t.row("0-RTT (early data)", !r.max_early_data   ? "n/a"
                              : *r.max_early_data ? fmt::format("accepted (up to {} bytes)", *r.max_early_data)
                                                  : "not offered");
  t.row("OCSP stapling", yes_no(r.ocsp_stapling), tone_of(r.ocsp_stapling, true));
  t.row("Secure renegotiation", yes_no(r.secure_renegotiation), tone_of(r.secure_renegotiation, true));
  t.row("Extended master secret", yes_no(r.extended_master_secret), tone_of(r.extended_master_secret, true));
  t.row("TLS_FALLBACK_SCSV", yes_no(r.fallback_scsv, "honoured", "ignored"), tone_of(r.fallback_scsv, true));
  t.row("Compression", yes_no(r.compression, "enabled", "off"), tone_of(r.compression, false));

  t.heading("Certificate chain");
  if (!r.handshake_done) t.row("Handshake", "failed: " + r.handshake_error, Tone::Bad);
  for (std::size_t i = 0; i < r.chain.size(); ++i) {
    t.line(fmt::format("#{} {}", i, r.chain[i].subject), Tone::Strong);
    add_cert_rows(t, r.chain[i], now, 1);
  }
  if (r.handshake_done) {
    t.row("Verification", r.verdict.ok() ? "ok" : "failed", r.verdict.ok() ? Tone::Good : Tone::Bad);
    for (const auto& p : r.verdict.problems)
      t.line(fmt::format("depth {}: {} — {}", p.depth, p.reason, p.fix), Tone::Bad, 1);
    if (r.verdict.hostname.checked && !r.verdict.hostname.ok)
      t.line(fmt::format("name {}: {}", r.verdict.hostname.name, r.verdict.hostname.reason), Tone::Bad, 1);
  }
  t.heading("HTTP");
  t.row("Status", r.http_status ? std::to_string(*r.http_status) : "no HTTP response");
  t.row("HSTS", r.hsts ? *r.hsts : "not sent", r.hsts ? Tone::Good : Tone::Warn);

  if (!g.recommendations.empty()) {
    t.heading("Recommendations");
    for (const auto& rec : g.recommendations) t.line("- " + rec);
  }
  t.heading("Scan");
  t.row("Connections made", std::to_string(r.connections));
  t.row("Time", fmt::format("{:.0f} ms", r.elapsed_ms));
  return t.str();
}

nlohmann::json scan_json(const scan::ScanReport& r, std::int64_t now) {
  using nlohmann::json;
  auto opt = [](const std::optional<bool>& v) { return v ? json(*v) : json(nullptr); };
  json versions = json::array();
  for (const auto& v : r.versions) {
    json suites = json::array();
    for (auto id : v.suites) {
      auto s = scan::describe_suite(id);
      suites.push_back({{"id", fmt::format("0x{:04x}", id)},
                        {"name", s.name},
                        {"bits", s.bits},
                        {"forward_secret", s.forward_secret},
                        {"aead", s.aead},
                        {"strength", s.strength()}});
    }
    versions.push_back({{"version", v.name},
                        {"supported", v.supported},
                        {"server_preference", opt(v.server_preference)},
                        {"cipher_suites", suites}});
  }
  json groups = json::array(), sigalgs = json::array(), chain = json::array(), problems = json::array();
  for (auto g : r.groups) groups.push_back(tls::group_name(g));
  for (auto s : r.sigalgs) sigalgs.push_back(tls::signature_scheme_name(s));
  for (const auto& c : r.chain) chain.push_back(cert_json(c, now));
  for (const auto& p : r.verdict.problems)
    problems.push_back({{"depth", p.depth}, {"code", p.code}, {"reason", p.reason}, {"fix", p.fix}});
  return {
      {"target", r.target},
      {"address", r.address},
      {"grade",
       {{"letter", r.grade.letter},
        {"letter_if_trusted", r.grade.letter_if_trusted.empty() ? json(nullptr) : json(r.grade.letter_if_trusted)},
        {"score", r.grade.score},
        {"protocol_score", r.grade.protocol_score},
        {"key_exchange_score", r.grade.key_exchange_score},
        {"cipher_score", r.grade.cipher_score},
        {"reasons", r.grade.reasons},
        {"recommendations", r.grade.recommendations}}},
      {"protocols", versions},
      {"groups", groups},
      {"signature_algorithms", sigalgs},
      {"alpn", r.alpn},
      {"session_id_resumption", opt(r.session_id_resumption)},
      {"ticket_resumption", opt(r.ticket_resumption)},
      {"tls13_resumption", opt(r.tls13_resumption)},
      {"max_early_data", r.max_early_data ? json(*r.max_early_data) : json(nullptr)},
      {"ocsp_stapling", opt(r.ocsp_stapling)},
      {"secure_renegotiation", opt(r.secure_renegotiation)},
      {"extended_master_secret", opt(r.extended_master_secret)},
      {"fallback_scsv", opt(r.fallback_scsv)},
      {"compression", opt(r.compression)},
      {"handshake_done", r.handshake_done},
      {"handshake_error", r.handshake_error},
      {"certificate_chain", chain},
      {"verification",
       {{"ok", r.verdict.ok()},
        {"problems", problems},
        {"hostname_checked", r.verdict.hostname.checked},
        {"hostname_ok", r.verdict.hostname.ok},
        {"hostname_reason", r.verdict.hostname.reason}}},
      {"http_status", r.http_status ? json(*r.http_status) : json(nullptr)},
      {"hsts", r.hsts ? json(*r.hsts) : json(nullptr)},
      {"hsts_max_age", r.hsts_max_age ? json(*r.hsts_max_age) : json(nullptr)},
      {"connections", r.connections},
      {"elapsed_ms", r.elapsed_ms},
  };
}

}  // namespace tlslab::report
