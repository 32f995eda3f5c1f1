#include "scan/grade.hpp"

// GCC 12 at -O3 reports bogus overlaps in std::string assignments here (GCC bug 105329), which
// -Werror turns into a failed release build.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "scan/hello.hpp"
#include "scan/suites.hpp"

namespace tlslab::scan {
namespace {

constexpr std::int64_t kHstsMinimum = 180 * 86400;  // SSL Labs' A+ threshold: six months

int protocol_points(std::uint16_t v) {
  switch (v) {
    case 0x0002:
      return 0;
    case kSsl3:
      return 80;
    case kTls10:
      return 90;
    case kTls11:
      return 95;
    default:
      return 100;
  }
}

int cipher_points(int bits) {
  if (bits == 0) return 0;
  if (bits < 128) return 20;
  if (bits < 256) return 80;
  return 100;
}

int key_points(const pki::CertInfo& leaf) {
  int bits = leaf.key_bits;
  if (leaf.key_type == "RSA" || leaf.key_type == "RSA-PSS" || leaf.key_type == "DSA") {
    if (bits < 1024) return 20;
    if (bits < 2048) return 80;
    if (bits < 4096) return 90;
    return 100;
  }
  if (leaf.key_type == "EC") return bits >= 384 ? 100 : bits >= 256 ? 90 : 40;
  return 100;  // Ed25519, Ed448
}

// Rank orders letters from best to worst so caps keep the lower one.
int rank(std::string_view letter) {
  static constexpr std::string_view order[] = {"A+", "A", "A-", "B", "C", "D", "E", "F"};
  for (int i = 0; i < 8; ++i)
    if (order[i] == letter) return i;
  return 7;
}

struct Capper {
  Grade& g;
  std::string letter;
  void cap(std::string_view to, std::string reason, std::string fix) {
    if (rank(to) > rank(letter)) letter = std::string(to);
    g.reasons.push_back(fmt::format("{} (grade capped at {})", reason, to));
    if (!fix.empty()) g.recommendations.push_back(std::move(fix));
  }
};

}  // namespace

std::string letter_for_score(int score) {
  if (score >= 80) return "A";
  if (score >= 65) return "B";
  if (score >= 50) return "C";
  if (score >= 35) return "D";
  if (score >= 20) return "E";
  return "F";
}

Grade grade(const ScanReport& r, std::int64_t now) {
  Grade g;
  std::vector<std::uint16_t> versions;
  std::vector<SuiteInfo> suites;
  for (const auto& v : r.versions) {
    if (!v.supported) continue;
    versions.push_back(v.version);
    for (auto id : v.suites) suites.push_back(describe_suite(id));
  }
  if (versions.empty()) {
    g.letter = "F";
    g.reasons.push_back("no SSL/TLS version could be negotiated");
    return g;
  }
  auto [lo, hi] = std::minmax_element(versions.begin(), versions.end(),
                                      [](auto a, auto b) { return protocol_points(a) < protocol_points(b); });
  g.protocol_score = (protocol_points(*lo) + protocol_points(*hi)) / 2;
  if (!r.chain.empty()) g.key_exchange_score = key_points(r.chain.front());
  if (!suites.empty()) {
    auto [weak, strong] =
        std::minmax_element(suites.begin(), suites.end(), [](const auto& a, const auto& b) { return a.bits < b.bits; });
    g.cipher_score = (cipher_points(weak->bits) + cipher_points(strong->bits)) / 2;
  }
  g.score = (g.protocol_score * 30 + g.key_exchange_score * 30 + g.cipher_score * 40) / 100;
  Capper c{g, letter_for_score(g.score)};

  auto has_version = [&](std::uint16_t v) { return std::find(versions.begin(), versions.end(), v) != versions.end(); };
  if (has_version(0x0002)) c.cap("F", "SSLv2 is supported (DROWN)", "Disable SSLv2.");
  if (has_version(kSsl3)) c.cap("C", "SSLv3 is supported (POODLE)", "Disable SSLv3.");
  if (has_version(kTls10) || has_version(kTls11))
    c.cap("B", "TLS 1.0 or 1.1 is supported (deprecated by RFC 8996)", "Disable TLS 1.0 and 1.1.");
  if (!has_version(kTls12) && !has_version(kTls13))
    c.cap("C", "neither TLS 1.2 nor TLS 1.3 is supported", "Enable TLS 1.2 and TLS 1.3.");
  auto any = [&](auto pred) { return std::any_of(suites.begin(), suites.end(), pred); };
  if (any([](const SuiteInfo& s) { return s.insecure; }))
    c.cap("F", "NULL, export, anonymous or DES suites are accepted",
          "Remove NULL, EXPORT, anonymous and DES suites (use '!aNULL:!eNULL:!EXPORT:!DES').");
  if (any([](const SuiteInfo& s) { return s.rc4; })) c.cap("C", "RC4 suites are accepted (RFC 7465)", "Remove RC4.");
  if (any([](const SuiteInfo& s) { return s.triple_des; }) && (has_version(kTls11) || has_version(kTls12)))
    c.cap("C", "3DES suites are accepted with TLS 1.1 or later (SWEET32)", "Remove 3DES suites.");
  if (!suites.empty() && !any([](const SuiteInfo& s) { return s.forward_secret; }))
    c.cap("B", "no suite offers forward secrecy", "Enable ECDHE suites (and prefer them).");
  if (r.compression.value_or(false)) c.cap("C", "TLS compression is enabled (CRIME)", "Disable TLS compression.");
  if (r.secure_renegotiation && !*r.secure_renegotiation)
    c.cap("C", "secure renegotiation (RFC 5746) is not supported", "Upgrade the TLS library.");
  if (versions.size() > 1 && r.fallback_scsv && !*r.fallback_scsv)
    c.cap("A-", "TLS_FALLBACK_SCSV is not honoured (downgrade protection, RFC 7507)",
          "Upgrade the TLS library or support one TLS version only.");
  if (!r.chain.empty()) {
    const auto& leaf = r.chain.front();
    bool rsa = leaf.key_type == "RSA" || leaf.key_type == "RSA-PSS" || leaf.key_type == "DSA";
    if (rsa && leaf.key_bits < 1024)
      c.cap("F", fmt::format("the server key is {} {} bits", leaf.key_type, leaf.key_bits),
            "Use an RSA 2048 or EC P-256 key.");
    else if (rsa && leaf.key_bits < 2048)
      c.cap("B", fmt::format("the server key is {} {} bits", leaf.key_type, leaf.key_bits),
            "Use an RSA 2048 or EC P-256 key.");
  }
  if (!has_version(kTls13)) g.recommendations.push_back("Enable TLS 1.3.");

  // Trust: a certificate browsers refuse hides the grade behind T (SSL Labs does the same).
  std::vector<std::string> trust;
  for (const auto& p : r.verdict.problems) trust.push_back(fmt::format("depth {}: {}", p.depth, p.reason));
  if (r.verdict.hostname.checked && !r.verdict.hostname.ok) trust.push_back(r.verdict.hostname.reason);
  for (std::size_t i = 0; i < r.chain.size(); ++i) {
    const auto& cert = r.chain[i];
    bool sha1 = cert.signature_algorithm.find("sha1") != std::string::npos ||
                cert.signature_algorithm.find("SHA1") != std::string::npos;
    if (sha1 && !cert.self_signed) trust.push_back(fmt::format("depth {} is signed with SHA-1", i));
    (void)now;
  }
  std::string letter = c.letter;
  if (letter == "A" && r.hsts_max_age && *r.hsts_max_age >= kHstsMinimum) letter = "A+";
  if (letter == "A" && !r.hsts_max_age)
    g.recommendations.push_back("Send Strict-Transport-Security with max-age >= 15552000 (A+).");
  if (!r.handshake_done) trust.push_back("no full handshake succeeded: " + r.handshake_error);
  if (!trust.empty()) {
    g.letter_if_trusted = letter;
    letter = "T";
    for (auto& t : trust) g.reasons.push_back("certificate not trusted: " + t);
    g.recommendations.push_back("Serve a valid, SHA-256-signed chain for this name, from a trusted CA, in order.");
  }
  g.letter = letter;
  return g;
}

}  // namespace tlslab::scan
