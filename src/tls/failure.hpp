// tls::describe_tls_failure — a failed TLS connection to a server in words: OpenSSL's reason and,
// where the user can do something about it, a hint saying what. Keyed on OpenSSL's reason codes
// (an alert the server sent is SSL_AD_REASON_OFFSET + its number), never on the reason's text.
#pragma once

#include <string>
#include <string_view>

namespace tlslab::tls {

// TlsFailureKind is what a failure means for the client that saw it.
enum class TlsFailureKind {
  Other,
  NotTls,               // the server answered with something that is not TLS (wrong version number...)
  NoCommonVersion,      // no protocol version both accept
  NothingInCommon,      // a handshake_failure: no cipher suite, group or signature algorithm in common
  CertificateRequired,  // the server requires a client certificate (TLS 1.3 certificate_required)
  CertificateRejected,  // the server refused our client certificate (unknown_ca, bad_certificate...)
  Closed,               // the server closed the connection (with or without close_notify, or reset it)
};

// tls_failure_kind classifies OpenSSL's packed error code (ERR_get_error, or the value of an
// error_code in Asio's SSL category); codes of other libraries than libssl are Other.
[[nodiscard]] TlsFailureKind tls_failure_kind(unsigned long ssl_error);

// tls_failure_hint is the hint for kind, to follow the reason: " — the server requires a client
// certificate (--cert FILE --key FILE)"; "" for Other.
[[nodiscard]] std::string_view tls_failure_hint(TlsFailureKind kind);

// tls_reason returns OpenSSL's reason for a packed error code ("wrong version number"); "" when
// OpenSSL has no words for it.
[[nodiscard]] std::string tls_reason(unsigned long ssl_error);

struct TlsFailureWords {
  std::string reason;     // OpenSSL's: "tlsv13 alert certificate required"
  std::string_view hint;  // " — the server requires a client certificate (--cert FILE --key FILE)", or ""
};

// describe_tls_failure returns the reason and the hint for OpenSSL's packed error code.
[[nodiscard]] TlsFailureWords describe_tls_failure(unsigned long ssl_error);

}  // namespace tlslab::tls
