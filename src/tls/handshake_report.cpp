#include "tls/handshake_report.hpp"

#include <openssl/ssl.h>

namespace tlslab::tls {

HandshakeReport read_handshake(SSL* ssl) {
  HandshakeReport r{negotiated(ssl)};
  // Each certificate is described once: the verified path mostly repeats the chain sent.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) r.peer_chain.push_back(pki::describe(sk_X509_value(chain, i)));
  }
  if (STACK_OF(X509)* verified = SSL_get0_verified_chain(ssl)) {
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; i < sk_X509_num(verified); ++i) {
      X509* cert = sk_X509_value(verified, i);
      bool sent = chain && i < sk_X509_num(chain) && X509_cmp(cert, sk_X509_value(chain, i)) == 0;
      r.verified_chain.push_back(sent ? r.peer_chain[static_cast<size_t>(i)] : pki::describe(cert));
    }
  }
  const unsigned char* ocsp = nullptr;
  r.ocsp_stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp) > 0;
  r.extended_master_secret = SSL_get_extms_support(ssl) == 1;
  r.secure_renegotiation = SSL_get_secure_renegotiation_support(ssl) == 1;
  if (X509* mine = SSL_get_certificate(ssl); mine && SSL_get_privatekey(ssl))
    r.client_certificate = pki::describe(mine).subject;
  return r;
}

}  // namespace tlslab::tls
