#include "tls/failure.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>

namespace tlslab::tls {
namespace {

// The reasons of each kind. A peer's alert is SSL_AD_REASON_OFFSET + the alert's number
// (RFC 8446 section 6): SSL_R_TLSV1_ALERT_PROTOCOL_VERSION is protocol_version(70).
constexpr std::array kNotTls = {SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG};
constexpr std::array kNoCommonVersion = {SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_BAD_PROTOCOL_VERSION_NUMBER,
                                         SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_NO_PROTOCOLS_AVAILABLE};
constexpr std::array kNothingInCommon = {SSL_R_SSL_HANDSHAKE_FAILURE, SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE,
                                         SSL_R_NO_SHARED_CIPHER};
constexpr std::array kCertificateRejected = {SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
                                             SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN};

template <std::size_t N>
bool among(const std::array<int, N>& reasons, int reason) {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

}  // namespace

TlsFailureKind tls_failure_kind(unsigned long ssl_error) {
  using K = TlsFailureKind;
  if (ERR_GET_LIB(ssl_error) != ERR_LIB_SSL) return K::Other;
  int reason = ERR_GET_REASON(ssl_error);
  if (among(kNotTls, reason)) return K::NotTls;
  if (among(kNoCommonVersion, reason)) return K::NoCommonVersion;
  if (among(kNothingInCommon, reason)) return K::NothingInCommon;
  if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) return K::CertificateRequired;
  if (among(kCertificateRejected, reason)) return K::CertificateRejected;
  return K::Other;
}

std::string_view tls_failure_hint(TlsFailureKind kind) {
  switch (kind) {
    case TlsFailureKind::NotTls:
      return " — the server does not speak TLS on this port (plain HTTP?)";
    case TlsFailureKind::NoCommonVersion:
      return " — no TLS version in common (see --tls-min/--tls-max)";
    case TlsFailureKind::NothingInCommon:
      return " — no cipher suite, group or signature algorithm in common (see --ciphers, --ciphersuites, --groups)";
    case TlsFailureKind::CertificateRequired:
      return " — the server requires a client certificate (--cert FILE --key FILE)";
    case TlsFailureKind::CertificateRejected:
      return " — the server rejected our client certificate";
    case TlsFailureKind::Closed:
      return " — the server hung up mid-handshake";
    case TlsFailureKind::Other:
      break;
  }
  return "";
}

std::string tls_reason(unsigned long ssl_error) {
  const char* reason = ERR_reason_error_string(ssl_error);
  return reason ? reason : "";
}

TlsFailureWords describe_tls_failure(unsigned long ssl_error) {
  return {tls_reason(ssl_error), tls_failure_hint(tls_failure_kind(ssl_error))};
}

}  // namespace tlslab::tls
