// Building the client SSL_CTX from ClientOptions, with errors that name the option at fault.
#pragma once

#include <vector>

#include "base/failure.hpp"
#include "ossl/ptr.hpp"
#include "tls/client_options.hpp"
#include "tls/trust.hpp"

namespace tlslab::tls {

struct ClientContext {
  ossl::Ptr<SSL_CTX> ctx;
  TrustStoreInfo trust;
  bool lowered_security = false;  // TLS 1.0/1.1 asked for: security level 0 was needed
  int crls = 0;                   // CRLs loaded from --crlfile
};

// make_client_context builds the context; Failure{Usage} for a bad protocol option,
// Failure{CaFile} for the trust store, Failure{CrlFile} for --crlfile, Failure{ClientCert} for
// --cert/--key.
[[nodiscard]] ClientContext make_client_context(const ClientOptions& options);

// parse_tls_version maps "1.0".."1.3" (also "tls1.2", "TLSv1.2") to OpenSSL's constant;
// Failure{Usage} naming option otherwise.
[[nodiscard]] int parse_tls_version(const std::string& text, const char* option);

// alpn_wire encodes protocol names in the ALPN wire format (length-prefixed).
[[nodiscard]] std::string alpn_wire(const std::vector<std::string>& protocols);

// enable_keylog makes ctx append NSS key-log lines (SSLKEYLOGFILE format) to path, created 0600.
// One file per process; later calls with another path are an error.
void enable_keylog(SSL_CTX* ctx, const std::string& path);

// use_certificate_and_key loads a certificate chain (PEM, leaf first) and its key into ctx, with
// errors of the given kind naming the file and the reason (mismatched key, no certificate...).
void use_certificate_and_key(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file, Kind kind);
// use_certificate_and_key over objects in memory: chain is the leaf then its issuers; cert_source
// and key_source name them in errors.
void use_certificate_and_key(SSL_CTX* ctx, const std::vector<X509*>& chain, EVP_PKEY* key,
                             const std::string& cert_source, const std::string& key_source, Kind kind);

}  // namespace tlslab::tls
