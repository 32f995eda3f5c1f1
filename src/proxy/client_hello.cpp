#include "proxy/client_hello.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "base/text.hpp"
#include "tls/wire_reader.hpp"

namespace tlslab::proxy {
namespace {

using tls::WireReader;

// vec reads a length-prefixed vector and views its bytes.
bool vec(WireReader& r, std::size_t width, std::string_view& out) {
  WireReader inner;
  if (!r.vector(width, inner)) return false;
  out = inner.rest();
  return true;
}

bool valid_host(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_')) return false;
  }
  return true;
}

}  // namespace

ClientHelloReader::State ClientHelloReader::feed(std::string_view bytes) {
  if (state_ != State::NeedMore) return state_;
  buffer_.append(bytes);
  state_ = parse();
  return state_;
}

ClientHelloReader::State ClientHelloReader::fail(State state, std::string why) {
  error_ = std::move(why);
  return state;
}

ClientHelloReader::State ClientHelloReader::parse() {
  // OpenSSL takes a first record with the high bit set and a CLIENT-HELLO message type for an
  // SSLv2-format hello (RFC 5246 appendix E.2).
  if (consumed_ == 0 && !buffer_.empty() && (static_cast<std::uint8_t>(buffer_[0]) & 0x80) != 0) {
    if (buffer_.size() < 3) return State::NeedMore;
    if (buffer_[2] != 1) return fail(State::NotTls, "the first bytes are not a TLS handshake record");
    return parse_sslv2();
  }
  // Reassemble the handshake message from as many records as it spans (RFC 8446 §5.1), each
  // record taken once, when it is whole.
  for (;;) {
    std::string_view rest = std::string_view(buffer_).substr(consumed_);
    if (rest.size() < 5) break;
    auto type = static_cast<std::uint8_t>(rest[0]);
    auto major = static_cast<std::uint8_t>(rest[1]);
    if (type != 22 || major != 3) {
      if (consumed_ == 0) return fail(State::NotTls, "the first bytes are not a TLS handshake record");
      return fail(State::Malformed, type == 22 ? "a record of the ClientHello has a wrong version"
                                               : fmt::format("a record of type {} interrupts the ClientHello", type));
    }
    std::size_t len = static_cast<std::uint8_t>(rest[3]) << 8 | static_cast<std::uint8_t>(rest[4]);
    if (len > kMaxRecord)
      return fail(State::Malformed, fmt::format("a TLS record of {} bytes is larger than {}", len, kMaxRecord));
    empty_records_ = len == 0 ? empty_records_ + 1 : 0;
    if (empty_records_ > kMaxEmptyRecords) return fail(State::Malformed, "too many empty records in a row");
    // An incomplete record: its first bytes may already tell a non-hello or an absurd size.
    std::size_t have = std::min(len, rest.size() - 5);
    if (handshake_.size() < 4) {
      auto head = handshake_ + std::string(rest.substr(5, std::min<std::size_t>(have, 4)));
      if (!head.empty() && static_cast<std::uint8_t>(head[0]) != 1)
        return fail(State::Malformed, "the first handshake message is not a ClientHello");
      if (head.size() >= 4) {
        std::size_t body = static_cast<std::uint8_t>(head[1]) << 16 | static_cast<std::uint8_t>(head[2]) << 8 |
                           static_cast<std::uint8_t>(head[3]);
        if (body > kMaxHelloBody)
          return fail(State::Malformed,
                      fmt::format("a ClientHello of {} bytes is larger than {}", body, kMaxHelloBody));
      }
    }
    if (have < len) break;
    handshake_.append(rest.substr(5, len));
    consumed_ += 5 + len;
    if (handshake_.size() >= 4) {
      std::size_t body = static_cast<std::uint8_t>(handshake_[1]) << 16 |
                         static_cast<std::uint8_t>(handshake_[2]) << 8 | static_cast<std::uint8_t>(handshake_[3]);
      if (handshake_.size() >= body + 4) return parse_hello(std::string_view(handshake_).substr(4, body));
    }
  }
  return State::NeedMore;
}

ClientHelloReader::State ClientHelloReader::parse_sslv2() {
  // A two-byte record header (the length, high bit set), then: msg_type (1), version, the lengths
  // of the cipher specs, session id and challenge, and those three (RFC 5246 appendix E.2).
  std::size_t len = (static_cast<std::uint8_t>(buffer_[0]) & 0x7f) << 8 | static_cast<std::uint8_t>(buffer_[1]);
  if (len < 9) return fail(State::Malformed, "the SSLv2-format ClientHello is too short");
  if (buffer_.size() < 2 + len) return State::NeedMore;
  WireReader r(std::string_view(buffer_).substr(3, len - 1));
  std::uint16_t version = 0, specs_len = 0, session_len = 0, challenge_len = 0;
  std::string_view specs, session, challenge;
  if (!r.u16(version) || !r.u16(specs_len) || !r.u16(session_len) || !r.u16(challenge_len) ||
      !r.bytes(specs_len, specs) || !r.bytes(session_len, session) || !r.bytes(challenge_len, challenge) || !r.empty())
    return fail(State::Malformed, "the SSLv2-format ClientHello is malformed");
  info_.sslv2 = true;
  if (version == 0x0303) info_.versions.emplace_back("TLS 1.2");
  consumed_ = 2 + len;
  return State::Done;
}

ClientHelloReader::State ClientHelloReader::parse_hello(std::string_view body) {
  WireReader r(body);
  std::uint16_t legacy_version = 0;
  std::string_view random, session_id, suites, compression, extensions;
  if (!r.u16(legacy_version) || !r.bytes(32, random) || !vec(r, 1, session_id) || !vec(r, 2, suites) ||
      !vec(r, 1, compression)) {
    error_ = "ClientHello truncated before its extensions";
    return State::Malformed;
  }
  if (r.empty()) return State::Done;  // no extensions: no SNI, no ALPN (an old client)
  if (!vec(r, 2, extensions)) {
    error_ = "ClientHello extensions block is truncated";
    return State::Malformed;
  }
  WireReader ext(extensions);
  while (!ext.empty()) {
    std::uint16_t type = 0;
    std::string_view data;
    if (!ext.u16(type) || !vec(ext, 2, data)) {
      error_ = "a ClientHello extension is truncated";
      return State::Malformed;
    }
    WireReader d(data);
    if (type == 0) {  // server_name (RFC 6066 §3)
      std::string_view list;
      if (!vec(d, 2, list)) return error_ = "server_name extension is malformed", State::Malformed;
      WireReader names(list);
      while (!names.empty()) {
        std::uint8_t name_type = 0;
        std::string_view name;
        if (!names.u8(name_type) || !vec(names, 2, name))
          return error_ = "server_name list is malformed", State::Malformed;
        if (name_type == 0 && info_.sni.empty()) {
          if (!valid_host(name)) return error_ = "server_name is not a host name", State::Malformed;
          info_.sni = ascii_lower(name);
        }
      }
    } else if (type == 16) {  // application_layer_protocol_negotiation (RFC 7301)
      std::string_view list;
      if (!vec(d, 2, list)) return error_ = "ALPN extension is malformed", State::Malformed;
      WireReader protos(list);
      while (!protos.empty()) {
        std::string_view p;
        if (!vec(protos, 1, p) || p.empty()) return error_ = "ALPN protocol list is malformed", State::Malformed;
        info_.alpn.emplace_back(p);
      }
    } else if (type == 13 || type == 50) {  // signature_algorithms(_cert) (RFC 8446 §4.2.3)
      std::string_view list;
      if (!vec(d, 2, list) || list.size() % 2 != 0)
        return error_ = "signature_algorithms extension is malformed", State::Malformed;
      auto& out = type == 13 ? info_.signature_schemes : info_.certificate_schemes;
      WireReader schemes(list);
      std::uint16_t scheme = 0;
      while (schemes.u16(scheme)) out.push_back(scheme);
    } else if (type == 43) {  // supported_versions
      std::string_view list;
      if (!vec(d, 1, list)) continue;
      WireReader versions(list);
      std::uint16_t v = 0;
      while (versions.u16(v)) {
        if (v == 0x0304)
          info_.versions.emplace_back("TLS 1.3");
        else if (v == 0x0303)
          info_.versions.emplace_back("TLS 1.2");
      }
    }
  }
  return State::Done;
}

}  // namespace tlslab::proxy
