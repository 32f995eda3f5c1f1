// pki csr — signing a certificate signing request made elsewhere (`openssl req`, the lab's way).
//
// read_csr() parses a request and refuses one whose signature does not verify with its own key
// (altered in transit, or not made by the key's holder). sign_csr() certifies the request's key
// and subject for the names given on the command line; the request's own extensions are ignored
// unless copy_sans asks to take its subjectAltName (each entry validated like a typed name).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/ca.hpp"

namespace tlslab::pki {

// read_csr parses a PEM or DER request from data and checks its signature; `source` names it in
// errors. Failures are Failure{Kind::Input}.
[[nodiscard]] ossl::Ptr<X509_REQ> read_csr(std::string_view data, std::string_view source);

// csr_alt_names returns the subjectAltName entries the request asks for, as text ("www.x.com",
// "127.0.0.1", "me@x.com"); a type tlslab cannot issue (URI, directoryName...) throws Failure{Kind::Input}.
[[nodiscard]] std::vector<std::string> csr_alt_names(X509_REQ* req, std::string_view source);

// csr_common_name returns the request's subject CN as UTF-8, "" if none.
[[nodiscard]] std::string csr_common_name(X509_REQ* req);

struct SignOptions {
  std::vector<std::string> names;  // certify these; empty: see copy_sans
  bool copy_sans = false;          // certify the request's subjectAltName (empty names only)
  bool client = false;
  int days = kDefaultLeafDays;
  bool force = false;  // certify names outside the CA's name constraints too
};

struct SignedCsr {
  IssuedCert issued;
  std::vector<Name> names;  // what the certificate holds
  std::string names_from;   // "the command line", "the CSR's subjectAltName", "the CSR's common name"
};

// sign_csr certifies req's key and subject. Names come from options.names, else the request's
// subjectAltName with copy_sans, else its common name; none of those is a Failure{Kind::Usage}, and
// so is a name outside the CA's name constraints, unless options.force.
[[nodiscard]] SignedCsr sign_csr(const Ca& ca, X509_REQ* req, std::string_view source, const SignOptions& options);

}  // namespace tlslab::pki
