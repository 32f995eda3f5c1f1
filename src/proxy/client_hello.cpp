#include "proxy/client_hello.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

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

ClientHelloReader::State ClientHelloReader::parse() {
  // Reassemble the handshake message from as many records as it spans (RFC 8446 §5.1).
  std::string handshake;
  std::string_view rest = buffer_;
  while (!rest.empty()) {
    if (rest.size() < 5) break;
    auto type = static_cast<std::uint8_t>(rest[0]);
    auto major = static_cast<std::uint8_t>(rest[1]);
    if (type != 22 || major != 3) {
      error_ = handshake.empty() ? "the first bytes are not a TLS handshake record"
                                 : "a non-handshake record interrupts the ClientHello";
      return handshake.empty() ? State::NotTls : State::Malformed;
    }
    std::size_t len = static_cast<std::uint8_t>(rest[3]) << 8 | static_cast<std::uint8_t>(rest[4]);
    if (len == 0 || len > 16384 + 256) {
      error_ = fmt::format("TLS record length {} is invalid", len);
      return State::Malformed;
    }
    if (rest.size() < 5 + len) {
      // An incomplete record: its first bytes may already tell a non-hello or an absurd size.
      auto head = handshake + std::string(rest.substr(5, 4));
      if (head.size() >= 4) {
        std::size_t body = static_cast<std::uint8_t>(head[1]) << 16 | static_cast<std::uint8_t>(head[2]) << 8 |
                           static_cast<std::uint8_t>(head[3]);
        if (static_cast<std::uint8_t>(head[0]) != 1)
          return error_ = "the first handshake message is not a ClientHello", State::Malformed;
        if (body + 4 > max_hello)
          return error_ = fmt::format("ClientHello of {} bytes is larger than {}", body, max_hello), State::Malformed;
      }
      break;
    }
    handshake.append(rest.substr(5, len));
    rest.remove_prefix(5 + len);
    if (handshake.size() >= 4) {
      std::size_t body = static_cast<std::uint8_t>(handshake[1]) << 16 | static_cast<std::uint8_t>(handshake[2]) << 8 |
                         static_cast<std::uint8_t>(handshake[3]);
      if (static_cast<std::uint8_t>(handshake[0]) != 1) {
        error_ = "the first handshake message is not a ClientHello";
        return State::Malformed;
      }
      if (body + 4 > max_hello) {
        error_ = fmt::format("ClientHello of {} bytes is larger than {}", body, max_hello);
        return State::Malformed;
      }
      if (handshake.size() >= body + 4) return parse_hello(std::string_view(handshake).substr(4, body));
    }
  }
  if (buffer_.size() > max_hello + 1024) {
    error_ = "ClientHello too large";
    return State::Malformed;
  }
  return State::NeedMore;
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
          info_.sni = std::string(name);
          for (auto& c : info_.sni) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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
