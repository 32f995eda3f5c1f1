#include "proxy/forge_store.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "base/text.hpp"
#include "ossl/error.hpp"
#include "ossl/pem.hpp"
#include "pki/ca.hpp"
#include "pki/cert_info.hpp"
#include "pki/keys.hpp"

namespace tlslab::proxy {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> sorted_lower(std::vector<std::string> names) {
  for (auto& n : names) n = ascii_lower(std::move(n));
  std::sort(names.begin(), names.end());
  return names;
}

bool is_rsa(const std::string& key_type) { return key_type == "RSA"; }

// fits tells whether key is what the forged leaves of key_type use (leaf_key's documentation).
bool fits(EVP_PKEY* key, const std::string& key_type) {
  if (is_rsa(key_type)) return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && pki::ec_curve(key) == "P-256";
}

}  // namespace

ForgeStore::ForgeStore(fs::path dir, std::function<void(const std::string&)> note)
    : dir_(std::move(dir)), note_(std::move(note)) {
  auto fail = [&](const std::string& why) {
    throw Failure(Kind::Write,
                  fmt::format("--cert-cache {}: cannot keep forged certificates there: {}", dir_.string(), why));
  };
  std::error_code ec;
  auto status = fs::status(dir_, ec);
  if (status.type() == fs::file_type::not_found) {
    if (dir_.has_parent_path() && !dir_.parent_path().empty()) {
      fs::create_directories(dir_.parent_path(), ec);
      if (ec) fail(fmt::format("cannot create {}: {}", dir_.parent_path().string(), ec.message()));
    }
    // It will hold private keys: private from the first instant.
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) fail(std::strerror(errno));
    status = fs::status(dir_, ec);
  }
  if (ec) fail(ec.message());
  if (status.type() != fs::file_type::directory) fail("it exists and is not a directory");
  // Readable keys in a folder that cannot be written would leave every new forgery unkept.
  if (::access(dir_.c_str(), R_OK | W_OK | X_OK) != 0) fail(std::strerror(errno));
}

ossl::Ptr<EVP_PKEY> ForgeStore::leaf_key(const std::string& key_type) const {
  auto path = dir_ / (is_rsa(key_type) ? "rsa-key.pem" : "ec-key.pem");
  auto kind = is_rsa(key_type) ? pki::KeyKind::Rsa2048 : pki::KeyKind::EcP256;
  // Twice at most: a key another proxy links in while this one makes its own is read back.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      std::string why;
      try {
        auto key = pki::load_private_key(path, "forged certificates' key", Kind::Input);
        if (fits(key.get(), key_type)) return key;
        why = fmt::format("{}: an {} key, not {}", path.string(), pki::key_description(key.get()),
                          pki::key_kind_name(kind));
      } catch (const Failure& e) {
        why = e.what();
      }
      note_(fmt::format("{}; replacing it with a new key (certificates stored for the old one will be minted again)",
                        why));
      auto key = pki::generate_key(kind);
      pki::write_private_key(path, key.get());
      return key;
    }
    auto key = pki::generate_key(kind);
    try {
      pki::write_private_key(path, key.get(), /*exclusive=*/true);
      return key;
    } catch (const Failure& e) {
      if (e.kind() != Kind::Exists) throw;
    }
  }
  throw Failure(Kind::Write,
                fmt::format("{}: replaced while being read; is another program writing it?", path.string()));
}

fs::path ForgeStore::path_for(const std::string& cache_key) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t len = 0;
  ossl::check(EVP_Q_digest(nullptr, "SHA256", nullptr, cache_key.data(), cache_key.size(), digest, &len), Kind::Generic,
              "hashing a forge cache key");
  std::string name;
  for (size_t i = 0; i < 16 && i < len; ++i) name += fmt::format("{:02x}", digest[i]);
  return dir_ / (name + ".pem");
}

ossl::Ptr<X509> ForgeStore::load(const fs::path& path, std::string* why) const {
  std::error_code ec;
  if (!fs::exists(path, ec)) return nullptr;
  try {
    auto certs = ossl::parse_certificates(read_file(path, "stored forged certificate", Kind::Input), path.string());
    if (certs.size() == 1) return std::move(certs.front());
    *why = fmt::format("{}: {} certificates where one was expected", path.string(), certs.size());
  } catch (const Failure& e) {
    *why = e.what();
  }
  return nullptr;
}

void ForgeStore::save(const fs::path& path, X509* cert) const {
  // Not synced to disk: that would cost the first connection to a host milliseconds, and a file a
  // crash left empty is only one more file that load() refuses and minting replaces.
  write_file_atomic(path, ossl::to_pem(cert), 0644, /*exclusive=*/false, /*durable=*/false);
}

std::string why_unusable(X509* cert, const pki::Ca& ca, EVP_PKEY* leaf_key, const std::vector<std::string>& names,
                         std::int64_t now) {
  // The issuer's name, then its key identifier, then the signature itself: a CA made again by
  // `tlslab ca init` has the same name but another key.
  auto issued = X509_check_issued(ca.cert(), cert);
  if (issued == X509_V_ERR_SUBJECT_ISSUER_MISMATCH)
    return fmt::format("it was issued by {}, not by the CA {}", pki::describe(cert).issuer, ca.name());
  bool verifies = issued == X509_V_OK && X509_verify(cert, X509_get0_pubkey(ca.cert())) == 1;
  ERR_clear_error();
  if (!verifies)
    return fmt::format("it was signed by another key than the CA {}'s (was the CA made again?)", ca.name());
  if (EVP_PKEY_eq(X509_get0_pubkey(cert), leaf_key) != 1) {
    ERR_clear_error();
    return "it certifies another key than the forged certificates' key";
  }
  auto info = pki::describe(cert);
  if (info.not_before > now) return fmt::format("it is not valid before {}", pki::format_time(info.not_before));
  if (info.not_after <= now) return fmt::format("it expired on {}", pki::format_time(info.not_after));
  if (info.not_after - now < kForgeRenewSeconds && info.not_after < ca.not_after())
    return fmt::format("it expires soon, on {}", pki::format_time(info.not_after));
  std::vector<std::string> carried;
  for (const auto& san : info.sans)
    if (san.type == pki::SanType::Dns || san.type == pki::SanType::Ip) carried.push_back(san.value);
  if (sorted_lower(carried) != sorted_lower(names))
    return fmt::format("it carries the names [{}], not [{}]", fmt::join(carried, ", "), fmt::join(names, ", "));
  return {};
}

}  // namespace tlslab::proxy
