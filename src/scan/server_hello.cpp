#include "scan/server_hello.hpp"

#include <algorithm>
#include <array>

#include "scan/suites.hpp"
#include "tls/wire_reader.hpp"

namespace tlslab::scan {
namespace {

using tls::WireReader;
using Kind = ServerAnswer::Kind;

// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this random.
constexpr std::array<unsigned char, 32> kHrrRandom = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                                                      0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                                                      0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

ServerAnswer not_tls(std::string why) {
  ServerAnswer a;
  a.kind = Kind::NotTls;
  a.error = std::move(why);
  return a;
}

void read_extensions(WireReader exts, ServerAnswer& a) {
  while (!exts.empty()) {
    std::uint16_t type = 0;
    WireReader body;
    if (!exts.u16(type) || !exts.vector(2, body)) {
      a = not_tls("truncated ServerHello extension");
      return;
    }
    a.extensions.push_back(type);
    if (type == 0x002b) {  // supported_versions: the selected version
      std::uint16_t v = 0;
      if (body.u16(v)) a.version = v;
    } else if (type == 0x0033) {  // key_share: KeyShareEntry (SH) or selected_group (HRR)
      std::uint16_t g = 0;
      if (body.u16(g)) a.group = g;
    } else if (type == 0x0010) {  // ALPN: one protocol name
      WireReader list, name;
      if (body.vector(2, list) && list.vector(1, name)) a.alpn = std::string(name.rest());
    }
  }
}

ServerAnswer parse_hello(WireReader body) {
  ServerAnswer a;
  std::uint16_t legacy = 0, suite = 0;
  std::string_view random;
  WireReader session;
  std::uint8_t compression = 0;
  if (!body.u16(legacy) || !body.bytes(32, random) || !body.vector(1, session) || !body.u16(suite) ||
      !body.u8(compression))
    return not_tls("truncated ServerHello");
  a.legacy_version = a.version = legacy;
  a.suite = suite;
  a.compression = compression;
  a.session_id_length = session.remaining();
  a.kind = std::equal(random.begin(), random.end(), kHrrRandom.begin(),
                      [](char c, unsigned char h) { return static_cast<unsigned char>(c) == h; })
               ? Kind::HelloRetryRequest
               : Kind::ServerHello;
  WireReader exts;
  if (!body.empty()) {
    if (!body.vector(2, exts)) return not_tls("truncated ServerHello extensions");
    auto kind = a.kind;
    read_extensions(exts, a);
    if (a.kind == Kind::NotTls) return a;
    a.kind = kind;
  }
  return a;
}

// sslv2_answer reads an SSLv2 SERVER-HELLO (2-byte record header with the high bit set).
ServerAnswer sslv2_answer(std::string_view bytes) {
  if (bytes.size() < 3) return {};
  std::size_t length = (static_cast<unsigned char>(bytes[0]) & 0x7F) << 8 | static_cast<unsigned char>(bytes[1]);
  if (static_cast<unsigned char>(bytes[2]) != 4) return not_tls("SSLv2 record that is not a SERVER-HELLO");
  if (bytes.size() < 2 + length) return {};
  WireReader r(bytes.substr(3, length - 1));
  std::uint8_t hit = 0, cert_type = 0;
  std::uint16_t version = 0;
  if (!r.u8(hit) || !r.u8(cert_type) || !r.u16(version)) return not_tls("truncated SSLv2 SERVER-HELLO");
  ServerAnswer a;
  a.kind = Kind::Sslv2ServerHello;
  a.version = a.legacy_version = version;
  return a;
}

// read_key_exchange reads the parameters and signature scheme of a ServerKeyExchange (RFC 8422
// §5.4 for ECDHE, RFC 5246 §7.4.3 for DHE) into a; other key exchanges are left unread.
void read_key_exchange(WireReader body, ServerAnswer& a) {
  auto kx = describe_suite(a.suite).key_exchange;
  a.server_key_exchange = true;
  if (kx == "ECDHE_ECDSA" || kx == "ECDHE_RSA") {
    std::uint8_t curve_type = 0;
    std::uint16_t curve = 0;
    WireReader point;
    if (!body.u8(curve_type) || curve_type != 3 || !body.u16(curve) || !body.vector(1, point)) return;
    a.group = curve;
  } else if (kx == "DHE_RSA" || kx == "DHE_DSS") {
    WireReader p, g, ys;
    if (!body.vector(2, p) || !body.vector(2, g) || !body.vector(2, ys)) return;
  } else {
    return;
  }
  std::uint16_t scheme = 0;  // TLS 1.2 names the scheme; earlier versions imply it
  if (a.version == 0x0303 && body.u16(scheme)) a.signature_scheme = scheme;
}

// read_flight walks the handshake messages after a TLS <= 1.2 ServerHello; it returns true once
// the ServerKeyExchange or the ServerHelloDone is there (false: more bytes are needed).
bool read_flight(std::string_view messages, ServerAnswer& hello) {
  WireReader hs(messages);
  while (!hs.empty()) {
    std::uint8_t msg = 0;
    std::uint32_t length = 0;
    std::string_view body;
    if (!hs.u8(msg) || !hs.u24(length) || !hs.bytes(length, body)) return false;
    if (msg == 12) {
      read_key_exchange(WireReader(body), hello);
      return true;
    }
    if (msg == 14) return true;  // ServerHelloDone: no ServerKeyExchange in this flight
  }
  return false;
}

}  // namespace

bool ServerAnswer::has_extension(std::uint16_t type) const {
  return std::find(extensions.begin(), extensions.end(), type) != extensions.end();
}

ServerAnswer parse_server_answer(std::string_view bytes, bool through_key_exchange) {
  if (bytes.empty()) return {};
  auto first = static_cast<unsigned char>(bytes[0]);
  if (first & 0x80) return sslv2_answer(bytes);
  std::string handshake;  // handshake bytes gathered from consecutive records
  std::uint16_t record_version = 0;
  ServerAnswer hello;  // once the ServerHello is complete, with the rest of the flight after it
  std::size_t after_hello = 0;
  WireReader r(bytes);
  while (!r.empty()) {
    std::uint8_t type = 0;
    std::uint16_t version = 0;
    WireReader fragment;
    WireReader probe = r;
    if (!probe.u8(type) || !probe.u16(version)) return {};
    if (hello.kind != Kind::Incomplete && type != 22) return hello;  // the flight goes on unencrypted no more
    if (type != 21 && type != 22) return not_tls("the first record is neither a handshake nor an alert");
    if ((version >> 8) != 3) return not_tls("record version is not 3.x");
    if (!probe.vector(2, fragment)) {
      std::uint16_t length = 0;
      WireReader len = probe;
      if (len.u16(length) && length > 16384 + 2048) return not_tls("record longer than TLS allows");
      return {};
    }
    r = probe;
    if (record_version == 0) record_version = version;
    if (type == 21) {
      if (!handshake.empty()) return not_tls("alert inside a ServerHello");
      ServerAnswer a;
      if (!fragment.u8(a.alert_level) || !fragment.u8(a.alert)) return not_tls("truncated alert");
      a.kind = Kind::Alert;
      a.record_version = version;
      return a;
    }
    handshake.append(fragment.rest());
    if (hello.kind == Kind::Incomplete) {
      WireReader hs(handshake);
      std::uint8_t msg = 0;
      std::uint32_t length = 0;
      if (!hs.u8(msg) || !hs.u24(length)) continue;
      if (msg != 2) return not_tls("the first handshake message is not a ServerHello");
      std::string_view body;
      if (!hs.bytes(length, body)) continue;
      hello = parse_hello(WireReader(body));
      hello.record_version = record_version;
      if (!through_key_exchange || hello.kind != Kind::ServerHello || hello.version > 0x0303) return hello;
      after_hello = 4 + length;
    }
    if (read_flight(std::string_view(handshake).substr(after_hello), hello)) return hello;
  }
  return {};
}

}  // namespace tlslab::scan
