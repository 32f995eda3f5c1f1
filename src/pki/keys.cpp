#include "pki/keys.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <array>

#include "base/files.hpp"
#include "ossl/error.hpp"
#include "ossl/pem.hpp"

namespace tlslab::pki {
namespace {

struct KindEntry {
  KeyKind kind;
  std::string_view name;
};

constexpr std::array<KindEntry, 6> kKinds = {{{KeyKind::EcP256, "ec-p256"},
                                              {KeyKind::EcP384, "ec-p384"},
                                              {KeyKind::Rsa2048, "rsa-2048"},
                                              {KeyKind::Rsa3072, "rsa-3072"},
                                              {KeyKind::Rsa4096, "rsa-4096"},
                                              {KeyKind::Ed25519, "ed25519"}}};

}  // namespace

std::string ec_curve(EVP_PKEY* key) {
  char group[80] = {};
  size_t len = 0;
  if (!EVP_PKEY_get_group_name(key, group, sizeof group, &len)) return {};
  int nid = OBJ_sn2nid(group);
  const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
  return nist ? nist : group;
}

KeyKind key_kind_from_name(std::string_view name, Kind kind) {
  for (const auto& entry : kKinds)
    if (entry.name == name) return entry.kind;
  std::string accepted;
  for (const auto& entry : kKinds) accepted += fmt::format("{}{}", accepted.empty() ? "" : ", ", entry.name);
  throw Failure(kind, fmt::format("unknown key type \"{}\"; use one of: {}", name, accepted));
}

std::string_view key_kind_name(KeyKind kind) {
  for (const auto& entry : kKinds)
    if (entry.kind == kind) return entry.name;
  return "unknown";
}

const std::vector<std::string>& key_kind_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : kKinds) out.emplace_back(entry.name);
    return out;
  }();
  return names;
}

ossl::Ptr<EVP_PKEY> generate_key(KeyKind kind) {
  // One prepared context per kind and thread: setting one up (fetching the algorithm, building the
  // curve) costs as much as the key itself, and a context may not be shared between threads.
  thread_local std::array<ossl::Ptr<EVP_PKEY_CTX>, kKinds.size()> contexts;
  auto& ctx = contexts[static_cast<size_t>(kind)];
  auto context = [&] { return fmt::format("generating a {} key", key_kind_name(kind)); };
  if (!ctx) {
    bool ec = kind == KeyKind::EcP256 || kind == KeyKind::EcP384;
    bool rsa = kind == KeyKind::Rsa2048 || kind == KeyKind::Rsa3072 || kind == KeyKind::Rsa4096;
    ossl::Ptr<EVP_PKEY_CTX> fresh(EVP_PKEY_CTX_new_from_name(nullptr, ec ? "EC" : rsa ? "RSA" : "ED25519", nullptr));
    if (!fresh || EVP_PKEY_keygen_init(fresh.get()) <= 0) ossl::fail(Kind::Generic, context());
    if (ec && EVP_PKEY_CTX_set_group_name(fresh.get(), kind == KeyKind::EcP256 ? "P-256" : "P-384") <= 0)
      ossl::fail(Kind::Generic, context());
    unsigned bits = kind == KeyKind::Rsa2048 ? 2048 : kind == KeyKind::Rsa3072 ? 3072 : 4096;
    if (rsa && EVP_PKEY_CTX_set_rsa_keygen_bits(fresh.get(), static_cast<int>(bits)) <= 0)
      ossl::fail(Kind::Generic, context());
    ctx = std::move(fresh);
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &key) <= 0) ossl::fail(Kind::Generic, context());
  return ossl::Ptr<EVP_PKEY>(key);
}

std::string key_description(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC:
      return fmt::format("EC {}", ec_curve(key));
    case EVP_PKEY_RSA:
      return fmt::format("RSA {}", EVP_PKEY_get_bits(key));
    case EVP_PKEY_RSA_PSS:
      return fmt::format("RSA-PSS {}", EVP_PKEY_get_bits(key));
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      return fmt::format("{} {}", name ? name : "unknown", EVP_PKEY_get_bits(key));
    }
  }
}

const EVP_MD* signature_digest(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
      return nullptr;
    case EVP_PKEY_EC:
      // RFC 5480 §4 pairs P-384 with SHA-384 and P-521 with SHA-512.
      if (EVP_PKEY_get_bits(key) > 384) return EVP_sha512();
      if (EVP_PKEY_get_bits(key) > 256) return EVP_sha384();
      return EVP_sha256();
    default:
      return EVP_sha256();
  }
}

ossl::Ptr<EVP_PKEY> load_private_key(const std::filesystem::path& path, std::string_view what, Kind kind) {
  auto data = read_file(path, what, kind);
  return ossl::parse_private_key(data, path.string(), kind);
}

void write_private_key(const std::filesystem::path& path, EVP_PKEY* key, bool exclusive) {
  write_file_atomic(path, ossl::private_key_to_pem(key), 0600, exclusive);
}

}  // namespace tlslab::pki
