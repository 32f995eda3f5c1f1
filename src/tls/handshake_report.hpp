// tls::HandshakeReport — the facts of a finished handshake, read from an SSL*. Prints nothing.
#pragma once

#include <string>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"
#include "tls/negotiated.hpp"

namespace tlslab::tls {

// HandshakeReport is what a client learnt: what was negotiated (sni: the name it sent), and the
// rest of the server's answer.
struct HandshakeReport : Negotiated {
  bool session_ticket = false;  // the server sent a ticket
  bool ocsp_stapled = false;
  bool extended_master_secret = false;
  bool secure_renegotiation = false;
  std::string client_certificate;  // subject of the certificate we sent, "" if none
  bool client_certificate_requested = false;
  std::vector<pki::CertInfo> peer_chain;      // as the server sent it, leaf first
  std::vector<pki::CertInfo> verified_chain;  // leaf to anchor, as verification built it
};

// read_handshake copies the facts out of an SSL whose handshake has completed.
[[nodiscard]] HandshakeReport read_handshake(SSL* ssl);

}  // namespace tlslab::tls
