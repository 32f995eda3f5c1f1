#include "proxy/client_failure.hpp"

#include <fmt/format.h>
#include <openssl/err.h>

#include <algorithm>
#include <array>

#include "base/failure.hpp"
#include "ossl/error.hpp"

namespace tlslab::proxy {
namespace {

constexpr std::array kDistrust = {SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
                                  SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN};
constexpr std::array kRefused = {SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
                                 SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED};
constexpr std::array kNothingInCommon = {SSL_R_NO_SHARED_CIPHER,
                                         SSL_R_UNSUPPORTED_PROTOCOL,
                                         SSL_R_UNSUPPORTED_SSL_VERSION,
                                         SSL_R_VERSION_TOO_LOW,
                                         SSL_R_VERSION_TOO_HIGH,
                                         SSL_R_NO_PROTOCOLS_AVAILABLE,
                                         SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM,
                                         SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS,
                                         SSL_R_NO_SUITABLE_DIGEST_ALGORITHM,
                                         SSL_R_NO_SHARED_GROUPS,
                                         SSL_R_NO_SUITABLE_GROUPS,
                                         SSL_R_NO_SUITABLE_KEY_SHARE,
                                         SSL_R_TLSV1_ALERT_PROTOCOL_VERSION,
                                         SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE,
                                         SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY,
                                         SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL};
constexpr std::array kRecordLayer = {SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
                                     SSL_R_DECRYPTION_FAILED,
                                     SSL_R_SSLV3_ALERT_BAD_RECORD_MAC,
                                     SSL_R_TLSV1_ALERT_DECRYPTION_FAILED,
                                     SSL_R_TLSV1_ALERT_RECORD_OVERFLOW,
                                     SSL_R_DATA_LENGTH_TOO_LONG,
                                     SSL_R_PACKET_LENGTH_TOO_LONG,
                                     SSL_R_ENCRYPTED_LENGTH_TOO_LONG,
                                     SSL_R_RECORD_LENGTH_MISMATCH,
                                     SSL_R_BAD_RECORD_TYPE};
constexpr std::array kNotTls = {SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_WRONG_VERSION_NUMBER,
                                SSL_R_UNKNOWN_PROTOCOL};
constexpr std::array kBrokeProtocol = {SSL_R_UNEXPECTED_MESSAGE,
                                       SSL_R_UNEXPECTED_RECORD,
                                       SSL_R_UNEXPECTED_CCS_MESSAGE,
                                       SSL_R_LENGTH_MISMATCH,
                                       SSL_R_LENGTH_TOO_SHORT,
                                       SSL_R_BAD_LENGTH,
                                       SSL_R_BAD_PACKET,
                                       SSL_R_BAD_PACKET_LENGTH,
                                       SSL_R_BAD_EXTENSION,
                                       SSL_R_RECORD_TOO_SMALL,
                                       SSL_R_TOO_MANY_WARN_ALERTS,
                                       SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE,
                                       SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER,
                                       SSL_R_TLSV1_ALERT_DECODE_ERROR};

template <std::size_t N>
bool among(const std::array<int, N>& reasons, int reason) {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

int hello_read_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// refuse_hello fails every handshake at the ClientHello, remembering that one was read.
int refuse_hello(SSL* ssl, int* alert, void*) {
  SSL_set_ex_data(ssl, hello_read_index(), ssl);  // any non-null pointer: "read"
  *alert = SSL_AD_HANDSHAKE_FAILURE;
  return SSL_CLIENT_HELLO_ERROR;
}

}  // namespace

ClientFailure classify_client_failure(const ClientFailureFacts& facts) {
  using K = ClientFailureKind;
  if (facts.timed_out) return {K::TimedOut, "the client did not finish its TLS handshake in time"};
  if (facts.ssl_error == 0) {
    if (!facts.system_error.empty()) return {K::Network, fmt::format("the connection failed: {}", facts.system_error)};
    return {K::Closed, "the client closed the connection during the TLS handshake, without an alert"};
  }
  int reason = ERR_GET_REASON(facts.ssl_error);
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);  // once; a no-op after
  const char* text = ERR_reason_error_string(facts.ssl_error);
  std::string words = text ? text : fmt::format("OpenSSL reason {}", reason);
  bool alert = reason > SSL_AD_REASON_OFFSET;  // the client said it, with an alert
  auto said = [&] { return alert ? fmt::format("it sent the alert \"{}\"", words) : words; };
  if (among(kDistrust, reason))
    return {K::DistrustsCa,
            fmt::format("the client does not trust the proxy's CA ({}): install the proxy's CA certificate in "
                        "the client's trust store",
                        said())};
  if (among(kRefused, reason)) return {K::RefusedCertificate, "the client refused the forged certificate: " + said()};
  if (among(kNothingInCommon, reason))
    return {K::NothingInCommon,
            "no protocol version, cipher, group or signature scheme in common with the client: " + said()};
  if (among(kRecordLayer, reason))
    return {K::RecordLayer, fmt::format("a record-layer failure ({}): the client's records were corrupt or did not "
                                        "decrypt, which is no judgement on the certificate",
                                        said())};
  if (among(kNotTls, reason)) return {K::NotTls, "the client does not speak TLS: " + words};
  if (among(kBrokeProtocol, reason)) return {K::BrokeProtocol, "the client broke the TLS protocol: " + said()};
  return {K::Other, "the TLS handshake with the client failed: " + said()};
}

std::string_view client_failure_name(ClientFailureKind kind) {
  switch (kind) {
    case ClientFailureKind::TimedOut:
      return "timed_out";
    case ClientFailureKind::Closed:
      return "closed";
    case ClientFailureKind::DistrustsCa:
      return "distrusts_ca";
    case ClientFailureKind::RefusedCertificate:
      return "refused_certificate";
    case ClientFailureKind::NothingInCommon:
      return "nothing_in_common";
    case ClientFailureKind::RecordLayer:
      return "record_layer";
    case ClientFailureKind::NotTls:
      return "not_tls";
    case ClientFailureKind::BrokeProtocol:
      return "broke_protocol";
    case ClientFailureKind::Network:
      return "network";
    case ClientFailureKind::Other:
      return "other";
  }
  return "other";
}

ossl::Ptr<SSL_CTX> make_hello_answerer(int min_version) {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* c = ossl::check(ctx.get(), Kind::Generic, "creating the context that answers unreadable hellos");
  SSL_CTX_set_min_proto_version(c, min_version);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_client_hello_cb(c, refuse_hello, nullptr);
  (void)hello_read_index();
  return ctx;
}

bool hello_was_read(SSL* ssl) { return SSL_get_ex_data(ssl, hello_read_index()) != nullptr; }

}  // namespace tlslab::proxy
