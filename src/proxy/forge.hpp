// proxy::Forger — certificates minted on the fly for intercepted hosts, and their server contexts.
//
// The forged leaf is signed by the proxy's CA, carries the names the policy chose (mirrored from the
// real server's certificate), and certifies one key per key type per run — an ECDSA P-256 key, or an
// RSA-2048 key when the real server uses RSA — never the CA's own key. Minting costs one signature,
// which is paid once per name set: contexts are kept in a bounded LRU cache. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"

namespace tlslab::pki {
class Ca;
}

namespace tlslab::proxy {

struct Forged {
  ossl::Ptr<SSL_CTX> ctx;  // a server context presenting the forged chain
  pki::CertInfo info;
  std::vector<std::string> names;
  double mint_us = 0;  // what minting cost
};

struct ForgeStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  double mint_us_total = 0;
};

struct ForgeOptions {
  std::size_t capacity = 1000;  // cached name sets
  std::string keylog_file;      // key log for the client-facing leg
  std::string tls_min = "1.2";
};

class Forger {
 public:
  Forger(const pki::Ca& ca, ForgeOptions options);
  ~Forger();

  // forge returns the context for names (the first is the CN) with a key of key_type ("EC" or
  // "RSA"; anything else gets EC). Names that cannot be certified are left out; Failure{Usage} if
  // none remains.
  [[nodiscard]] std::shared_ptr<const Forged> forge(const std::vector<std::string>& names, const std::string& key_type);
  [[nodiscard]] ForgeStats stats() const;

 private:
  ossl::Ptr<SSL_CTX> make_context(X509* leaf) const;
  EVP_PKEY* key_for(const std::string& key_type);

  const pki::Ca& ca_;
  ForgeOptions options_;
  mutable std::mutex mutex_;
  std::list<std::pair<std::string, std::shared_ptr<const Forged>>> lru_;
  std::unordered_map<std::string, decltype(lru_)::iterator> index_;
  ossl::Ptr<EVP_PKEY> ec_key_, rsa_key_;
  ForgeStats stats_;
};

// set_alpn_choice tells a forged context which protocol to select for this connection (what the
// real server accepted); "" selects none.
void set_alpn_choice(SSL* ssl, const std::string& protocol);

}  // namespace tlslab::proxy
