#include "scan/hello.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace tlslab::scan {
namespace {

void put8(std::string& out, unsigned v) { out += static_cast<char>(v & 0xFF); }
void put16(std::string& out, unsigned v) {
  put8(out, v >> 8);
  put8(out, v);
}
void put24(std::string& out, unsigned v) {
  put8(out, v >> 16);
  put16(out, v);
}

// with_length returns body prefixed by its length in width bytes.
std::string with_length(const std::string& body, int width) {
  std::string out;
  if (width == 1) put8(out, static_cast<unsigned>(body.size()));
  if (width == 2) put16(out, static_cast<unsigned>(body.size()));
  if (width == 3) put24(out, static_cast<unsigned>(body.size()));
  return out + body;
}

std::string list16(const std::vector<std::uint16_t>& values) {
  std::string out;
  for (auto v : values) put16(out, v);
  return out;
}

void extension(std::string& out, std::uint16_t type, const std::string& body) {
  put16(out, type);
  out += with_length(body, 2);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string extensions(const HelloSpec& spec) {
  std::string ext;
  if (!spec.servername.empty()) {  // RFC 6066 §3: one host_name entry
    std::string entry;
    put8(entry, 0);
    entry += with_length(spec.servername, 2);
    extension(ext, 0x0000, with_length(entry, 2));
  }
  if (spec.status_request) extension(ext, 0x0005, std::string("\x01\x00\x00\x00\x00", 5));
  if (!spec.groups.empty()) extension(ext, 0x000a, with_length(list16(spec.groups), 2));
  if (spec.version <= kTls12 || !spec.groups.empty()) extension(ext, 0x000b, std::string("\x01\x00", 2));
  if (!spec.sigalgs.empty() && spec.version >= kTls12) extension(ext, 0x000d, with_length(list16(spec.sigalgs), 2));
  if (!spec.alpn.empty()) {
    std::string names;
    for (const auto& p : spec.alpn) names += with_length(p, 1);
    extension(ext, 0x0010, with_length(names, 2));
  }
  if (spec.extended_master_secret && spec.version >= kTls10) extension(ext, 0x0017, "");
  if (spec.session_ticket && spec.version >= kTls10) extension(ext, 0x0023, "");
  if (spec.version >= kTls13) {
    std::string shares;
    for (const auto& ks : spec.key_shares) {
      put16(shares, ks.group);
      shares += with_length(ks.public_key, 2);
    }
    extension(ext, 0x0033, with_length(shares, 2));            // key_share
    extension(ext, 0x002b, with_length(list16({kTls13}), 1));  // supported_versions
    extension(ext, 0x002d, std::string("\x01\x01", 2));        // psk_key_exchange_modes: psk_dhe_ke
  }
  if (spec.renegotiation_info && spec.version >= kTls10) extension(ext, 0xff01, std::string("\x00", 1));
  return ext;
}

}  // namespace

std::string build_client_hello(const HelloSpec& spec) {
  std::string body;
  put16(body, spec.version >= kTls13 ? kTls12 : spec.version);  // legacy_version (RFC 8446 §4.1.2)
  body += random_bytes(32);
  // A 32-byte legacy_session_id makes TLS 1.3 middlebox-compatibility servers answer as usual.
  body += with_length(spec.version >= kTls13 ? random_bytes(32) : std::string(), 1);
  body += with_length(list16(spec.suites), 2);
  body += with_length(std::string(spec.compression.begin(), spec.compression.end()), 1);
  if (spec.version > kSsl3) body += with_length(extensions(spec), 2);
  std::string handshake;
  put8(handshake, 1);  // client_hello
  handshake += with_length(body, 3);
  if (handshake.size() > 16384) throw std::length_error("ClientHello larger than one record");
  std::string record;
  put8(record, 22);  // handshake
  put16(record, spec.version == kSsl3 ? kSsl3 : kTls10);
  return record + with_length(handshake, 2);
}

std::string build_sslv2_hello() {
  // The seven SSLv2 cipher kinds (3-byte codes), SSL_CK_RC4_128_WITH_MD5 .. DES_192_EDE3_CBC_WITH_MD5.
  static const unsigned kinds[] = {0x010080, 0x020080, 0x030080, 0x040080, 0x050080, 0x060040, 0x0700c0};
  std::string specs;
  for (unsigned k : kinds) put24(specs, k);
  std::string challenge = random_bytes(16);
  std::string msg;
  put8(msg, 1);        // CLIENT-HELLO
  put16(msg, 0x0002);  // SSL 2.0
  put16(msg, static_cast<unsigned>(specs.size()));
  put16(msg, 0);  // session id length
  put16(msg, static_cast<unsigned>(challenge.size()));
  msg += specs + challenge;
  std::string record;
  put16(record, 0x8000 | static_cast<unsigned>(msg.size()));  // 2-byte header, no padding
  return record + msg;
}

const std::vector<std::uint16_t>& default_sigalgs() {
  static const std::vector<std::uint16_t> list = {
      0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b,
      0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0203, 0x0201, 0x0202,
  };
  return list;
}

bool tls13_signature_scheme(std::uint16_t scheme) {
  return scheme == 0x0403 || scheme == 0x0503 || scheme == 0x0603 || (scheme >= 0x0804 && scheme <= 0x080b) ||
         (scheme >= 0x081a && scheme <= 0x081c);
}

const std::vector<std::uint16_t>& default_groups() {
  static const std::vector<std::uint16_t> list = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e,
                                                  0x0100, 0x0101, 0x0102, 0x0103, 0x0104};
  return list;
}

}  // namespace tlslab::scan

#include <openssl/evp.h>

#include "ossl/ptr.hpp"

namespace tlslab::scan {

KeyShare x25519_share() {
  ossl::Ptr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!key) throw std::runtime_error("generating an X25519 key failed");
  KeyShare share{0x001d, std::string(32, '\0')};
  std::size_t len = share.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(share.public_key.data()), &len) != 1)
    throw std::runtime_error("reading the X25519 public key failed");
  share.public_key.resize(len);
  return share;
}

}  // namespace tlslab::scan
