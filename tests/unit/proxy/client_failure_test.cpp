#include "proxy/client_failure.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "ossl/pem.hpp"

namespace tlslab::proxy {
namespace {

using K = ClientFailureKind;

ClientFailure of_reason(int reason) { return classify_client_failure({.ssl_error = ERR_PACK(ERR_LIB_SSL, 0, reason)}); }

TEST(ClientFailure, TellsDistrustFromRecordLayerFromNothingInCommon) {
  EXPECT_EQ(of_reason(SSL_R_TLSV1_ALERT_UNKNOWN_CA).kind, K::DistrustsCa);
  EXPECT_EQ(of_reason(SSL_R_SSLV3_ALERT_BAD_CERTIFICATE).kind, K::DistrustsCa);
  EXPECT_EQ(of_reason(SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN).kind, K::DistrustsCa);
  EXPECT_EQ(of_reason(SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED).kind, K::RefusedCertificate);
  EXPECT_EQ(of_reason(SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC).kind, K::RecordLayer);
  EXPECT_EQ(of_reason(SSL_R_SSLV3_ALERT_BAD_RECORD_MAC).kind, K::RecordLayer);
  EXPECT_EQ(of_reason(SSL_R_DATA_LENGTH_TOO_LONG).kind, K::RecordLayer);
  EXPECT_EQ(of_reason(SSL_R_NO_SHARED_CIPHER).kind, K::NothingInCommon);
  EXPECT_EQ(of_reason(SSL_R_UNSUPPORTED_PROTOCOL).kind, K::NothingInCommon);
  EXPECT_EQ(of_reason(SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM).kind, K::NothingInCommon);
  EXPECT_EQ(of_reason(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION).kind, K::NothingInCommon);
  EXPECT_EQ(of_reason(SSL_R_UNEXPECTED_MESSAGE).kind, K::BrokeProtocol);
  EXPECT_EQ(of_reason(SSL_R_HTTP_REQUEST).kind, K::NotTls);
  EXPECT_EQ(of_reason(SSL_R_TLSV1_ALERT_INTERNAL_ERROR).kind, K::Other);
}

TEST(ClientFailure, SaysWhatTheClientSaidAndTheFix) {
  auto distrust = of_reason(SSL_R_TLSV1_ALERT_UNKNOWN_CA);
  EXPECT_NE(distrust.why.find("does not trust the proxy's CA"), std::string::npos) << distrust.why;
  EXPECT_NE(distrust.why.find("alert \"tlsv1 alert unknown ca\""), std::string::npos) << distrust.why;
  auto mac = of_reason(SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  EXPECT_NE(mac.why.find("record-layer failure (decryption failed or bad record mac)"), std::string::npos) << mac.why;
  EXPECT_EQ(mac.why.find("does not trust"), std::string::npos);
  EXPECT_EQ(client_failure_name(K::DistrustsCa), "distrusts_ca");
}

TEST(ClientFailure, TimeoutsClosesAndResets) {
  EXPECT_EQ(classify_client_failure({.timed_out = true, .closed = true}).kind, K::TimedOut);
  EXPECT_EQ(classify_client_failure({.closed = true}).kind, K::Closed);
  auto reset = classify_client_failure({.system_error = "Connection reset by peer"});
  EXPECT_EQ(reset.kind, K::Network);
  EXPECT_NE(reset.why.find("Connection reset by peer"), std::string::npos);
}

// answer feeds bytes to the answering context, returns what it writes back and whether OpenSSL
// read a ClientHello.
std::pair<std::string, bool> answer(const std::string& bytes) {
  auto ctx = make_hello_answerer(TLS1_2_VERSION);
  ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
  SSL_set_bio(ssl.get(), in, out);
  SSL_set_accept_state(ssl.get());
  EXPECT_NE(SSL_do_handshake(ssl.get()), 1);
  ERR_clear_error();
  return {ossl::bio_text(out), hello_was_read(ssl.get())};
}

std::string client_hello() {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), BIO_new(BIO_s_mem()), wbio);
  SSL_connect(ssl.get());
  return ossl::bio_text(wbio);
}

TEST(HelloAnswerer, SendsTheAlertOpenSslSends) {
  const std::string unexpected_message("\x15\x03\x03\x00\x02\x02\x0a", 7);
  // Application data where a hello belongs.
  EXPECT_EQ(answer(std::string("\x17\x03\x03\x00\x02hi", 7)), std::make_pair(unexpected_message, false));
  // An HTTP request: no alert, as OpenSSL's server sends none.
  EXPECT_EQ(answer("GET / HTTP/1.1\r\n\r\n"), std::make_pair(std::string(), false));
  // A hello OpenSSL reads: refused, and noticed.
  auto [alert, read] = answer(client_hello());
  EXPECT_EQ(alert.substr(alert.size() - 2), std::string("\x02\x28", 2));  // fatal handshake_failure
  EXPECT_TRUE(read);
}

}  // namespace
}  // namespace tlslab::proxy
