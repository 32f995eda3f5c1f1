// scan::parse_server_answer — reading a server's first answer to a probe (sans-I/O).
//
// Fed the bytes received so far, it says whether they are enough to decide, and what they say:
// a ServerHello (version, suite, extensions), a HelloRetryRequest, an alert, an SSLv2
// SERVER-HELLO, or something that is not TLS. Bytes from the network are hostile: every length is
// checked (tls::WireReader). Nothing past the first handshake message is looked at unless asked:
// then, below TLS 1.3, the server's flight is read on to its ServerKeyExchange, whose curve and
// signature scheme are in the clear.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::scan {

struct ServerAnswer {
  enum class Kind { Incomplete, ServerHello, HelloRetryRequest, Alert, Sslv2ServerHello, NotTls };
  Kind kind = Kind::Incomplete;
  std::uint16_t record_version = 0;
  std::uint16_t legacy_version = 0;
  std::uint16_t version = 0;  // negotiated: supported_versions when present, else legacy_version
  std::uint16_t suite = 0;
  std::uint8_t compression = 0;
  std::size_t session_id_length = 0;
  std::vector<std::uint16_t> extensions;  // in wire order
  std::uint16_t group = 0;                // key_share (ServerHello), selected_group (HRR), or the
                                          // named curve of a TLS <= 1.2 ServerKeyExchange
  std::uint16_t signature_scheme = 0;     // TLS 1.2 ServerKeyExchange: the scheme that signed it
  bool server_key_exchange = false;       // a ServerKeyExchange was read
  std::string alpn;                       // TLS <= 1.2 only: 1.3 sends it encrypted
  std::uint8_t alert_level = 0;
  std::uint8_t alert = 0;
  std::string error;  // why it is NotTls

  [[nodiscard]] bool has_extension(std::uint16_t type) const;
  // accepted: the server went on with the handshake (ServerHello or HRR).
  [[nodiscard]] bool accepted() const { return kind == Kind::ServerHello || kind == Kind::HelloRetryRequest; }
};

// parse_server_answer decides from the bytes received so far; Kind::Incomplete asks for more.
// With through_key_exchange, a TLS <= 1.2 ServerHello is Incomplete until the ServerKeyExchange
// (or the ServerHelloDone, or anything that ends the flight) has arrived too; a caller whose
// connection ends first can still ask again without it for the ServerHello alone.
[[nodiscard]] ServerAnswer parse_server_answer(std::string_view bytes, bool through_key_exchange = false);

}  // namespace tlslab::scan
