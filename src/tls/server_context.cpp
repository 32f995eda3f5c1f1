#include "tls/server_context.hpp"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <strings.h>
#include <cstring>
#include <mutex>

#include "base/files.hpp"
#include "ossl/error.hpp"
#include "pki/keys.hpp"
#include "tls/client_context.hpp"
#include "tls/negotiated.hpp"

namespace tlslab::tls {
namespace {

// Session ticket keys shared by several instances (--ticket-key-file): 80 bytes laid out as
// nginx's ssl_session_ticket_key files are: key name (16), HMAC secret (32), AES-256 key (32).
struct TicketKey {
  unsigned char name[16];
  unsigned char hmac[32];
  unsigned char aes[32];
};

void free_ticket_key(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<TicketKey*>(ptr); }

// The SSL_CTX slot holding a context's TicketKey; freed with the context.
int ticket_key_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ticket_key);
  return index;
}

int ticket_callback(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                    int encrypt) {
  auto* key = static_cast<TicketKey*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_key_index()));
  if (!key) return -1;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key->hmac, sizeof key->hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  if (encrypt) {
    std::memcpy(key_name, key->name, sizeof key->name);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes, iv) != 1) return -1;
    return EVP_MAC_CTX_set_params(mac, params) == 1 ? 1 : -1;
  }
  if (std::memcmp(key_name, key->name, sizeof key->name) != 0) return 0;  // unknown key: full handshake
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes, iv) == 1 ? 1 : -1;
}

int servername_callback(SSL* ssl, int*, void* arg) {
  auto* contexts = static_cast<const ServerContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  SSL_CTX* chosen = contexts->select(name);
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

int alpn_callback(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                  void* arg) {
  auto* wire = static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned>(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without ALPN, as nginx does
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

int ocsp_callback(SSL* ssl, void* arg) {
  auto* der = static_cast<const std::string*>(arg);
  if (der->empty()) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(der->data(), der->size()));
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size()));
  return SSL_TLSEXT_ERR_OK;
}

const std::string& alpn_storage(const std::vector<std::string>& protocols) {
  // The wire format must outlive every context; configurations are few, so keep them for good.
  static std::vector<std::unique_ptr<std::string>> kept;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  kept.push_back(std::make_unique<std::string>(alpn_wire(protocols)));
  return *kept.back();
}

ossl::Ptr<SSL_CTX> make_context(const ServerTlsOptions& o, const ServerCertFiles& files, const TicketKey* ticket,
                                const std::string* ocsp) {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* c = ossl::check(ctx.get(), Kind::Generic, "creating a TLS server context");
  int min = parse_tls_version(o.tls_min.empty() ? "1.2" : o.tls_min, "--tls-min");
  if (min < TLS1_2_VERSION) SSL_CTX_set_security_level(c, 0);
  SSL_CTX_set_min_proto_version(c, min);
  if (!o.tls_max.empty()) SSL_CTX_set_max_proto_version(c, parse_tls_version(o.tls_max, "--tls-max"));
  // Secure defaults: forward-secret AEAD suites only, the server's order.
  std::string ciphers = o.ciphers.empty() ? "ECDHE+AESGCM:ECDHE+CHACHA20" : o.ciphers;
  if (min < TLS1_2_VERSION && o.ciphers.empty()) ciphers = "DEFAULT:@SECLEVEL=0";
  auto usage = [](const char* option, const std::string& value, const char* hint) {
    ERR_clear_error();
    throw Failure(Kind::Usage, fmt::format("{} '{}': {}", option, value, hint));
  };
  if (SSL_CTX_set_cipher_list(c, ciphers.c_str()) != 1) usage("--ciphers", ciphers, "no cipher matches");
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, o.ciphersuites.c_str()) != 1)
    usage("--ciphersuites", o.ciphersuites, "not a valid TLS 1.3 suite list");
  std::string groups = o.groups.empty() ? "X25519:P-256:P-384" : o.groups;
  if (SSL_CTX_set1_groups_list(c, groups.c_str()) != 1) usage("--groups", groups, "unknown group");
  SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their record buffers back (about 34 kB each).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Read whole records (and what follows) in one read(2) instead of a header then a body.
  SSL_CTX_set_read_ahead(c, 1);
  if (files.issued) {
    std::vector<X509*> chain{files.issued->cert.get()};
    for (const auto& issuer : files.issued->chain) chain.push_back(issuer.get());
    use_certificate_and_key(c, chain, files.issued->key.get(), files.cert_file, files.cert_file, Kind::Input);
  } else {
    use_certificate_and_key(c, files.cert_file, files.key_file, Kind::Input);
  }
  if (o.resumption) {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    static const unsigned char sid_ctx[] = "tlslab";
    SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_sess_set_cache_size(c, 20000);
    if (ticket) {
      SSL_CTX_set_ex_data(c, ticket_key_index(), new TicketKey(*ticket));
      SSL_CTX_set_tlsext_ticket_key_evp_cb(c, ticket_callback);
    }
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c, 0);
  }
  if (!o.keylog_file.empty()) {
    // On every context: the one SNI switches a connection to logs its secrets too.
    try {
      enable_keylog(c, o.keylog_file);
    } catch (const Failure& f) {
      if (o.keylog_variable.empty()) throw;
      throw Failure(f.kind(), fmt::format("{} (the file named by the environment variable {}; fix or unset it)",
                                          f.what(), o.keylog_variable));
    }
  }
  if (!o.alpn.empty()) SSL_CTX_set_alpn_select_cb(c, alpn_callback, const_cast<std::string*>(&alpn_storage(o.alpn)));
  if (!o.client_ca_file.empty()) {
    ossl::check(SSL_CTX_load_verify_file(c, o.client_ca_file.c_str()), Kind::CaFile,
                fmt::format("loading client CA file {}", o.client_ca_file));
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(c, names);
    int mode = SSL_VERIFY_PEER;
    if (o.verify_client == "required") mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c, mode, nullptr);
  }
  if (ocsp && !ocsp->empty()) {
    SSL_CTX_set_tlsext_status_cb(c, ocsp_callback);
    SSL_CTX_set_tlsext_status_arg(c, const_cast<std::string*>(ocsp));
  }
  return ctx;
}

}  // namespace

std::shared_ptr<ServerContexts> ServerContexts::load(const ServerTlsOptions& o) {
  if (o.certs.empty()) throw Failure(Kind::Usage, "no certificate to serve");
  if (!o.verify_client.empty() && o.verify_client != "optional" && o.verify_client != "required")
    throw Failure(Kind::Usage, fmt::format("--verify-client '{}': use optional or required", o.verify_client));
  if (!o.verify_client.empty() && o.client_ca_file.empty())
    throw Failure(Kind::Usage, "--verify-client needs --client-ca FILE");
  auto out = std::shared_ptr<ServerContexts>(new ServerContexts());
  std::optional<TicketKey> ticket;
  if (!o.ticket_key_file.empty()) {
    auto data = read_file(o.ticket_key_file, "ticket key file", Kind::Input);
    if (data.size() != sizeof(TicketKey))
      throw Failure(Kind::Input, fmt::format("ticket key file {}: must hold exactly {} bytes (it has {}); make one "
                                             "with: openssl rand 80 > {}",
                                             o.ticket_key_file, sizeof(TicketKey), data.size(), o.ticket_key_file));
    ticket.emplace();
    std::memcpy(&*ticket, data.data(), sizeof(TicketKey));
  }
  if (!o.ocsp_file.empty()) out->ocsp_ = read_file(o.ocsp_file, "OCSP response file", Kind::Input);
  for (const auto& files : o.certs) {
    LoadedCert loaded;
    loaded.ctx = make_context(o, files, ticket ? &*ticket : nullptr, &out->ocsp_);
    loaded.info = pki::describe(SSL_CTX_get0_certificate(loaded.ctx.get()));
    loaded.source = files.cert_file;
    loaded.sni = files.sni;
    out->certs_.push_back(std::move(loaded));
  }
  SSL_CTX_set_tlsext_servername_callback(out->default_context(), servername_callback);
  SSL_CTX_set_tlsext_servername_arg(out->default_context(), out.get());
  return out;
}

SSL_CTX* ServerContexts::select(const char* servername) const {
  if (!servername || certs_.size() == 1) return default_context();
  std::string name(servername);
  for (const auto& c : certs_)
    if (!c.sni.empty() && strcasecmp(c.sni.c_str(), servername) == 0) return c.ctx.get();
  for (const auto& c : certs_) {
    if (!c.sni.empty()) continue;
    X509* cert = SSL_CTX_get0_certificate(c.ctx.get());
    if (X509_check_host(cert, name.c_str(), name.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1)
      return c.ctx.get();
  }
  return default_context();
}

ConnectionFacts connection_facts(SSL* ssl) {
  auto n = negotiated(ssl);
  ConnectionFacts f{.version = std::string(to_string(n.version)),
                    .cipher_iana = std::move(n.cipher.iana),
                    .cipher_openssl = std::move(n.cipher.openssl),
                    .cipher_bits = n.cipher.bits,
                    .group = std::move(n.group),
                    .signature_scheme = std::move(n.signature_scheme),
                    .sni = std::move(n.sni),
                    .alpn = std::move(n.alpn),
                    .resumed = n.resumed};
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    f.client_certificate = pki::describe(peer).subject;
    f.client_certificate_verified = SSL_get_verify_result(ssl) == X509_V_OK;
  }
  return f;
}

}  // namespace tlslab::tls
