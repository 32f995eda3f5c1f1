// decode_message and Tracer: the record content types, the handshake header, alerts; handshake
// bodies are in trace_handshake.cpp, extensions in trace_extensions.cpp, names in trace_names.cpp.
#include "tls/trace.hpp"

#include <fmt/format.h>

#include "tls/trace_detail.hpp"

namespace tlslab::tls {
namespace detail {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0x0F];
  }
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7F && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string byte_count(std::size_t n) { return fmt::format("{} {}", n, n == 1 ? "byte" : "bytes"); }

void add(Fields& out, std::string_view name, std::string value) {
  out.push_back({std::string(name), std::move(value)});
}

void error(Fields& out, std::string what) { add(out, "error", std::move(what)); }

void expect_end(const WireReader& r, Fields& out, std::string_view what) {
  if (!r.empty()) error(out, fmt::format("{} unexpected after {}", byte_count(r.remaining()), what));
}

bool read_names(WireReader r, std::size_t width, NameOf name, std::string& out) {
  std::uint32_t value = 0;
  while (r.number(width, value)) {
    if (!out.empty()) out += ", ";
    out += name(static_cast<std::uint16_t>(value));
  }
  return r.empty();
}

bool count_vectors(WireReader r, std::size_t width, std::size_t& count) {
  count = 0;
  for (WireReader item; r.vector(width, item);) ++count;
  return r.empty();
}

}  // namespace detail

namespace {

// Record content types (RFC 8446 §5.1) and OpenSSL's pseudo content types for msg_callback.
enum : int {
  kChangeCipherSpec = 20,
  kAlert = 21,
  kHandshake = 22,
  kApplicationData = 23,
  kHeartbeat = 24,
  kRecordHeader = 256,      // SSL3_RT_HEADER: the 5-byte record header
  kInnerContentType = 257,  // SSL3_RT_INNER_CONTENT_TYPE: TLS 1.3's inner type byte
};

void handshake(std::string_view bytes, TraceContext& context, TraceMessage& message) {
  WireReader r(bytes);
  std::uint8_t type = 0;
  std::uint32_t length = 0;
  if (!r.u8(type)) {
    message.type = "malformed";
    return detail::error(message.fields, "empty handshake message");
  }
  if (!r.u24(length)) {
    message.type = "malformed";
    return detail::error(message.fields, "truncated handshake header");
  }
  message.length = length;
  std::string_view body = r.rest();
  if (body.size() < length) {  // decode what is there
    detail::error(message.fields,
                  fmt::format("truncated message: {} announced, {} present", detail::byte_count(length), body.size()));
  } else if (body.size() > length) {
    detail::error(message.fields, fmt::format("{} after the message", detail::byte_count(body.size() - length)));
    body = body.substr(0, length);
  }
  detail::decode_handshake_body(type, WireReader(body), context, message);
}

void alert(std::string_view bytes, detail::Fields& out) {
  WireReader r(bytes);
  std::uint8_t level = 0, description = 0;
  if (!r.u8(level) || !r.u8(description)) return detail::error(out, "truncated alert");
  detail::add(out, "level", detail::alert_level_name(level));
  detail::add(out, "description", alert_description(description));
  detail::expect_end(r, out, "the alert");
}

void change_cipher_spec(std::string_view bytes, detail::Fields& out) {
  WireReader r(bytes);
  std::uint8_t value = 0;
  if (!r.u8(value)) return detail::error(out, "empty change_cipher_spec");
  if (value != 1) detail::error(out, fmt::format("unexpected value {}", value));
  detail::expect_end(r, out, "the value");
}

// heartbeat decodes a HeartbeatMessage (RFC 6520 §4), flagging a payload_length larger than the
// message: the shape of a Heartbleed probe (CVE-2014-0160).
void heartbeat(std::string_view bytes, detail::Fields& out) {
  WireReader r(bytes);
  std::uint8_t type = 0;
  std::uint16_t payload = 0;
  if (!r.u8(type) || !r.u16(payload)) return detail::error(out, "truncated heartbeat");
  detail::add(out, "heartbeat_type", detail::heartbeat_message_type_name(type));
  detail::add(out, "payload_length", std::to_string(payload));
  if (payload > r.remaining())
    detail::error(out, fmt::format("payload_length {} exceeds the {} present", payload, r.remaining()));
}

TraceMessage decode_with(Direction direction, int content_type, std::string_view bytes, TraceContext& context) {
  TraceMessage message;
  message.direction = direction;
  message.length = bytes.size();
  switch (content_type) {
    case kRecordHeader:
      message.content = "record_header";
      break;
    case kInnerContentType:
      message.content = "inner_content_type";
      break;
    case kHandshake:
      message.content = "handshake";
      handshake(bytes, context, message);
      break;
    case kAlert:
      message.content = message.type = "alert";
      alert(bytes, message.fields);
      break;
    case kChangeCipherSpec:
      message.content = message.type = "change_cipher_spec";
      change_cipher_spec(bytes, message.fields);
      break;
    case kApplicationData:
      message.content = message.type = "application_data";
      break;
    case kHeartbeat:
      message.content = message.type = "heartbeat";
      heartbeat(bytes, message.fields);
      break;
    default:
      message.content = message.type = fmt::format("unknown ({})", content_type);
      break;
  }
  return message;
}

}  // namespace

TraceMessage decode_message(Direction direction, int content_type, std::string_view bytes) {
  TraceContext none;
  return decode_with(direction, content_type, bytes, none);
}

TraceMessage decode_message(Direction direction, int content_type, std::string_view bytes,
                            const TraceContext& context) {
  TraceContext copy = context;
  return decode_with(direction, content_type, bytes, copy);
}

TraceMessage Tracer::decode(Direction direction, int content_type, std::string_view bytes) {
  return decode_with(direction, content_type, bytes, context_);
}

}  // namespace tlslab::tls
