#include "tls/negotiated.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "support/tls_pair.hpp"
#include "tls/handshake_report.hpp"
#include "tls/server_context.hpp"

namespace tlslab::tls {
namespace {

using tlslab::testing::CertSpec;
using tlslab::testing::issue;
using tlslab::testing::PeerSetup;
using tlslab::testing::server_with;
using tlslab::testing::TlsPair;

// select_offered picks the first protocol the client offers that is in the server's list ("h2" first).
int select_offered(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                   void*) {
  static const unsigned char ours[] = "\x02h2\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// client_for offers SNI and ALPN (either may be empty) over exactly one TLS version.
PeerSetup client_for(int version, std::string sni = "www.bank32.com", std::string alpn = "") {
  return {.ctx =
              [version](SSL_CTX* ctx) {
                SSL_CTX_set_min_proto_version(ctx, version);
                SSL_CTX_set_max_proto_version(ctx, version);
              },
          .ssl =
              [sni, alpn](SSL* ssl) {
                if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
                if (!alpn.empty())
                  SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn.data()),
                                      static_cast<unsigned>(alpn.size()));
              }};
}

// server_for serves a certificate of the given key kind and selects ALPN.
PeerSetup server_for(const std::string& key = "ec-p256") {
  PeerSetup s = server_with(issue(CertSpec{.common_name = "www.bank32.com", .dns = {"www.bank32.com"}, .key = key}));
  s.ctx = [base = s.ctx](SSL_CTX* ctx) {
    base(ctx);
    SSL_CTX_set_alpn_select_cb(ctx, select_offered, nullptr);
  };
  return s;
}

// expect_same checks that both sides read the same facts of one handshake.
void expect_same(const Negotiated& client, const Negotiated& server) {
  EXPECT_EQ(client.version, server.version);
  EXPECT_EQ(client.cipher.iana, server.cipher.iana);
  EXPECT_EQ(client.cipher.id, server.cipher.id);
  EXPECT_EQ(client.group, server.group);
  EXPECT_EQ(client.signature_scheme, server.signature_scheme);
  EXPECT_EQ(client.alpn, server.alpn);
  EXPECT_EQ(client.sni, server.sni);
  EXPECT_EQ(client.resumed, server.resumed);
}

TEST(TlsVersion, NamesEachVersionAsOpenSslDoes) {
  EXPECT_EQ(to_string(TlsVersion::None), "");
  EXPECT_EQ(to_string(TlsVersion::Ssl3), "SSLv3");
  EXPECT_EQ(to_string(TlsVersion::Tls1_0), "TLSv1");
  EXPECT_EQ(to_string(TlsVersion::Tls1_1), "TLSv1.1");
  EXPECT_EQ(to_string(TlsVersion::Tls1_2), "TLSv1.2");
  EXPECT_EQ(to_string(TlsVersion::Tls1_3), "TLSv1.3");
  EXPECT_EQ(to_string(static_cast<TlsVersion>(0xFEFD)), "unknown");  // DTLS 1.2
  EXPECT_EQ(to_string(static_cast<TlsVersion>(0x0305)), "unknown");
}

TEST(TlsVersion, IsTheWireCodePoint) {
  EXPECT_EQ(static_cast<int>(TlsVersion::Tls1_2), TLS1_2_VERSION);
  EXPECT_EQ(static_cast<int>(TlsVersion::Tls1_3), TLS1_3_VERSION);
}

class NegotiatedVersions : public ::testing::TestWithParam<int> {};

TEST_P(NegotiatedVersions, BothSidesReadTheSameFactsAndNameTheVersionAsOpenSsl) {
  TlsPair pair(client_for(GetParam(), "www.bank32.com", std::string("\x08http/1.1\x02h2", 12)), server_for());
  ASSERT_TRUE(pair.handshake()) << pair.error();
  auto client = negotiated(pair.client());
  auto server = negotiated(pair.server());
  expect_same(client, server);
  EXPECT_EQ(static_cast<int>(client.version), GetParam());
  EXPECT_EQ(to_string(client.version), SSL_get_version(pair.client()));
  EXPECT_EQ(client.cipher.iana, SSL_CIPHER_standard_name(SSL_get_current_cipher(pair.client())));
  EXPECT_EQ(client.alpn, "h2");  // the server's preference among those offered
  EXPECT_EQ(client.sni, "www.bank32.com");
  EXPECT_EQ(client.group, "x25519");
  EXPECT_EQ(client.signature_scheme, "ecdsa_secp256r1_sha256");
  EXPECT_FALSE(client.resumed);
}

INSTANTIATE_TEST_SUITE_P(Tls, NegotiatedVersions, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION));

TEST(Negotiated, NothingOfferedIsEmpty) {
  TlsPair pair(client_for(TLS1_3_VERSION, "", ""), server_for());
  ASSERT_TRUE(pair.handshake()) << pair.error();
  for (SSL* side : {pair.client(), pair.server()}) {
    auto n = negotiated(side);
    EXPECT_EQ(n.alpn, "");
    EXPECT_EQ(n.sni, "");
    EXPECT_EQ(selected_alpn(side), "");
  }
}

TEST(Negotiated, SelectedAlpnViewsTheConnectionsOwnCopy) {
  TlsPair pair(client_for(TLS1_3_VERSION, "www.bank32.com", std::string("\x08http/1.1", 9)), server_for());
  ASSERT_TRUE(pair.handshake()) << pair.error();
  EXPECT_EQ(selected_alpn(pair.client()), "http/1.1");
  EXPECT_EQ(selected_alpn(pair.server()), "http/1.1");
}

TEST(Negotiated, TheSignatureIsTheServersOnBothSides) {
  TlsPair pair(client_for(TLS1_2_VERSION), server_for("rsa-2048"));
  ASSERT_TRUE(pair.handshake()) << pair.error();
  auto client = negotiated(pair.client());
  auto server = negotiated(pair.server());
  expect_same(client, server);
  EXPECT_EQ(client.signature_scheme, "rsa_pss_rsae_sha256");
  EXPECT_EQ(client.cipher.authentication, "RSA");
}

TEST(Negotiated, ResumptionIsSeenByBothSides) {
  // Both servers encrypt tickets with the same keys, so the second accepts the first's ticket.
  PeerSetup server = server_for();
  server.ctx = [base = server.ctx](SSL_CTX* ctx) {
    base(ctx);
    unsigned char keys[80] = {4, 5, 6};
    SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
  };
  ossl::Ptr<SSL_SESSION> session;
  {
    TlsPair first(client_for(TLS1_3_VERSION), server);
    ASSERT_TRUE(first.handshake()) << first.error();
    session.reset(SSL_get1_session(first.client()));
    EXPECT_TRUE(first.shutdown());
  }
  PeerSetup client = client_for(TLS1_3_VERSION);
  client.ssl = [base = client.ssl, &session](SSL* ssl) {
    base(ssl);
    SSL_set_session(ssl, session.get());
  };
  TlsPair second(client, server);
  ASSERT_TRUE(second.handshake()) << second.error();
  EXPECT_TRUE(negotiated(second.client()).resumed);
  EXPECT_TRUE(negotiated(second.server()).resumed);
}

TEST(Negotiated, IsWhatTheClientReportAndTheServerFactsStartFrom) {
  TlsPair pair(client_for(TLS1_3_VERSION, "www.bank32.com", std::string("\x02h2", 3)), server_for());
  ASSERT_TRUE(pair.handshake()) << pair.error();
  auto n = negotiated(pair.client());
  auto report = read_handshake(pair.client());
  expect_same(report, n);
  ASSERT_EQ(report.peer_chain.size(), 1u);
  EXPECT_EQ(report.peer_chain[0].common_name, "www.bank32.com");

  auto facts = connection_facts(pair.server());
  EXPECT_EQ(facts.version, "TLSv1.3");
  EXPECT_EQ(facts.cipher_iana, n.cipher.iana);
  EXPECT_EQ(facts.cipher_openssl, n.cipher.openssl);
  EXPECT_EQ(facts.cipher_bits, n.cipher.bits);
  EXPECT_EQ(facts.group, n.group);
  EXPECT_EQ(facts.signature_scheme, n.signature_scheme);
  EXPECT_EQ(facts.sni, "www.bank32.com");
  EXPECT_EQ(facts.alpn, "h2");
  EXPECT_FALSE(facts.resumed);
  EXPECT_EQ(facts.client_certificate, "");
}

}  // namespace
}  // namespace tlslab::tls
