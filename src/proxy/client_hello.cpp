#include "proxy/client_hello.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace tlslab::proxy {
namespace {

// Reader walks a byte string; every read is bounds-checked and fails softly.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(std::uint8_t& v) {
    if (data_.size() < 1) return false;
    v = static_cast<std::uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (data_.size() < 2) return false;
    v = static_cast<std::uint16_t>(static_cast<std::uint8_t>(data_[0]) << 8 | static_cast<std::uint8_t>(data_[1]));
    data_.remove_prefix(2);
    return true;
  }
  bool u24(std::uint32_t& v) {
    if (data_.size() < 3) return false;
    v = static_cast<std::uint32_t>(static_cast<std::uint8_t>(data_[0])) << 16 |
        static_cast<std::uint32_t>(static_cast<std::uint8_t>(data_[1])) << 8 | static_cast<std::uint8_t>(data_[2]);
    data_.remove_prefix(3);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (data_.size() < n) return false;
    out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool vec8(std::string_view& out) {
    std::uint8_t n = 0;
    return u8(n) && bytes(n, out);
  }
  bool vec16(std::string_view& out) {
    std::uint16_t n = 0;
    return u16(n) && bytes(n, out);
  }
  [[nodiscard]] bool empty() const { return data_.empty(); }

 private:
  std::string_view data_;
};

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
  Reader r(body);
  std::uint16_t legacy_version = 0;
  std::string_view random, session_id, suites, compression, extensions;
  if (!r.u16(legacy_version) || !r.bytes(32, random) || !r.vec8(session_id) || !r.vec16(suites) ||
      !r.vec8(compression)) {
    error_ = "ClientHello truncated before its extensions";
    return State::Malformed;
  }
  if (r.empty()) return State::Done;  // no extensions: no SNI, no ALPN (an old client)
  if (!r.vec16(extensions)) {
    error_ = "ClientHello extensions block is truncated";
    return State::Malformed;
  }
  Reader ext(extensions);
  while (!ext.empty()) {
    std::uint16_t type = 0;
    std::string_view data;
    if (!ext.u16(type) || !ext.vec16(data)) {
      error_ = "a ClientHello extension is truncated";
      return State::Malformed;
    }
    Reader d(data);
    if (type == 0) {  // server_name (RFC 6066 §3)
      std::string_view list;
      if (!d.vec16(list)) return error_ = "server_name extension is malformed", State::Malformed;
      Reader names(list);
      while (!names.empty()) {
        std::uint8_t name_type = 0;
        std::string_view name;
        if (!names.u8(name_type) || !names.vec16(name))
          return error_ = "server_name list is malformed", State::Malformed;
        if (name_type == 0 && info_.sni.empty()) {
          if (!valid_host(name)) return error_ = "server_name is not a host name", State::Malformed;
          info_.sni = std::string(name);
          for (auto& c : info_.sni) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
      }
    } else if (type == 16) {  // application_layer_protocol_negotiation (RFC 7301)
      std::string_view list;
      if (!d.vec16(list)) return error_ = "ALPN extension is malformed", State::Malformed;
      Reader protos(list);
      while (!protos.empty()) {
        std::string_view p;
        if (!protos.vec8(p) || p.empty()) return error_ = "ALPN protocol list is malformed", State::Malformed;
        info_.alpn.emplace_back(p);
      }
    } else if (type == 43) {  // supported_versions
      std::string_view list;
      if (!d.vec8(list)) continue;
      Reader versions(list);
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
