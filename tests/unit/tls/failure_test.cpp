#include "tls/failure.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string_view>

#include "support/cert_factory.hpp"
#include "support/tls_pair.hpp"

namespace tlslab::tls {
namespace {

using tlslab::testing::CertSpec;
using tlslab::testing::issue;
using tlslab::testing::PeerSetup;
using tlslab::testing::server_with;
using tlslab::testing::TlsPair;

// Failures holds the first OpenSSL error each side of a pair failed with (0: it did not fail), as
// Asio's SSL stream reports it (the first entry of the queue).
struct Failures {
  unsigned long client = 0;
  unsigned long server = 0;
  bool client_after_handshake = false;  // the client's failure came once its handshake was done
};

// run drives both sides' handshakes until one fails or both are done, then lets the client read
// what the server sent after it (a TLS 1.3 server judges a client certificate after the client's
// Finished, RFC 8446 section 4.4.2.4).
Failures run(TlsPair& pair) {
  Failures f;
  auto step = [](SSL* ssl, unsigned long& failed) {
    if (failed || SSL_is_init_finished(ssl)) return;
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc != 1 && SSL_get_error(ssl, rc) == SSL_ERROR_SSL) failed = ERR_get_error();
  };
  for (int round = 0; round < 16 && !f.client; ++round) {
    step(pair.client(), f.client);
    step(pair.server(), f.server);
  }
  if (!f.client && SSL_is_init_finished(pair.client())) {
    ERR_clear_error();
    char byte = 0;
    int rc = SSL_read(pair.client(), &byte, 1);
    if (rc <= 0 && SSL_get_error(pair.client(), rc) == SSL_ERROR_SSL) {
      f.client = ERR_get_error();
      f.client_after_handshake = true;
    }
  }
  ERR_clear_error();
  return f;
}

PeerSetup versions(int min, int max) {
  return {.ctx = [min, max](SSL_CTX* c) {
    SSL_CTX_set_min_proto_version(c, min);
    SSL_CTX_set_max_proto_version(c, max);
  }};
}

class Describe : public ::testing::Test {
 protected:
  tlslab::testing::Issued server_cert = issue(CertSpec{.common_name = "www.bank32.com", .dns = {"www.bank32.com"}});
  PeerSetup server = server_with(server_cert);
};

TEST_F(Describe, PlainHttpIsNotTls) {
  TlsPair pair(versions(TLS1_2_VERSION, TLS1_3_VERSION), server);
  ASSERT_EQ(SSL_do_handshake(pair.client()), -1);  // the ClientHello goes out; the server does not read it
  std::string_view reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(BIO_write(SSL_get_wbio(pair.server()), reply.data(), static_cast<int>(reply.size())),
            static_cast<int>(reply.size()));
  ERR_clear_error();
  ASSERT_EQ(SSL_do_handshake(pair.client()), -1);
  unsigned long code = ERR_get_error();
  EXPECT_EQ(tls_failure_kind(code), TlsFailureKind::NotTls) << tls_reason(code);
  auto words = describe_tls_failure(code);
  EXPECT_EQ(words.reason, "wrong version number");
  EXPECT_EQ(words.hint, " — the server does not speak TLS on this port (plain HTTP?)");
}

TEST_F(Describe, NoVersionInCommonOnBothSides) {
  TlsPair pair(versions(TLS1_2_VERSION, TLS1_2_VERSION), {.ctx = [&](SSL_CTX* c) {
                 server.ctx(c);
                 SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
               }});
  auto f = run(pair);
  ASSERT_NE(f.client, 0u);
  EXPECT_EQ(ERR_GET_REASON(f.client), SSL_AD_REASON_OFFSET + SSL_AD_PROTOCOL_VERSION);  // the server's alert
  EXPECT_EQ(tls_failure_kind(f.client), TlsFailureKind::NoCommonVersion) << tls_reason(f.client);
  EXPECT_EQ(tls_failure_kind(f.server), TlsFailureKind::NoCommonVersion) << tls_reason(f.server);
  EXPECT_EQ(describe_tls_failure(f.client).hint, " — no TLS version in common (see --tls-min/--tls-max)");
}

TEST_F(Describe, NoCipherInCommon) {
  auto client = versions(TLS1_2_VERSION, TLS1_2_VERSION);
  client.ssl = [](SSL* s) { SSL_set_cipher_list(s, "ECDHE-ECDSA-AES128-GCM-SHA256"); };
  TlsPair pair(client, {.ctx = [&](SSL_CTX* c) {
                 server.ctx(c);
                 SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES256-GCM-SHA384");
               }});
  auto f = run(pair);
  ASSERT_NE(f.client, 0u);
  EXPECT_EQ(describe_tls_failure(f.client).reason, "sslv3 alert handshake failure");
  EXPECT_EQ(tls_failure_kind(f.client), TlsFailureKind::NothingInCommon);
  EXPECT_EQ(tls_failure_kind(f.server), TlsFailureKind::NothingInCommon) << tls_reason(f.server);
  EXPECT_EQ(describe_tls_failure(f.client).hint,
            " — no cipher suite, group or signature algorithm in common (see --ciphers, --ciphersuites, --groups)");
}

TEST_F(Describe, ClientCertificateRequiredAfterTls13Handshake) {
  TlsPair pair(versions(TLS1_3_VERSION, TLS1_3_VERSION), {.ctx = [&](SSL_CTX* c) {
                 server.ctx(c);
                 SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
               }});
  auto f = run(pair);
  ASSERT_NE(f.client, 0u);
  EXPECT_TRUE(f.client_after_handshake);  // the verdict came after our Finished
  EXPECT_EQ(describe_tls_failure(f.client).reason, "tlsv13 alert certificate required");
  EXPECT_EQ(tls_failure_kind(f.client), TlsFailureKind::CertificateRequired);
  EXPECT_EQ(describe_tls_failure(f.client).hint,
            " — the server requires a client certificate (--cert FILE --key FILE)");
}

TEST_F(Describe, ClientCertificateFromAnUnknownCa) {
  auto ours = issue(CertSpec{.common_name = "client"});
  auto client = versions(TLS1_2_VERSION, TLS1_2_VERSION);
  client.ssl = [&](SSL* s) {
    SSL_use_certificate(s, ours.cert.get());
    SSL_use_PrivateKey(s, ours.key.get());
  };
  TlsPair pair(client, {.ctx = [&](SSL_CTX* c) {
                 server.ctx(c);
                 SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
               }});
  auto f = run(pair);
  ASSERT_NE(f.client, 0u);
  EXPECT_EQ(ERR_GET_REASON(f.client), SSL_R_TLSV1_ALERT_UNKNOWN_CA) << tls_reason(f.client);
  EXPECT_EQ(tls_failure_kind(f.client), TlsFailureKind::CertificateRejected);
  EXPECT_EQ(describe_tls_failure(f.client).hint, " — the server rejected our client certificate");
}

TEST(TlsFailureKind, AlertsByNumber) {
  auto alert = [](int number) { return ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET + number); };
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_HANDSHAKE_FAILURE)), TlsFailureKind::NothingInCommon);
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_PROTOCOL_VERSION)), TlsFailureKind::NoCommonVersion);
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_BAD_CERTIFICATE)), TlsFailureKind::CertificateRejected);
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_CERTIFICATE_UNKNOWN)), TlsFailureKind::CertificateRejected);
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_UNKNOWN_CA)), TlsFailureKind::CertificateRejected);
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_CERTIFICATE_REQUIRED)), TlsFailureKind::CertificateRequired);
  EXPECT_EQ(tls_failure_kind(alert(SSL_AD_DECODE_ERROR)), TlsFailureKind::Other);
  EXPECT_EQ(tls_failure_kind(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_PACKET_LENGTH_TOO_LONG)), TlsFailureKind::NotTls);
}

TEST(TlsFailureKind, OnlyLibsslReasonsCount) {
  // Same reason number, another library: not an SSL failure ("unsupported protocol family" of BIO
  // once matched "unsupported protocol" when reasons were searched as text).
  EXPECT_EQ(tls_failure_kind(ERR_PACK(ERR_LIB_X509, 0, SSL_R_WRONG_VERSION_NUMBER)), TlsFailureKind::Other);
  EXPECT_EQ(tls_failure_kind(ERR_PACK(ERR_LIB_BIO, 0, BIO_R_UNSUPPORTED_PROTOCOL_FAMILY)), TlsFailureKind::Other);
  EXPECT_EQ(tls_failure_kind(0), TlsFailureKind::Other);
  EXPECT_EQ(describe_tls_failure(0).hint, "");
}

TEST(TlsFailureHint, ClosedAndOther) {
  EXPECT_EQ(tls_failure_hint(TlsFailureKind::Closed), " — the server hung up mid-handshake");
  EXPECT_EQ(tls_failure_hint(TlsFailureKind::Other), "");
}

}  // namespace
}  // namespace tlslab::tls
