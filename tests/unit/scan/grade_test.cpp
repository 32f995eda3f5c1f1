// The grading rubric of docs/scan.md, one rule at a time.
#include <gtest/gtest.h>

#include "scan/grade.hpp"
#include "scan/hello.hpp"
#include "scan/suites.hpp"

namespace tlslab::scan {
namespace {

constexpr std::int64_t kNow = 1'750'000'000;

pki::CertInfo leaf(const std::string& type = "EC", int bits = 256, const std::string& sig = "ecdsa-with-SHA256") {
  pki::CertInfo c;
  c.key_type = type;
  c.key_bits = bits;
  c.signature_algorithm = sig;
  return c;
}

// modern is a TLS 1.2 + 1.3 server with good suites, a trusted EC chain and HSTS.
ScanReport modern() {
  ScanReport r;
  r.versions = {{0x0002, "SSLv2"},
                {kSsl3, "SSLv3"},
                {kTls10, "TLS 1.0"},
                {kTls11, "TLS 1.1"},
                {kTls12, "TLS 1.2", true, {0xc02c, 0xc02b}, true},
                {kTls13, "TLS 1.3", true, {0x1302, 0x1301}}};
  r.chain = {leaf()};
  r.verdict.chain_ok = true;
  r.handshake_done = true;
  r.secure_renegotiation = true;
  r.fallback_scsv = true;
  r.compression = false;
  r.hsts_max_age = 31536000;
  return r;
}

VersionSupport& version(ScanReport& r, std::uint16_t v) {
  for (auto& s : r.versions)
    if (s.version == v) return s;
  throw std::logic_error("no such version");
}

TEST(Grade, ModernServerWithHstsGetsAPlus) {
  auto g = grade(modern(), kNow);
  EXPECT_EQ(g.letter, "A+");
  EXPECT_GE(g.score, 80);
  EXPECT_TRUE(g.reasons.empty());
}

TEST(Grade, WithoutHstsItIsA) {
  auto r = modern();
  r.hsts_max_age.reset();
  EXPECT_EQ(grade(r, kNow).letter, "A");
  r.hsts_max_age = 3600;  // too short for A+
  EXPECT_EQ(grade(r, kNow).letter, "A");
}

TEST(Grade, Tls10CapsAtB) {
  auto r = modern();
  version(r, kTls10) = {kTls10, "TLS 1.0", true, {0xc014}};
  auto g = grade(r, kNow);
  EXPECT_EQ(g.letter, "B");
  ASSERT_FALSE(g.reasons.empty());
}

TEST(Grade, Sslv3CapsAtCAndSslv2Fails) {
  auto r = modern();
  version(r, kSsl3) = {kSsl3, "SSLv3", true, {0x002f}};
  EXPECT_EQ(grade(r, kNow).letter, "C");
  version(r, 0x0002).supported = true;
  EXPECT_EQ(grade(r, kNow).letter, "F");
}

TEST(Grade, Rc4AndNullSuites) {
  auto r = modern();
  version(r, kTls12).suites.push_back(0x0005);  // TLS_RSA_WITH_RC4_128_SHA
  EXPECT_EQ(grade(r, kNow).letter, "C");
  version(r, kTls12).suites.push_back(0x0002);  // TLS_RSA_WITH_NULL_SHA
  EXPECT_EQ(grade(r, kNow).letter, "F");
}

TEST(Grade, NoForwardSecrecyCapsAtB) {
  auto r = modern();
  version(r, kTls13).supported = false;
  version(r, kTls13).suites.clear();
  version(r, kTls12).suites = {0x009c, 0x009d};  // TLS_RSA_WITH_AES_*_GCM
  EXPECT_EQ(grade(r, kNow).letter, "B");
}

TEST(Grade, UntrustedChainIsTWithTheHiddenGrade) {
  auto r = modern();
  r.verdict.chain_ok = false;
  r.verdict.problems.push_back({.depth = 0, .code = 10, .reason = "expired on 2024-01-01"});
  auto g = grade(r, kNow);
  EXPECT_EQ(g.letter, "T");
  EXPECT_EQ(g.letter_if_trusted, "A+");
}

TEST(Grade, Sha1SignedLeafIsNotTrusted) {
  auto r = modern();
  r.chain = {leaf("RSA", 2048, "sha1WithRSAEncryption")};
  EXPECT_EQ(grade(r, kNow).letter, "T");
}

TEST(Grade, WeakKeys) {
  auto r = modern();
  r.chain = {leaf("RSA", 1024, "sha256WithRSAEncryption")};
  EXPECT_EQ(grade(r, kNow).letter, "B");
  r.chain = {leaf("RSA", 512, "sha256WithRSAEncryption")};
  EXPECT_EQ(grade(r, kNow).letter, "F");
}

TEST(Grade, MissingFallbackScsvIsAMinusAndCompressionIsC) {
  auto r = modern();
  r.fallback_scsv = false;
  EXPECT_EQ(grade(r, kNow).letter, "A-");
  r.compression = true;
  EXPECT_EQ(grade(r, kNow).letter, "C");
}

TEST(Grade, NothingNegotiatedIsF) {
  ScanReport r;
  EXPECT_EQ(grade(r, kNow).letter, "F");
}

TEST(Grade, LetterForScore) {
  EXPECT_EQ(letter_for_score(95), "A");
  EXPECT_EQ(letter_for_score(70), "B");
  EXPECT_EQ(letter_for_score(50), "C");
  EXPECT_EQ(letter_for_score(10), "F");
}

TEST(Suites, Classification) {
  auto gcm = describe_suite(0xc02b);
  EXPECT_EQ(gcm.name, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  EXPECT_TRUE(gcm.forward_secret && gcm.aead);
  EXPECT_EQ(gcm.strength(), "strong");
  auto cbc = describe_suite(0x002f);  // TLS_RSA_WITH_AES_128_CBC_SHA
  EXPECT_TRUE(cbc.cbc);
  EXPECT_FALSE(cbc.forward_secret);
  EXPECT_EQ(cbc.strength(), "weak");
  EXPECT_EQ(describe_suite(0x000a).bits, 112);  // 3DES
  EXPECT_EQ(describe_suite(0x1303).bits, 256);  // ChaCha20
  EXPECT_TRUE(describe_suite(0x1301).tls13);
  EXPECT_EQ(describe_suite(0x0001).strength(), "insecure");  // NULL_MD5
}

TEST(Suites, CandidatesExcludeScsvsAndTls13) {
  const auto& c = legacy_candidates();
  EXPECT_GT(c.size(), 200u);
  for (auto id : c) {
    EXPECT_NE(id, 0x00ff);
    EXPECT_NE(id, 0x5600);
    EXPECT_NE(id >> 8, 0x13);
  }
}

}  // namespace
}  // namespace tlslab::scan
