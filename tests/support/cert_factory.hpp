// testing::CertFactory — certificates made at test time, independent of the code under test.
//
// Builds keys and certificates directly with OpenSSL's API so unit tests never depend on
// fixtures nobody can regenerate, nor on tlslab's own CA code (which they may be testing).
#pragma once

#include <string>
#include <vector>

#include "ossl/ptr.hpp"

namespace tlslab::testing {

struct CertSpec {
  std::string common_name = "test";
  std::vector<std::string> dns;  // subjectAltName DNS entries
  std::vector<std::string> ips;  // subjectAltName IP entries
  long not_before_days = -1;     // relative to now
  long not_after_days = 30;
  bool ca = false;
  std::vector<std::string> eku;   // "serverAuth", "clientAuth"
  std::string key = "ec-p256";    // "ec-p256", "rsa-2048", "rsa-1024", "ed25519"
  std::string digest = "sha256";  // "sha1" for weak-signature tests
};

struct Issued {
  ossl::Ptr<X509> cert;
  ossl::Ptr<EVP_PKEY> key;
};

// make_key returns a fresh key of the given kind ("ec-p256", "rsa-2048", ...).
ossl::Ptr<EVP_PKEY> make_key(const std::string& kind);

// issue makes a certificate for spec, signed by issuer (self-signed when issuer is null).
Issued issue(const CertSpec& spec, const Issued* issuer = nullptr);

}  // namespace tlslab::testing
