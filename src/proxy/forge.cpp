#include "proxy/forge.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/ssl.h>

#include <chrono>
#include <variant>

#include "base/failure.hpp"
#include "ossl/error.hpp"
#include "pki/ca.hpp"
#include "pki/keys.hpp"
#include "pki/names.hpp"
#include "proxy/forge_store.hpp"
#include "proxy/policy.hpp"
#include "tls/client_context.hpp"

namespace tlslab::proxy {
namespace {

void free_choice(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(ptr); }

int choice_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_choice);
  return index;
}

// The client gets exactly what the real server accepted, if the client offered it.
int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void*) {
  auto* choice = static_cast<std::string*>(SSL_get_ex_data(ssl, choice_index()));
  if (!choice || choice->empty()) return SSL_TLSEXT_ERR_NOACK;
  for (unsigned i = 0; i < inlen;) {
    unsigned len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == choice->size() && std::equal(choice->begin(), choice->end(), in + i + 1)) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// signature_scheme is the TLS SignatureScheme of what key signs with build::sign (SHA-256 for
// P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521).
std::uint16_t signature_scheme(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return 0x0401;  // rsa_pkcs1_sha256
    case EVP_PKEY_ED25519:
      return 0x0807;
    case EVP_PKEY_EC: {
      int bits = EVP_PKEY_get_bits(key);
      return bits > 384 ? 0x0603 : bits > 256 ? 0x0503 : 0x0403;
    }
    default:
      return 0;
  }
}

}  // namespace

void set_alpn_choice(SSL* ssl, const std::string& protocol) {
  delete static_cast<std::string*>(SSL_get_ex_data(ssl, choice_index()));
  SSL_set_ex_data(ssl, choice_index(), new std::string(protocol));
}

std::string_view source_name(ForgeSource source) {
  switch (source) {
    case ForgeSource::Memory:
      return "memory";
    case ForgeSource::Disk:
      return "disk";
    case ForgeSource::Minted:
      return "minted";
  }
  return "minted";
}

std::string provenance(const Forging& forging) {
  const Forged& f = *forging.forged;
  auto made = f.origin == ForgeSource::Disk
                  ? fmt::format("loaded from {} in {:.0f} µs", f.file, f.mint_us)
                  : fmt::format("minted in {:.0f} µs{}", f.mint_us, f.file.empty() ? "" : ", stored as " + f.file);
  return forging.source == ForgeSource::Memory ? fmt::format("from memory, first {}", made) : made;
}

Forger::Forger(const pki::Ca& ca, ForgeOptions options) : ca_(ca), options_(std::move(options)) {
  if (!options_.cache_dir.empty())
    store_ = std::make_unique<ForgeStore>(options_.cache_dir, [this](const std::string& line) { note(line); });
  // The EC key now, not at the first connection (most servers are EC); the RSA key is made only
  // when an RSA server is met (generating one takes about 100 ms).
  (void)key_for("EC");
  ca_scheme_ = signature_scheme(ca_.key());
}
Forger::~Forger() = default;

void Forger::note(const std::string& line) const {
  if (options_.note) options_.note(line);
}

EVP_PKEY* Forger::key_for(const std::string& key_type) {
  // One leaf key per type (not the CA's): generating a key per host would cost more than the
  // signature, and the forged leaves are only as trustworthy as the CA anyway. Per run, or kept in
  // the cache folder with the certificates that certify it.
  std::lock_guard lock(mutex_);
  auto& slot = key_type == "RSA" ? rsa_key_ : ec_key_;
  if (!slot) {
    auto kind = key_type == "RSA" ? pki::KeyKind::Rsa2048 : pki::KeyKind::EcP256;
    if (!store_) {
      slot = pki::generate_key(kind);
    } else {
      try {
        slot = store_->leaf_key(key_type);
      } catch (const Failure& e) {
        if (!ec_key_ && !rsa_key_) throw;  // the first key, at startup: the folder cannot be used
        note(fmt::format("{}; this run's {} forgeries will not be reusable by the next", e.what(), key_type));
        slot = pki::generate_key(kind);
      }
    }
  }
  return slot.get();
}

const pki::Ca* Forger::rsa_issuer() {
  std::lock_guard lock(issuer_mutex_);
  if (!rsa_issuer_ && !rsa_issuer_failed_) {
    try {
      // Under the CA, so clients that trust the CA trust it; it lives as long as the CA allows.
      pki::CaOptions o;
      o.name = "tlslab proxy RSA issuer";
      o.key = pki::KeyKind::Rsa2048;
      o.parent = &ca_;
      rsa_issuer_ = std::make_unique<pki::Ca>(pki::Ca::create(o));
    } catch (const Failure& e) {
      rsa_issuer_failed_ = true;
      note(
          fmt::format("cannot make an RSA issuer under the CA ({}): clients that accept no {:#06x} signature in "
                      "certificates get leaves the CA signs anyway",
                      e.what(), ca_scheme_));
    }
  }
  return rsa_issuer_.get();
}

ossl::Ptr<SSL_CTX> Forger::make_context(X509* leaf, const pki::Ca& signer) const {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* c = ossl::check(ctx.get(), Kind::Generic, "creating a forged server context");
  SSL_CTX_set_min_proto_version(c, tls::parse_tls_version(options_.tls_min, "--tls-min"));
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Resumption for clients by stateless tickets only: no server-side cache to fill, lock and flush
  // on every connection; and one TLS 1.3 ticket instead of two (each costs a session copy and its
  // encryption on every new connection).
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 1);
  ossl::check(SSL_CTX_use_certificate(c, leaf), Kind::Generic, "using a forged certificate");
  if (&signer != &ca_) SSL_CTX_add1_chain_cert(c, signer.cert());
  for (const auto& issuer : signer.issuers()) SSL_CTX_add1_chain_cert(c, issuer.get());
  return ctx;
}

Forging Forger::forge(const std::vector<std::string>& names, const std::string& key_type, ForgeIssuer issuer) {
  std::string kt = key_type == "RSA" || key_type == "RSA-PSS" ? "RSA" : "EC";
  const pki::Ca* signer = issuer == ForgeIssuer::Ca ? &ca_ : rsa_issuer();
  if (!signer) signer = &ca_, issuer = ForgeIssuer::Ca;
  auto key = cache_key(names, kt);
  if (issuer != ForgeIssuer::Ca) key += issuer == ForgeIssuer::RsaPss ? "|rsa-pss" : "|rsa-pkcs1";
  {
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++stats_.hits;
      return {it->second->second, ForgeSource::Memory};
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  pki::LeafRequest request;
  std::vector<std::string> certified;
  for (const auto& n : names) {
    auto parsed = pki::classify_name(n);
    if (auto* name = std::get_if<pki::Name>(&parsed); name && name->kind != pki::NameKind::Email) {
      request.names.push_back(*name);
      certified.push_back(name->value);
    }
  }
  if (request.names.empty())
    throw Failure(Kind::Usage, fmt::format("no name a certificate can carry among [{}]", fmt::join(names, ", ")));
  EVP_PKEY* leaf_key = key_for(kt);
  request.public_key = leaf_key;
  request.rsa_pss = issuer == ForgeIssuer::RsaPss;
  auto forged = std::make_shared<Forged>();
  ossl::Ptr<X509> cert;
  if (store_ && signer == &ca_) {
    auto path = store_->path_for(key);
    forged->file = path.string();
    std::string why;
    cert = store_->load(path, &why);
    if (cert) {
      why = why_unusable(cert.get(), ca_, leaf_key, certified, pki::now_epoch());
      if (!why.empty()) {
        why = fmt::format("{}: {}", path.string(), why);
        cert.reset();
      }
    }
    if (cert) {
      forged->origin = ForgeSource::Disk;
    } else {
      if (!why.empty()) note(fmt::format("ignoring {}; minting a new one", why));
      cert = std::move(ca_.issue(request).cert);
      // Two threads minting the same names at once both write: either file is whole and usable.
      try {
        store_->save(path, cert.get());
      } catch (const Failure& e) {
        note(fmt::format("{} (the certificate is served, but not kept for the next run)", e.what()));
        forged->file.clear();
      }
    }
  } else {
    cert = std::move(signer->issue(request).cert);
  }
  forged->ctx = make_context(cert.get(), *signer);
  ossl::check(SSL_CTX_use_PrivateKey(forged->ctx.get(), leaf_key), Kind::Generic, "using the forged key");
  SSL_CTX_set_alpn_select_cb(forged->ctx.get(), select_alpn, nullptr);
  if (!options_.keylog_file.empty()) tls::enable_keylog(forged->ctx.get(), options_.keylog_file);
  forged->info = pki::describe(cert.get());
  forged->names = std::move(certified);
  forged->mint_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end())  // another thread was faster
    return {it->second->second, ForgeSource::Memory};
  lru_.emplace_front(key, forged);
  index_[key] = lru_.begin();
  while (lru_.size() > options_.capacity) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  if (forged->origin == ForgeSource::Disk) {
    ++stats_.loaded;
    stats_.load_us_total += forged->mint_us;
  } else {
    ++stats_.misses;
    stats_.mint_us_total += forged->mint_us;
  }
  return {forged, forged->origin};
}

ForgeStats Forger::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace tlslab::proxy
