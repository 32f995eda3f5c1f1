// proxy::Forger — certificates minted on the fly for intercepted hosts, and their server contexts.
//
// The forged leaf is signed by the proxy's CA, carries the names the policy chose (mirrored from the
// real server's certificate), and certifies one key per key type — an ECDSA P-256 key, or an
// RSA-2048 key when the real server uses RSA — never the CA's own key. Minting costs one signature,
// which is paid once per name set: contexts are kept in a bounded LRU cache. With a cache folder
// (ForgeStore, --cert-cache DIR) the keys and certificates outlive the run, so a restarted proxy
// mints nothing for hosts it has seen: a memory miss looks there first. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"
#include "proxy/policy.hpp"

namespace tlslab::pki {
class Ca;
}

namespace tlslab::proxy {

class ForgeStore;

// ForgeSource says where a forgery came from.
enum class ForgeSource {
  Memory,  // the in-memory cache: made earlier in this run
  Disk,    // the cache folder: made by an earlier run (or another proxy sharing the folder)
  Minted,  // signed just now
};
// source_name returns "memory", "disk" or "minted".
[[nodiscard]] std::string_view source_name(ForgeSource source);

struct Forged {
  ossl::Ptr<SSL_CTX> ctx;  // a server context presenting the forged chain
  pki::CertInfo info;
  std::vector<std::string> names;
  ForgeSource origin = ForgeSource::Minted;  // how this run got it: Minted or Disk
  double mint_us = 0;                        // what minting (or loading it from disk) cost, storing it included
  std::string file;                          // where it is stored; "" without a cache folder
};

// Forging is the answer to one forge call: the forgery, and where this call found it.
struct Forging {
  std::shared_ptr<const Forged> forged;
  ForgeSource source = ForgeSource::Minted;
};

// provenance says where a forgery came from, for logs and --show-forgery: "minted in 812 µs,
// stored as DIR/….pem", "loaded from DIR/….pem in 95 µs", "from memory, first minted in 812 µs".
[[nodiscard]] std::string provenance(const Forging& forging);

struct ForgeStats {
  std::uint64_t hits = 0;    // served from memory
  std::uint64_t misses = 0;  // minted
  std::uint64_t loaded = 0;  // read from the cache folder
  double mint_us_total = 0;
  double load_us_total = 0;
};

struct ForgeOptions {
  std::size_t capacity = 1000;  // cached name sets
  std::string keylog_file;      // key log for the client-facing leg
  std::string tls_min = "1.2";
  std::filesystem::path cache_dir;               // "": nothing on disk
  std::function<void(const std::string&)> note;  // one line per cache file ignored, replaced or not written
};

class Forger {
 public:
  // Forger makes (or with options.cache_dir reads) the EC key at once, so the first connection
  // does not wait for it; with options.cache_dir it opens the folder first (ForgeStore:
  // Failure{Kind::Write} if it cannot be used), so a folder that cannot hold keys is an error at
  // startup, not at the first connection.
  Forger(const pki::Ca& ca, ForgeOptions options);
  ~Forger();

  // forge returns the context for names (the first is the CN) with a key of key_type ("EC" or
  // "RSA"; anything else gets EC), signed as issuer says: from memory, else from the cache folder
  // if a stored certificate is still usable (why_unusable), else minted (and stored). Names that
  // cannot be certified are left out; Failure{Usage} if none remains. A leaf for an RSA issuer is
  // kept in memory only, and signed by the CA when no RSA issuer can be made (the CA is an
  // intermediate limited to leaves): a note says so, once.
  [[nodiscard]] Forging forge(const std::vector<std::string>& names, const std::string& key_type,
                              ForgeIssuer issuer = ForgeIssuer::Ca);
  [[nodiscard]] ForgeStats stats() const;
  // ca_signature_scheme is the TLS SignatureScheme of the CA's signatures on leaves (0x0403 for the
  // default P-256 CA), for choose_forgery.
  [[nodiscard]] std::uint16_t ca_signature_scheme() const { return ca_scheme_; }

 private:
  ossl::Ptr<SSL_CTX> make_context(X509* leaf, const pki::Ca& signer) const;
  // rsa_issuer returns the RSA-2048 issuing CA under the CA, made at its first use (one per run);
  // null if it cannot be made.
  const pki::Ca* rsa_issuer();
  EVP_PKEY* key_for(const std::string& key_type);
  void note(const std::string& line) const;

  const pki::Ca& ca_;
  ForgeOptions options_;
  std::unique_ptr<ForgeStore> store_;
  mutable std::mutex mutex_;
  std::list<std::pair<std::string, std::shared_ptr<const Forged>>> lru_;
  std::unordered_map<std::string, decltype(lru_)::iterator> index_;
  ossl::Ptr<EVP_PKEY> ec_key_, rsa_key_;
  std::mutex issuer_mutex_;
  std::unique_ptr<pki::Ca> rsa_issuer_;
  bool rsa_issuer_failed_ = false;
  std::uint16_t ca_scheme_ = 0;
  ForgeStats stats_;
};

// set_alpn_choice tells a forged context which protocol to select for this connection (what the
// real server accepted); "" selects none.
void set_alpn_choice(SSL* ssl, const std::string& protocol);

}  // namespace tlslab::proxy
