// The IANA registry names trace.hpp promises (cipher suites, groups, signature schemes, versions,
// extensions, alerts) and the smaller registries the decoders use (trace_detail.hpp). Tables are
// sorted by code point and searched with a binary search; a static_assert keeps them sorted.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "tls/trace.hpp"
#include "tls/trace_detail.hpp"

namespace tlslab::tls {
namespace {

struct Name {
  std::uint16_t id;
  std::string_view name;
};

template <std::size_t N>
constexpr bool sorted(const std::array<Name, N>& table) {
  for (std::size_t i = 1; i < N; ++i)
    if (table[i - 1].id >= table[i].id) return false;
  return true;
}

// find returns the name of id in table, "" when absent.
template <std::size_t N>
std::string_view find(const std::array<Name, N>& table, std::uint16_t id) {
  auto it = std::lower_bound(table.begin(), table.end(), id, [](const Name& n, std::uint16_t v) { return n.id < v; });
  return it != table.end() && it->id == id ? it->name : std::string_view{};
}

// registry_name returns "GREASE", the table's name, or "unknown (0x1234)".
template <std::size_t N>
std::string registry_name(const std::array<Name, N>& table, std::uint16_t id) {
  if (is_grease(id)) return "GREASE";
  if (auto name = find(table, id); !name.empty()) return std::string(name);
  return detail::unknown_name(id, 4);
}

// Cipher suites: every suite `openssl ciphers -V -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'` knows
// (OpenSSL 3.0), plus the signalling values, the export/RC4/3DES/static-ECDH suites old servers
// still offer, and the newer TLS 1.3 suites.
constexpr auto kCipherSuites = std::to_array<Name>({
    {0x0000, "TLS_NULL_WITH_NULL_NULL"},
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
    {0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0x002C, "TLS_PSK_WITH_NULL_SHA"},
    {0x002D, "TLS_DHE_PSK_WITH_NULL_SHA"},
    {0x002E, "TLS_RSA_PSK_WITH_NULL_SHA"},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
    {0x003B, "TLS_RSA_WITH_NULL_SHA256"},
    {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
    {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
    {0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"},
    {0x008A, "TLS_PSK_WITH_RC4_128_SHA"},
    {0x008B, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA"},
    {0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA"},
    {0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"},
    {0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"},
    {0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"},
    {0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
    {0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"},
    {0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00AC, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00B0, "TLS_PSK_WITH_NULL_SHA256"},
    {0x00B1, "TLS_PSK_WITH_NULL_SHA384"},
    {0x00B2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00B3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00B4, "TLS_DHE_PSK_WITH_NULL_SHA256"},
    {0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384"},
    {0x00B6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00B7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00B8, "TLS_RSA_PSK_WITH_NULL_SHA256"},
    {0x00B9, "TLS_RSA_PSK_WITH_NULL_SHA384"},
    {0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00C6, "TLS_SM4_GCM_SM3"},
    {0x00C7, "TLS_SM4_CCM_SM3"},
    {0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0x1304, "TLS_AES_128_CCM_SHA256"},
    {0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {0x1306, "TLS_AEGIS_256_SHA512"},
    {0x1307, "TLS_AEGIS_128L_SHA256"},
    {0x5600, "TLS_FALLBACK_SCSV"},
    {0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
    {0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
    {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA"},
    {0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
    {0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
    {0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xC015, "TLS_ECDH_anon_WITH_NULL_SHA"},
    {0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
    {0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
    {0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
    {0xC01D, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"},
    {0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"},
    {0xC01F, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"},
    {0xC020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"},
    {0xC021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"},
    {0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
    {0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
    {0xC033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"},
    {0xC034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"},
    {0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"},
    {0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"},
    {0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"},
    {0xC039, "TLS_ECDHE_PSK_WITH_NULL_SHA"},
    {0xC03A, "TLS_ECDHE_PSK_WITH_NULL_SHA256"},
    {0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384"},
    {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"},
    {0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"},
    {0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC06A, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xC06B, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xC06C, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xC06D, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xC06E, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xC06F, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC09A, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC09B, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC09C, "TLS_RSA_WITH_AES_128_CCM"},
    {0xC09D, "TLS_RSA_WITH_AES_256_CCM"},
    {0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM"},
    {0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM"},
    {0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8"},
    {0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8"},
    {0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"},
    {0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"},
    {0xC0A4, "TLS_PSK_WITH_AES_128_CCM"},
    {0xC0A5, "TLS_PSK_WITH_AES_256_CCM"},
    {0xC0A6, "TLS_DHE_PSK_WITH_AES_128_CCM"},
    {0xC0A7, "TLS_DHE_PSK_WITH_AES_256_CCM"},
    {0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8"},
    {0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8"},
    {0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8"},
    {0xC0AB, "TLS_PSK_DHE_WITH_AES_256_CCM_8"},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
    {0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
    {0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
    {0xCC13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xCC14, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xCC15, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xD001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"},
    {0xD002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384"},
    {0xD003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256"},
    {0xD005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"},
});
static_assert(sorted(kCipherSuites));

constexpr auto kGroups = std::to_array<Name>({
    {1, "sect163k1"},
    {2, "sect163r1"},
    {3, "sect163r2"},
    {4, "sect193r1"},
    {5, "sect193r2"},
    {6, "sect233k1"},
    {7, "sect233r1"},
    {8, "sect239k1"},
    {9, "sect283k1"},
    {10, "sect283r1"},
    {11, "sect409k1"},
    {12, "sect409r1"},
    {13, "sect571k1"},
    {14, "sect571r1"},
    {15, "secp160k1"},
    {16, "secp160r1"},
    {17, "secp160r2"},
    {18, "secp192k1"},
    {19, "secp192r1"},
    {20, "secp224k1"},
    {21, "secp224r1"},
    {22, "secp256k1"},
    {23, "secp256r1"},
    {24, "secp384r1"},
    {25, "secp521r1"},
    {26, "brainpoolP256r1"},
    {27, "brainpoolP384r1"},
    {28, "brainpoolP512r1"},
    {29, "x25519"},
    {30, "x448"},
    {31, "brainpoolP256r1tls13"},
    {32, "brainpoolP384r1tls13"},
    {33, "brainpoolP512r1tls13"},
    {34, "GC256A"},
    {35, "GC256B"},
    {36, "GC256C"},
    {37, "GC256D"},
    {38, "GC512A"},
    {39, "GC512B"},
    {40, "GC512C"},
    {41, "curveSM2"},
    {256, "ffdhe2048"},
    {257, "ffdhe3072"},
    {258, "ffdhe4096"},
    {259, "ffdhe6144"},
    {260, "ffdhe8192"},
    {0x0200, "MLKEM512"},
    {0x0201, "MLKEM768"},
    {0x0202, "MLKEM1024"},
    {0x11EB, "SecP256r1MLKEM768"},
    {0x11EC, "X25519MLKEM768"},
    {0x11ED, "SecP384r1MLKEM1024"},
    {0x6399, "X25519Kyber768Draft00"},
    {0x639A, "SecP256r1Kyber768Draft00"},
    {0xFF01, "arbitrary_explicit_prime_curves"},
    {0xFF02, "arbitrary_explicit_char2_curves"},
});
static_assert(sorted(kGroups));

constexpr auto kSignatureSchemes = std::to_array<Name>({
    {0x0201, "rsa_pkcs1_sha1"},
    {0x0203, "ecdsa_sha1"},
    {0x0401, "rsa_pkcs1_sha256"},
    {0x0403, "ecdsa_secp256r1_sha256"},
    {0x0420, "rsa_pkcs1_sha256_legacy"},
    {0x0501, "rsa_pkcs1_sha384"},
    {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0520, "rsa_pkcs1_sha384_legacy"},
    {0x0601, "rsa_pkcs1_sha512"},
    {0x0603, "ecdsa_secp521r1_sha512"},
    {0x0620, "rsa_pkcs1_sha512_legacy"},
    {0x0704, "eccsi_sha256"},
    {0x0705, "iso_ibs1"},
    {0x0706, "iso_ibs2"},
    {0x0707, "iso_chinese_ibs"},
    {0x0708, "sm2sig_sm3"},
    {0x0709, "gostr34102012_256a"},
    {0x070A, "gostr34102012_256b"},
    {0x070B, "gostr34102012_256c"},
    {0x070C, "gostr34102012_256d"},
    {0x070D, "gostr34102012_512a"},
    {0x070E, "gostr34102012_512b"},
    {0x070F, "gostr34102012_512c"},
    {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},
    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},
    {0x0808, "ed448"},
    {0x0809, "rsa_pss_pss_sha256"},
    {0x080A, "rsa_pss_pss_sha384"},
    {0x080B, "rsa_pss_pss_sha512"},
    {0x081A, "ecdsa_brainpoolP256r1tls13_sha256"},
    {0x081B, "ecdsa_brainpoolP384r1tls13_sha384"},
    {0x081C, "ecdsa_brainpoolP512r1tls13_sha512"},
    {0x0904, "mldsa44"},
    {0x0905, "mldsa65"},
    {0x0906, "mldsa87"},
});
static_assert(sorted(kSignatureSchemes));

constexpr auto kVersions = std::to_array<Name>({
    {0x0002, "SSL 2.0"},
    {0x0100, "DTLS 1.0 (OpenSSL pre-0.9.8f)"},
    {0x0300, "SSL 3.0"},
    {0x0301, "TLS 1.0"},
    {0x0302, "TLS 1.1"},
    {0x0303, "TLS 1.2"},
    {0x0304, "TLS 1.3"},
    {0xFEFC, "DTLS 1.3"},
    {0xFEFD, "DTLS 1.2"},
    {0xFEFF, "DTLS 1.0"},
});
static_assert(sorted(kVersions));

constexpr auto kExtensions = std::to_array<Name>({
    {0, "server_name"},
    {1, "max_fragment_length"},
    {2, "client_certificate_url"},
    {3, "trusted_ca_keys"},
    {4, "truncated_hmac"},
    {5, "status_request"},
    {6, "user_mapping"},
    {7, "client_authz"},
    {8, "server_authz"},
    {9, "cert_type"},
    {10, "supported_groups"},
    {11, "ec_point_formats"},
    {12, "srp"},
    {13, "signature_algorithms"},
    {14, "use_srtp"},
    {15, "heartbeat"},
    {16, "application_layer_protocol_negotiation"},
    {17, "status_request_v2"},
    {18, "signed_certificate_timestamp"},
    {19, "client_certificate_type"},
    {20, "server_certificate_type"},
    {21, "padding"},
    {22, "encrypt_then_mac"},
    {23, "extended_master_secret"},
    {24, "token_binding"},
    {25, "cached_info"},
    {26, "tls_lts"},
    {27, "compress_certificate"},
    {28, "record_size_limit"},
    {29, "pwd_protect"},
    {30, "pwd_clear"},
    {31, "password_salt"},
    {32, "ticket_pinning"},
    {33, "tls_cert_with_extern_psk"},
    {34, "delegated_credential"},
    {35, "session_ticket"},
    {36, "TLMSP"},
    {37, "TLMSP_proxying"},
    {38, "TLMSP_delegate"},
    {39, "supported_ekt_ciphers"},
    {41, "pre_shared_key"},
    {42, "early_data"},
    {43, "supported_versions"},
    {44, "cookie"},
    {45, "psk_key_exchange_modes"},
    {47, "certificate_authorities"},
    {48, "oid_filters"},
    {49, "post_handshake_auth"},
    {50, "signature_algorithms_cert"},
    {51, "key_share"},
    {52, "transparency_info"},
    {53, "connection_id_deprecated"},
    {54, "connection_id"},
    {55, "external_id_hash"},
    {56, "external_session_id"},
    {57, "quic_transport_parameters"},
    {58, "ticket_request"},
    {59, "dnssec_chain"},
    {60, "sequence_number_encryption_algorithms"},
    {61, "rrc"},
    {62, "tls_flags"},
    {0x3374, "next_protocol_negotiation"},
    {0x4469, "application_settings_old"},
    {0x44CD, "application_settings"},
    {0xFD00, "ech_outer_extensions"},
    {0xFE0D, "encrypted_client_hello"},
    {0xFF01, "renegotiation_info"},
});
static_assert(sorted(kExtensions));

constexpr auto kAlerts = std::to_array<Name>({
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
    {121, "ech_required"},
});
static_assert(sorted(kAlerts));

// The smaller registries, each unknown value shown with 2 hex digits.
template <std::size_t N>
std::string small_registry_name(const std::array<Name, N>& table, std::uint16_t id) {
  if (auto name = find(table, id); !name.empty()) return std::string(name);
  return detail::unknown_name(id, 2);
}

constexpr auto kHandshakeTypes =
    std::to_array<Name>(
        {
            {0, "HelloRequest"},           {1, "ClientHello"},       {2, "ServerHello"},
            {3, "HelloVerifyRequest"},     {4, "NewSessionTicket"},  {5, "EndOfEarlyData"},
            {6, "HelloRetryRequest"},  // drafts only: RFC 8446 signals it with a special ServerHello
            {8, "EncryptedExtensions"},    {11, "Certificate"},      {12, "ServerKeyExchange"},
            {13, "CertificateRequest"},    {14, "ServerHelloDone"},  {15, "CertificateVerify"},
            {16, "ClientKeyExchange"},     {20, "Finished"},         {21, "CertificateURL"},
            {22, "CertificateStatus"},     {23, "SupplementalData"}, {24, "KeyUpdate"},
            {25, "CompressedCertificate"}, {67, "NextProtocol"},     {254, "MessageHash"},
        });
static_assert(sorted(kHandshakeTypes));

constexpr auto kCompressionMethods = std::to_array<Name>({{0, "null"}, {1, "deflate"}, {64, "LZS"}});
static_assert(sorted(kCompressionMethods));

constexpr auto kPointFormats =
    std::to_array<Name>({{0, "uncompressed"}, {1, "ansiX962_compressed_prime"}, {2, "ansiX962_compressed_char2"}});
static_assert(sorted(kPointFormats));

constexpr auto kStatusTypes = std::to_array<Name>({{1, "ocsp"}, {2, "ocsp_multi"}});
static_assert(sorted(kStatusTypes));

// ClientCertificateType (RFC 5246 §7.4.4, RFC 8422 §5.5).
constexpr auto kCertificateTypes = std::to_array<Name>({{1, "rsa_sign"},
                                                        {2, "dss_sign"},
                                                        {3, "rsa_fixed_dh"},
                                                        {4, "dss_fixed_dh"},
                                                        {64, "ecdsa_sign"},
                                                        {65, "rsa_fixed_ecdh"},
                                                        {66, "ecdsa_fixed_ecdh"}});
static_assert(sorted(kCertificateTypes));

constexpr auto kCurveTypes = std::to_array<Name>({{1, "explicit_prime"}, {2, "explicit_char2"}, {3, "named_curve"}});
static_assert(sorted(kCurveTypes));

constexpr auto kAlertLevels = std::to_array<Name>({{1, "warning"}, {2, "fatal"}});
static_assert(sorted(kAlertLevels));

constexpr auto kHeartbeatTypes = std::to_array<Name>({{1, "heartbeat_request"}, {2, "heartbeat_response"}});
static_assert(sorted(kHeartbeatTypes));

constexpr auto kHeartbeatModes = std::to_array<Name>({{1, "peer_allowed_to_send"}, {2, "peer_not_allowed_to_send"}});
static_assert(sorted(kHeartbeatModes));

constexpr auto kKeyUpdateRequests = std::to_array<Name>({{0, "update_not_requested"}, {1, "update_requested"}});
static_assert(sorted(kKeyUpdateRequests));

// max_fragment_length codes 1..4 mean 2^9..2^12 bytes (RFC 6066 §4).
constexpr auto kMaxFragmentLengths = std::to_array<Name>({{1, "512"}, {2, "1024"}, {3, "2048"}, {4, "4096"}});
static_assert(sorted(kMaxFragmentLengths));

constexpr auto kCertificateCompression = std::to_array<Name>({{1, "zlib"}, {2, "brotli"}, {3, "zstd"}});
static_assert(sorted(kCertificateCompression));

// legacy_signature_name names a TLS 1.2 SignatureAndHashAlgorithm pair (RFC 5246 §7.4.1.4.1)
// that has no SignatureScheme name: "dsa_sha256", "rsa_pkcs1_md5"; "" when it is not one.
std::string legacy_signature_name(std::uint16_t id) {
  static constexpr std::array<std::string_view, 7> hashes = {"", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"};
  static constexpr std::array<std::string_view, 4> signatures = {"", "rsa_pkcs1", "dsa", "ecdsa"};
  unsigned hash = id >> 8, signature = id & 0xFF;
  if (hash == 0 || hash >= hashes.size() || signature == 0 || signature >= signatures.size()) return {};
  return fmt::format("{}_{}", signatures[signature], hashes[hash]);
}

}  // namespace

bool is_grease(std::uint16_t id) noexcept { return (id & 0x0F0F) == 0x0A0A && (id >> 8) == (id & 0xFF); }

std::string cipher_suite_name(std::uint16_t id) { return registry_name(kCipherSuites, id); }

std::vector<std::uint16_t> known_cipher_suites() {
  std::vector<std::uint16_t> out;
  out.reserve(kCipherSuites.size());
  for (const auto& suite : kCipherSuites) out.push_back(suite.id);
  return out;
}

std::string group_name(std::uint16_t id) { return registry_name(kGroups, id); }

std::string signature_scheme_name(std::uint16_t id) {
  if (!is_grease(id) && find(kSignatureSchemes, id).empty()) {
    if (auto legacy = legacy_signature_name(id); !legacy.empty()) return legacy;
  }
  return registry_name(kSignatureSchemes, id);
}

std::string version_name(std::uint16_t id) {
  // TLS 1.3 drafts were 0x7F00 + draft number (draft-ietf-tls-tls13-NN §4.2.1).
  if ((id & 0xFF00) == 0x7F00) return fmt::format("TLS 1.3 draft {}", id & 0xFF);
  return registry_name(kVersions, id);
}

std::string extension_name(std::uint16_t id) { return registry_name(kExtensions, id); }

std::string alert_description(std::uint8_t id) {
  if (auto name = find(kAlerts, id); !name.empty()) return std::string(name);
  return detail::unknown_name(id, 2);
}

namespace detail {

std::string unknown_name(std::uint32_t id, int hex_digits) {
  return fmt::format("unknown (0x{:0{}x})", id, hex_digits);
}

std::string handshake_type_name(std::uint16_t type) { return small_registry_name(kHandshakeTypes, type); }
std::string compression_method_name(std::uint16_t method) { return small_registry_name(kCompressionMethods, method); }
std::string point_format_name(std::uint16_t format) { return small_registry_name(kPointFormats, format); }
std::string certificate_status_type_name(std::uint16_t type) { return small_registry_name(kStatusTypes, type); }
std::string client_certificate_type_name(std::uint16_t type) { return small_registry_name(kCertificateTypes, type); }
std::string ec_curve_type_name(std::uint16_t type) { return small_registry_name(kCurveTypes, type); }
std::string alert_level_name(std::uint16_t level) { return small_registry_name(kAlertLevels, level); }
std::string heartbeat_message_type_name(std::uint16_t type) { return small_registry_name(kHeartbeatTypes, type); }
std::string heartbeat_mode_name(std::uint16_t mode) { return small_registry_name(kHeartbeatModes, mode); }
std::string key_update_request_name(std::uint16_t request) { return small_registry_name(kKeyUpdateRequests, request); }
std::string max_fragment_length_name(std::uint16_t code) { return small_registry_name(kMaxFragmentLengths, code); }

std::string psk_mode_name(std::uint16_t mode) {
  if (mode == 0) return "psk_ke";
  if (mode == 1) return "psk_dhe_ke";
  if (mode % 0x1F == 0x0B) return "GREASE";  // RFC 8701 §2: 0x0B, 0x2A, ..., 0xFA
  return unknown_name(mode, 2);
}

std::string certificate_compression_name(std::uint16_t algorithm) {
  return registry_name(kCertificateCompression, algorithm);
}

}  // namespace detail
}  // namespace tlslab::tls
