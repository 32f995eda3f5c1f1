// Server-side TLS: the SSL_CTX set a server uses, chosen per connection by SNI.
//
// One SSL_CTX per certificate; the first is the default and the one every handshake starts on. Its
// servername callback switches a connection to the context whose certificate carries the name
// the client asked for (SSL_set_SSL_CTX), as nginx does. Session tickets and the session cache
// belong to the default context, so resumption works whichever certificate was used.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/ca.hpp"
#include "pki/cert_info.hpp"

namespace tlslab::tls {

struct ServerCertFiles {
  std::string cert_file;  // PEM: leaf first, then its chain
  std::string key_file;
  std::string sni;  // serve this certificate for this name only ("" = by its SANs)
  // A certificate made in memory (tlslab serve without --cert) instead of the files; cert_file
  // then only names it in messages.
  std::shared_ptr<const pki::IssuedCert> issued;
};

struct ServerTlsOptions {
  std::vector<ServerCertFiles> certs;
  std::string tls_min = "1.2";
  std::string tls_max;
  std::string ciphers;       // TLS <= 1.2
  std::string ciphersuites;  // TLS 1.3
  std::string groups;        // default X25519:P-256:P-384
  std::vector<std::string> alpn = {"http/1.1"};
  bool resumption = true;       // tickets + session cache
  std::string ticket_key_file;  // 80 bytes shared by instances: name(16) hmac(32) aes(32)
  std::string client_ca_file;   // mTLS trust
  std::string verify_client;    // "", "optional", "required"
  std::string ocsp_file;        // DER OCSP response to staple
  std::string keylog_file;      // NSS key log of every connection; "" = none
  std::string keylog_variable;  // "SSLKEYLOGFILE" when keylog_file came from it: errors name it
};

struct LoadedCert {
  pki::CertInfo info;
  std::string source;  // the file it came from
  ossl::Ptr<SSL_CTX> ctx;
  std::string sni;
};

// ServerContexts holds the contexts of one configuration; a reload builds a new one.
class ServerContexts {
 public:
  // load builds every context; Failure{Input} naming the file, or Failure{Usage} for options.
  static std::shared_ptr<ServerContexts> load(const ServerTlsOptions& options);

  // default_context is where every handshake starts.
  [[nodiscard]] SSL_CTX* default_context() const { return certs_.front().ctx.get(); }
  [[nodiscard]] const std::vector<LoadedCert>& certs() const { return certs_; }

  // select returns the context for a client's SNI (default when none matches).
  [[nodiscard]] SSL_CTX* select(const char* servername) const;

 private:
  std::vector<LoadedCert> certs_;
  std::string ocsp_;
};

// ConnectionFacts is what a server's page and log show of a connection: what was negotiated
// (tls::negotiated), flattened, and the client's certificate.
struct ConnectionFacts {
  std::string version;  // "TLSv1.3", as to_string(TlsVersion) names it
  std::string cipher_iana;
  std::string cipher_openssl;
  int cipher_bits = 0;
  std::string group;
  std::string signature_scheme;  // the server's handshake signature
  std::string sni;
  std::string alpn;
  bool resumed = false;
  std::string client_certificate;  // subject, "" if none
  bool client_certificate_verified = false;
};

// connection_facts reads what the built-in page shows about a server-side connection.
[[nodiscard]] ConnectionFacts connection_facts(SSL* ssl);

}  // namespace tlslab::tls
