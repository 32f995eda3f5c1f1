// proxy::ForgeStore — forged certificates kept on disk across runs (`tlslab proxy --cert-cache DIR`).
//
// DIR holds the forged leaves' keys, one per key type (ec-key.pem, rsa-key.pem; mode 0600) — kept
// across runs, since a stored certificate is only worth reusing with its key — and one PEM
// certificate per name set, named after the SHA-256 of its cache key (<32 hex digits>.pem). Every
// file is written beside its place and renamed into it, so readers — other threads, another proxy
// sharing DIR — see a whole file or none; a new key is linked in only if no other proxy got there
// first. A stored certificate is served again only if why_unusable finds nothing against it: files
// that are corrupt, foreign, stale or from another CA are replaced, never trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"

namespace tlslab::pki {
class Ca;
}

namespace tlslab::proxy {

// A stored certificate is minted again when it has less than this left (and a new one would live
// longer): a client must never be handed a certificate that expires while it is in use.
inline constexpr std::int64_t kForgeRenewSeconds = 30 * 24 * 3600;

class ForgeStore {
 public:
  // ForgeStore opens dir, creating it (mode 0700) if missing. Failure{Kind::Write} naming dir and
  // why if it cannot hold files. note receives one line for each file that is ignored or replaced.
  ForgeStore(std::filesystem::path dir, std::function<void(const std::string&)> note);

  // leaf_key returns the key for key_type ("EC": P-256, "RSA": 2048 bits) kept in the folder, made
  // and written there (0600) when missing; a file that is not such a key is replaced, with a note.
  // Failure{Kind::Write} if a new key cannot be written.
  [[nodiscard]] ossl::Ptr<EVP_PKEY> leaf_key(const std::string& key_type) const;

  // path_for returns where the certificate for cache_key (policy.hpp) is stored.
  [[nodiscard]] std::filesystem::path path_for(const std::string& cache_key) const;

  // load returns the certificate stored at path, or null: when there is none (*why left empty),
  // or when the file is unreadable or not one PEM certificate (*why says so).
  [[nodiscard]] ossl::Ptr<X509> load(const std::filesystem::path& path, std::string* why) const;

  // save writes cert to path (atomically but not synced to disk; mode 0644: a certificate is public).
  // Failure{Kind::Write} naming path.
  void save(const std::filesystem::path& path, X509* cert) const;

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::function<void(const std::string&)> note_;
};

// why_unusable returns why a stored forged certificate must not be served again ("" if it may): it
// must be issued by ca as it is now (issuer name, and a signature that verifies with the CA's key —
// a CA re-created with `tlslab ca init` gets no stale forgeries), certify leaf_key, carry exactly
// names (their SAN values, any order and case), and be valid now and for kForgeRenewSeconds more
// (or until the CA's own end).
[[nodiscard]] std::string why_unusable(X509* cert, const pki::Ca& ca, EVP_PKEY* leaf_key,
                                       const std::vector<std::string>& names, std::int64_t now);

}  // namespace tlslab::proxy
