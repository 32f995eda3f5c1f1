// tls::Trace — a readable decoding of the TLS messages a connection exchanged (a small Wireshark).
//
// OpenSSL's message callback (SSL_set_msg_callback) hands us each protocol message in plaintext,
// even those TLS 1.3 encrypts on the wire. decode_message() turns one such message into named
// fields. The bytes come from the peer, so the decoder treats them as hostile: it never reads past
// the buffer, never trusts a length, and reports malformed input as a field instead of failing.
// It is fuzzed (tests/fuzz/trace_fuzz.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::tls {

enum class Direction { Sent, Received };

struct TraceField {
  std::string name;   // snake_case: "legacy_version", "cipher_suites", "server_name"
  std::string value;  // human text; lists joined with ", "
};

struct TraceMessage {
  Direction direction = Direction::Sent;
  std::string content;     // "handshake", "alert", "change_cipher_spec", "application_data", "heartbeat"
  std::string type;        // "ClientHello", "ServerHello", "Certificate", "alert", ...
  std::size_t length = 0;  // bytes of the message (handshake: body length from its header)
  std::vector<TraceField> fields;
};

// decode_message decodes one message as OpenSSL's msg_callback passes it: content_type is the
// record content type (20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data); for
// handshake messages bytes start with the 4-byte handshake header. Returns an empty type for
// callbacks that carry no message (record headers, inner content types).
[[nodiscard]] TraceMessage decode_message(Direction direction, int content_type, std::string_view bytes);

// Names of registry values, "unknown (0x1234)" when unknown.
[[nodiscard]] std::string cipher_suite_name(std::uint16_t id);      // IANA name
[[nodiscard]] std::string group_name(std::uint16_t id);             // "x25519", "secp256r1"
[[nodiscard]] std::string signature_scheme_name(std::uint16_t id);  // "ecdsa_secp256r1_sha256"
[[nodiscard]] std::string version_name(std::uint16_t id);           // "TLS 1.3"
[[nodiscard]] std::string extension_name(std::uint16_t id);         // "server_name"
[[nodiscard]] std::string alert_description(std::uint8_t id);       // "handshake_failure"

}  // namespace tlslab::tls
