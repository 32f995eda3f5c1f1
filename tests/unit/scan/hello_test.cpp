// The hand-built ClientHello against a real OpenSSL server (memory BIOs, no sockets), read back
// with parse_server_answer; and the parser on hand-made and hostile bytes.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "scan/hello.hpp"
#include "scan/server_hello.hpp"
#include "scan/suites.hpp"
#include "support/cert_factory.hpp"
#include "support/server_flight.hpp"
#include "support/tls_pair.hpp"

namespace tlslab::scan {
namespace {

using Kind = ServerAnswer::Kind;

// server_flight feeds hello to an OpenSSL server (certificate of key kind key, set up by
// configure) and returns everything it writes back.
std::string server_flight(const std::string& hello, const std::function<void(SSL_CTX*)>& configure = {},
                          const std::string& key = "ec-p256") {
  auto cert = testing::issue({.common_name = "www.bank32.com", .dns = {"www.bank32.com"}, .key = key});
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  testing::server_with(cert).ctx(ctx.get());
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  if (configure) configure(ctx.get());
  return testing::server_flight(ctx.get(), hello);
}

// answer_of parses the server's answer to hello.
ServerAnswer answer_of(const std::string& hello, const std::function<void(SSL_CTX*)>& configure = {}) {
  return parse_server_answer(server_flight(hello, configure));
}

HelloSpec spec(std::uint16_t version) {
  HelloSpec s;
  s.version = version;
  s.groups = default_groups();
  s.sigalgs = default_sigalgs();
  s.servername = "www.bank32.com";
  if (version == kTls13) {
    s.suites = tls13_candidates();
    s.key_shares = {x25519_share()};
  } else {
    s.suites = legacy_candidates();
  }
  return s;
}

TEST(Hello, OpenSslAcceptsTls12HelloAndAnswersWithAnOfferedSuite) {
  auto a = answer_of(build_client_hello(spec(kTls12)));
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(a.version, kTls12);
  EXPECT_TRUE(describe_suite(a.suite).forward_secret) << describe_suite(a.suite).name;
  EXPECT_TRUE(a.has_extension(0xff01));  // secure renegotiation
  EXPECT_TRUE(a.has_extension(0x0017));  // extended master secret
}

TEST(Hello, OpenSslAcceptsTls13HelloWithRealKeyShare) {
  auto a = answer_of(build_client_hello(spec(kTls13)));
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(a.version, kTls13);
  EXPECT_EQ(a.legacy_version, kTls12);
  EXPECT_EQ(a.group, 0x001d);
  EXPECT_EQ(a.suite >> 8, 0x13);
}

TEST(Hello, EmptyKeyShareGetsHelloRetryRequestNamingTheGroup) {
  auto s = spec(kTls13);
  s.key_shares.clear();
  s.groups = {0x0018};  // secp384r1
  auto a = answer_of(build_client_hello(s));
  ASSERT_EQ(a.kind, Kind::HelloRetryRequest) << a.error;
  EXPECT_EQ(a.group, 0x0018);
}

TEST(Hello, UnsupportedGroupIsRefusedWithAnAlert) {
  auto s = spec(kTls13);
  s.key_shares.clear();
  s.groups = {0x11ec};  // X25519MLKEM768: not in OpenSSL 3.0
  auto a = answer_of(build_client_hello(s), [](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION); });
  EXPECT_EQ(a.kind, Kind::Alert);
}

TEST(Hello, Tls10HelloGetsTls10ServerHello) {
  auto a = answer_of(build_client_hello(spec(kTls10)),
                     [](SSL_CTX* c) { SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0"); });
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(a.version, kTls10);
  EXPECT_TRUE(describe_suite(a.suite).cbc);
}

TEST(Hello, ServerRefusesVersionBelowItsMinimum) {
  auto a =
      answer_of(build_client_hello(spec(kTls11)), [](SSL_CTX* c) { SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION); });
  ASSERT_EQ(a.kind, Kind::Alert);
  EXPECT_EQ(a.alert, 70);  // protocol_version
}

TEST(Hello, ServerPicksItsOwnOrderWithServerPreference) {
  auto s = spec(kTls12);
  s.suites = {0xc02b, 0xc02c};  // ECDHE-ECDSA AES128-GCM, AES256-GCM
  auto a = answer_of(build_client_hello(s), [](SSL_CTX* c) {
    SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
    SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
  });
  ASSERT_EQ(a.kind, Kind::ServerHello);
  EXPECT_EQ(a.suite, 0xc02c);
}

TEST(Hello, FallbackScsvBelowTheHighestVersionIsRefused) {
  auto s = spec(kTls11);
  s.suites.push_back(kFallbackScsv);
  auto a = answer_of(build_client_hello(s), [](SSL_CTX* c) { SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0"); });
  ASSERT_EQ(a.kind, Kind::Alert);
  EXPECT_EQ(a.alert, 86);  // inappropriate_fallback
}

TEST(Hello, Sslv2HelloHasTheSslv2Shape) {
  auto h = build_sslv2_hello();
  ASSERT_GE(h.size(), 3u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]) & 0x80, 0x80);
  EXPECT_EQ((static_cast<unsigned char>(h[0]) & 0x7f) << 8 | static_cast<unsigned char>(h[1]), h.size() - 2);
  EXPECT_EQ(h[2], 1);  // CLIENT-HELLO
}

TEST(ServerAnswer, IncompleteUntilTheWholeMessageArrives) {
  EXPECT_EQ(parse_server_answer("").kind, Kind::Incomplete);
  EXPECT_EQ(parse_server_answer(std::string("\x16\x03\x03\x00", 4)).kind, Kind::Incomplete);
  EXPECT_EQ(parse_server_answer(std::string("\x16\x03\x03\x00\x10\x02\x00", 7)).kind, Kind::Incomplete);
}

TEST(ServerAnswer, AlertAndGarbage) {
  auto alert = parse_server_answer(std::string("\x15\x03\x01\x00\x02\x02\x28", 7));
  EXPECT_EQ(alert.kind, Kind::Alert);
  EXPECT_EQ(alert.alert, 40);
  EXPECT_EQ(parse_server_answer("HTTP/1.1 400 Bad Request\r\n").kind, Kind::NotTls);
  EXPECT_EQ(parse_server_answer(std::string("\x16\x03\x03\x00\x04\x0b\x00\x00\x00", 9)).kind, Kind::NotTls);
  // A ServerHello whose session id length runs past its end.
  std::string bad("\x16\x03\x03\x00\x28\x02\x00\x00\x24\x03\x03", 11);
  bad += std::string(32, 'r') + std::string("\xff\x00", 2);
  EXPECT_EQ(parse_server_answer(bad).kind, Kind::NotTls);
}

TEST(ServerAnswer, HandshakeSplitAcrossRecords) {
  // A minimal ServerHello whose handshake bytes come in two records.
  std::string body("\x02\x00\x00\x26\x03\x03", 6);
  body += std::string(32, 'r');
  body += std::string("\x00\xc0\x2b\x00", 4);
  std::string one = std::string("\x16\x03\x03\x00\x05", 5) + body.substr(0, 5);
  std::string two = std::string("\x16\x03\x03\x00", 4) + static_cast<char>(body.size() - 5) + body.substr(5);
  EXPECT_EQ(parse_server_answer(one).kind, Kind::Incomplete);
  auto a = parse_server_answer(one + two);
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(a.suite, 0xc02b);
}

TEST(ServerAnswer, EcdheKeyExchangeNamesTheCurveAndTheScheme) {
  auto s = spec(kTls12);
  s.suites = ecdhe_candidates();
  s.groups = {0x0018, 0x0017};   // secp384r1, secp256r1 (TLS 1.2 needs the certificate's curve among them)
  s.sigalgs = {0x0503, 0x0603};  // in TLS 1.2 any ECDSA key may sign with these (ecdsa_sha384, ecdsa_sha512)
  auto flight = server_flight(build_client_hello(s));
  auto a = parse_server_answer(flight, true);
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_TRUE(a.server_key_exchange);
  EXPECT_TRUE(a.group == 0x0018 || a.group == 0x0017) << a.group;
  EXPECT_TRUE(a.signature_scheme == 0x0503 || a.signature_scheme == 0x0603) << a.signature_scheme;
  // Without asking, only the ServerHello is read; cut short, the flight is not complete.
  auto hello_only = parse_server_answer(flight);
  EXPECT_EQ(hello_only.kind, Kind::ServerHello);
  EXPECT_EQ(hello_only.signature_scheme, 0);
  EXPECT_EQ(parse_server_answer(flight.substr(0, flight.size() - 20), true).kind, Kind::Incomplete);
}

TEST(ServerAnswer, OneSchemeOfferedIsTheOneUsed) {
  auto s = spec(kTls12);
  s.suites = signed_candidates();
  s.sigalgs = {0x0203};  // ecdsa_sha1
  auto a = parse_server_answer(server_flight(build_client_hello(s)), true);
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(a.signature_scheme, 0x0203);
}

TEST(ServerAnswer, DheKeyExchangeNamesTheScheme) {
  auto s = spec(kTls12);
  s.suites.clear();
  for (auto id : signed_candidates())
    if (describe_suite(id).key_exchange == "DHE_RSA") s.suites.push_back(id);
  s.sigalgs = {0x0805};  // rsa_pss_rsae_sha384
  auto flight = server_flight(
      build_client_hello(s), [](SSL_CTX* ctx) { SSL_CTX_set_dh_auto(ctx, 1); }, "rsa-2048");
  auto a = parse_server_answer(flight, true);
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(describe_suite(a.suite).key_exchange, "DHE_RSA");
  EXPECT_TRUE(a.server_key_exchange);
  EXPECT_EQ(a.signature_scheme, 0x0805);
  EXPECT_EQ(a.group, 0);
}

TEST(ServerAnswer, Tls13AnswerIsNotReadOn) {
  auto a = parse_server_answer(server_flight(build_client_hello(spec(kTls13))), true);
  ASSERT_EQ(a.kind, Kind::ServerHello) << a.error;
  EXPECT_EQ(a.version, kTls13);
  EXPECT_FALSE(a.server_key_exchange);
}

TEST(Hello, Tls13SignatureSchemes) {
  EXPECT_TRUE(tls13_signature_scheme(0x0403));
  EXPECT_TRUE(tls13_signature_scheme(0x0804));
  EXPECT_TRUE(tls13_signature_scheme(0x0807));
  EXPECT_FALSE(tls13_signature_scheme(0x0401));  // rsa_pkcs1_sha256
  EXPECT_FALSE(tls13_signature_scheme(0x0203));  // ecdsa_sha1
}

}  // namespace
}  // namespace tlslab::scan
