#include "scan/suites.hpp"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "tls/trace.hpp"

namespace tlslab::scan {
namespace {

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

int bits_of(const std::string& cipher) {
  if (has(cipher, "NULL")) return 0;
  if (has(cipher, "EXPORT") || has(cipher, "40") || has(cipher, "DES40")) return 40;
  if (has(cipher, "3DES") || has(cipher, "DES_EDE")) return 112;
  if (has(cipher, "DES")) return 56;
  if (has(cipher, "256") || has(cipher, "CHACHA20")) return 256;
  return 128;  // AES_128, CAMELLIA_128, ARIA_128, SEED, IDEA, RC4_128, SM4
}

}  // namespace

std::string SuiteInfo::strength() const {
  if (insecure || bits < 112) return "insecure";
  if (rc4 || triple_des || !forward_secret) return "weak";
  if (!aead) return "acceptable";
  return "strong";
}

SuiteInfo describe_suite(std::uint16_t id) {
  SuiteInfo s;
  s.id = id;
  s.name = tls::cipher_suite_name(id);
  auto with = s.name.find("_WITH_");
  std::string cipher;
  if (with == std::string::npos) {  // TLS 1.3: TLS_AES_128_GCM_SHA256
    s.tls13 = (id >> 8) == 0x13;
    s.forward_secret = s.tls13;
    cipher = s.name.size() > 4 ? s.name.substr(4) : s.name;
  } else {
    s.key_exchange = s.name.substr(4, with - 4);
    cipher = s.name.substr(with + 6);
    s.forward_secret = has(s.key_exchange, "DHE") && !has(s.key_exchange, "anon");
  }
  s.bits = bits_of(cipher.substr(0, cipher.rfind('_')));  // without the hash: AES_128_CBC_SHA256
  s.aead = has(cipher, "GCM") || has(cipher, "CCM") || has(cipher, "POLY1305");
  s.cbc = has(cipher, "CBC");
  s.rc4 = has(cipher, "RC4");
  s.triple_des = has(cipher, "3DES") || has(cipher, "DES_EDE");
  s.insecure = s.bits < 112 || has(s.key_exchange, "anon") || has(s.name, "EXPORT") || has(s.key_exchange, "NULL");
  return s;
}

const std::vector<std::uint16_t>& legacy_candidates() {
  static const std::vector<std::uint16_t> list = [] {
    std::vector<std::uint16_t> out;
    for (auto id : tls::known_cipher_suites()) {
      if ((id >> 8) == 0x13 || id == 0x00FF || id == 0x5600 || tls::is_grease(id)) continue;
      if (tls::cipher_suite_name(id).rfind("TLS_", 0) != 0) continue;
      out.push_back(id);
    }
    return out;
  }();
  return list;
}

namespace {

// candidates_with lists the legacy candidates whose key exchange is one of kinds.
std::vector<std::uint16_t> candidates_with(std::initializer_list<std::string_view> kinds) {
  std::vector<std::uint16_t> out;
  for (auto id : legacy_candidates()) {
    auto kx = describe_suite(id).key_exchange;
    if (std::find(kinds.begin(), kinds.end(), kx) != kinds.end()) out.push_back(id);
  }
  return out;
}

}  // namespace

const std::vector<std::uint16_t>& signed_candidates() {
  static const std::vector<std::uint16_t> list = candidates_with({"ECDHE_ECDSA", "ECDHE_RSA", "DHE_RSA", "DHE_DSS"});
  return list;
}

const std::vector<std::uint16_t>& ecdhe_candidates() {
  static const std::vector<std::uint16_t> list = candidates_with({"ECDHE_ECDSA", "ECDHE_RSA"});
  return list;
}

const std::vector<std::uint16_t>& tls13_candidates() {
  static const std::vector<std::uint16_t> list = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
  return list;
}

const std::vector<std::uint16_t>& group_candidates() {
  // x25519, secp256r1, secp384r1, secp521r1, x448, ffdhe2048..8192, then hybrids:
  // X25519MLKEM768 (0x11EC), SecP256r1MLKEM768 (0x11EB), X25519Kyber768Draft00 (0x6399).
  static const std::vector<std::uint16_t> list = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101,
                                                  0x0102, 0x0103, 0x0104, 0x11ec, 0x11eb, 0x6399};
  return list;
}

}  // namespace tlslab::scan
