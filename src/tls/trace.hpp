// tls::Trace — a readable decoding of the TLS messages a connection exchanged (a small Wireshark).
//
// OpenSSL's message callback (SSL_set_msg_callback) hands us each protocol message in plaintext,
// even those TLS 1.3 encrypts on the wire. decode_message() turns one such message into named
// fields. The bytes come from the peer, so the decoder treats them as hostile: it never reads past
// the buffer, never trusts a length, and reports malformed input as a field instead of failing.
// It is fuzzed (tests/fuzz/trace_fuzz.cpp).
//
// Fields come in wire order, named as the RFCs name them ("legacy_version", "cipher_suites").
// A message with extensions has an "extensions" field listing every extension's name in order,
// then one field per extension whose content matters, named after the extension ("server_name",
// "key_share", "application_layer_protocol_negotiation"). Text the peer chose (host names, ALPN
// protocols, certificate names) is escaped for the terminal (\xNN). Malformed input adds an
// "error" field saying what was wrong ("truncated extension server_name") after the fields
// decoded before it; nothing is thrown for any input. TLS only: DTLS's longer handshake header
// is not read.
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
                           // ("record_header", "inner_content_type" for OpenSSL's pseudo types)
  std::string type;        // "ClientHello", "HelloRetryRequest", "Certificate", "alert", ...; "malformed"
                           // for a handshake message too short to name; "" for the pseudo types
  std::size_t length = 0;  // bytes of the message (handshake: body length from its header)
  std::vector<TraceField> fields;
};

// decode_message decodes one message as OpenSSL's msg_callback passes it: content_type is the
// record content type (20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data); for
// handshake messages bytes start with the 4-byte handshake header. Returns an empty type for
// callbacks that carry no message (record headers, inner content types).
[[nodiscard]] TraceMessage decode_message(Direction direction, int content_type, std::string_view bytes);

// TraceContext is what earlier messages of a connection negotiated. Some messages do not say
// their own format: Certificate, CertificateRequest and NewSessionTicket differ between TLS 1.3
// and earlier versions, ServerKeyExchange and ClientKeyExchange depend on the cipher suite's key
// exchange. Without a context (zeros) the decoder picks the format the bytes fit exactly; with
// one it uses the negotiated format. Certificate, CertificateRequest and NewSessionTicket say
// which they read in a "format" field ("TLS 1.3", "TLS 1.2", "TLS 1.1 or earlier").
struct TraceContext {
  std::uint16_t version = 0;       // negotiated version (0x0304 = TLS 1.3), 0 if not known yet
  std::uint16_t cipher_suite = 0;  // negotiated cipher suite, 0 if not known yet
};

// decode_message decodes like the overload above, reading formats that depend on the
// negotiation as context says.
[[nodiscard]] TraceMessage decode_message(Direction direction, int content_type, std::string_view bytes,
                                          const TraceContext& context);

// Tracer decodes the messages of one connection in the order OpenSSL reports them (both
// directions), learning the TraceContext from the ServerHello (or HelloRetryRequest) so later
// messages are decoded exactly. This is what `tlslab connect --trace` uses: one Tracer per SSL*,
// fed from its msg_callback.
class Tracer {
 public:
  // decode returns the decoded message and updates context() when it is a ServerHello.
  [[nodiscard]] TraceMessage decode(Direction direction, int content_type, std::string_view bytes);
  // context returns what has been negotiated so far.
  [[nodiscard]] const TraceContext& context() const noexcept { return context_; }

 private:
  TraceContext context_;
};

// Names of registry values, "unknown (0x1234)" when unknown.
[[nodiscard]] std::string cipher_suite_name(std::uint16_t id);      // IANA name
[[nodiscard]] std::string group_name(std::uint16_t id);             // "x25519", "secp256r1"
[[nodiscard]] std::string signature_scheme_name(std::uint16_t id);  // "ecdsa_secp256r1_sha256"
[[nodiscard]] std::string version_name(std::uint16_t id);           // "TLS 1.3"
[[nodiscard]] std::string extension_name(std::uint16_t id);         // "server_name"
[[nodiscard]] std::string alert_description(std::uint8_t id);       // "handshake_failure"

// known_cipher_suites lists every cipher suite cipher_suite_name has a name for, signalling values
// included, in ascending order.
[[nodiscard]] std::vector<std::uint16_t> known_cipher_suites();

// is_grease returns whether id is a GREASE value (RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA), which
// clients send to keep servers tolerant; the name functions above return "GREASE" for them.
[[nodiscard]] bool is_grease(std::uint16_t id) noexcept;

}  // namespace tlslab::tls
