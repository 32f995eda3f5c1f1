// Internals of the trace decoder shared by trace.cpp, trace_handshake.cpp, trace_extensions.cpp
// and trace_names.cpp. Not part of the tls module's interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tls/trace.hpp"
#include "tls/wire_reader.hpp"

namespace tlslab::tls::detail {

using Fields = std::vector<TraceField>;

// unknown_name returns "unknown (0x0a1b)" with hex_digits digits.
[[nodiscard]] std::string unknown_name(std::uint32_t id, int hex_digits);

// hex returns bytes as lower-case hex without separators.
[[nodiscard]] std::string hex(std::string_view bytes);

// printable returns peer-chosen text safe to print on a terminal: bytes outside printable ASCII
// and the backslash are escaped as \xNN, so a hostile name cannot move the cursor or recolour.
[[nodiscard]] std::string printable(std::string_view text);

// byte_count returns "1 byte", "32 bytes".
[[nodiscard]] std::string byte_count(std::size_t n);

// add appends the field name: value.
void add(Fields& out, std::string_view name, std::string value);

// error appends an "error" field saying what was malformed.
void error(Fields& out, std::string what);

// expect_end reports "N unexpected bytes after WHAT" when r is not empty.
void expect_end(const WireReader& r, Fields& out, std::string_view what);

// NameOf names one registry value ("x25519", "GREASE").
using NameOf = std::string (*)(std::uint16_t);

// The smaller registries the decoders name (trace_names.cpp); "unknown (0x..)" when unknown.
[[nodiscard]] std::string handshake_type_name(std::uint16_t type);                // "ClientHello"
[[nodiscard]] std::string compression_method_name(std::uint16_t method);          // "null"
[[nodiscard]] std::string point_format_name(std::uint16_t format);                // "uncompressed"
[[nodiscard]] std::string psk_mode_name(std::uint16_t mode);                      // "psk_dhe_ke", "GREASE"
[[nodiscard]] std::string certificate_compression_name(std::uint16_t algorithm);  // "brotli", "GREASE"
[[nodiscard]] std::string certificate_status_type_name(std::uint16_t type);       // "ocsp"
[[nodiscard]] std::string client_certificate_type_name(std::uint16_t type);       // "ecdsa_sign"
[[nodiscard]] std::string ec_curve_type_name(std::uint16_t type);                 // "named_curve"
[[nodiscard]] std::string alert_level_name(std::uint16_t level);                  // "fatal"
[[nodiscard]] std::string heartbeat_message_type_name(std::uint16_t type);        // "heartbeat_request"
[[nodiscard]] std::string heartbeat_mode_name(std::uint16_t mode);                // "peer_allowed_to_send"
[[nodiscard]] std::string key_update_request_name(std::uint16_t request);         // "update_requested"
[[nodiscard]] std::string max_fragment_length_name(std::uint16_t code);           // "512" .. "4096"

// read_names reads items of width bytes (1 or 2) until r is empty and returns their names joined
// by ", ". Returns false when a partial item is left (the names before it are kept in out).
[[nodiscard]] bool read_names(WireReader r, std::size_t width, NameOf name, std::string& out);

// count_vectors counts the vectors (length prefix of width bytes) filling r; returns false when a
// partial one is left.
[[nodiscard]] bool count_vectors(WireReader r, std::size_t width, std::size_t& count);

// Where an extension block sits: an extension's format depends on the message that carries it.
enum class Where {
  ClientHello,
  ServerHello,
  HelloRetryRequest,
  EncryptedExtensions,
  Certificate,  // a CertificateEntry of TLS 1.3
  CertificateRequest,
  NewSessionTicket,
};

// Negotiated facts the ServerHello's extensions reveal.
struct ExtensionFacts {
  std::uint16_t selected_version = 0;  // from supported_versions, 0 when absent
};

// decode_extensions reads an extension block (extensions<0..2^16-1>) from r: an "extensions"
// field listing their names in order, then one field per extension whose content matters. Errors
// inside one extension are reported and the next is decoded. Returns false when the block itself
// is truncated.
bool decode_extensions(WireReader& r, Where where, Fields& out, ExtensionFacts* facts = nullptr);

// decode_handshake_body decodes the body of a handshake message of type msg_type into message
// (type name and fields), reading formats the negotiation decides from context and updating
// context from a ServerHello or HelloRetryRequest.
void decode_handshake_body(std::uint8_t msg_type, WireReader body, TraceContext& context, TraceMessage& message);

}  // namespace tlslab::tls::detail
