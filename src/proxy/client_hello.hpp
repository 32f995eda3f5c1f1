// proxy::ClientHelloReader — reads just enough of a client's first TLS flight to learn the server
// name (SNI), the ALPN protocols and the signature schemes it offers, before any certificate is
// chosen.
//
// The bytes are buffered, not consumed: once the hello is read, the caller replays them into the
// real TLS server (or relays them untouched in pass-through mode). Fed bytes from a hostile
// client: lengths are checked, records reassembled as they arrive (each byte is looked at once),
// and the hello is bounded in size — by OpenSSL's own bounds, so that every hello OpenSSL's server
// reads is read here too: a handshake message spread over as many records as it needs, up to
// kMaxHelloBody bytes, and the SSLv2-format hello OpenSSL still accepts (RFC 5246 appendix E.2).
// What the reader refuses (NotTls, Malformed) is for OpenSSL to answer, with the alert it sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::proxy {

struct ClientHelloInfo {
  std::string sni;                    // "" when the client sent none
  std::vector<std::string> alpn;      // in the client's order
  std::vector<std::string> versions;  // from supported_versions, e.g. "TLS 1.3"
  // signature_algorithms (RFC 8446 §4.2.3), in the client's order: the schemes it accepts in
  // CertificateVerify (TLS 1.3) or ServerKeyExchange (TLS 1.2). Empty when the client sent none.
  std::vector<std::uint16_t> signature_schemes;
  // signature_algorithms_cert: the schemes it accepts in certificates. Empty when absent, and then
  // signature_schemes applies to certificates too.
  std::vector<std::uint16_t> certificate_schemes;
  bool sslv2 = false;  // the hello came in the SSLv2 record format (no extensions at all)
};

class ClientHelloReader {
 public:
  enum class State { NeedMore, Done, NotTls, Malformed };

  // feed appends bytes and tries to parse; returns the new state.
  State feed(std::string_view bytes);
  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const ClientHelloInfo& info() const { return info_; }
  // error says what was wrong (NotTls, Malformed).
  [[nodiscard]] const std::string& error() const { return error_; }
  // buffered returns every byte fed so far, to replay.
  [[nodiscard]] const std::string& buffered() const { return buffer_; }

  // OpenSSL's bounds: a record carries at most 2^14 bytes of plaintext (RFC 8446 §5.1,
  // SSL3_RT_MAX_PLAIN_LENGTH), and its server reads a ClientHello body of at most 131396 bytes
  // (CLIENT_HELLO_MAX_LENGTH: every field of the hello at its largest).
  static constexpr std::size_t kMaxRecord = 16384;
  static constexpr std::size_t kMaxHelloBody = 131396;

 private:
  State parse();
  State parse_sslv2();
  State parse_hello(std::string_view body);
  State fail(State state, std::string why);
  std::string buffer_;
  // OpenSSL's server takes at most 32 empty records in a row (MAX_EMPTY_RECORDS).
  static constexpr std::size_t kMaxEmptyRecords = 32;
  std::size_t empty_records_ = 0;
  std::size_t consumed_ = 0;  // bytes of buffer_ whose records are in handshake_
  std::string handshake_;     // the handshake bytes reassembled so far
  ClientHelloInfo info_;
  std::string error_;
  State state_ = State::NeedMore;
};

}  // namespace tlslab::proxy
