// pki x509_build — small steps that fill in an X509 being built: serial, validity, names and the
// extensions tlslab issues. Each builds the ASN.1 structure directly (no config-string parsing),
// because the leaf path runs thousands of times for the proxy's forge cache.
//
// Every function throws Failure{Kind::Generic} naming the field if OpenSSL refuses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/names.hpp"

namespace tlslab::pki::build {

// set_random_serial gives cert a positive random serial of 127 bits (RFC 5280 §4.1.2.2 caps
// serials at 20 octets; the CA/Browser Forum asks for at least 64 random bits).
void set_random_serial(X509* cert);

// set_validity sets notBefore/notAfter to the given epoch seconds.
void set_validity(X509* cert, std::int64_t not_before, std::int64_t not_after);

// common_name_subject returns a subject holding CN=cn, plus O=organization when not empty.
[[nodiscard]] ossl::Ptr<X509_NAME> common_name_subject(const std::string& cn, const std::string& organization = {});

// add_basic_constraints adds a critical basicConstraints; path_len < 0 means no pathLenConstraint.
void add_basic_constraints(X509* cert, bool ca, long path_len = -1);

// add_key_usage adds a critical keyUsage holding the KU_* bits of `bits`.
void add_key_usage(X509* cert, unsigned bits);

// add_extended_key_usage adds extendedKeyUsage with the given NIDs (NID_server_auth...).
void add_extended_key_usage(X509* cert, const std::vector<int>& nids);

// add_subject_alt_names adds subjectAltName with one entry per name (DNS, IP, rfc822Name), critical
// when the subject is empty (RFC 5280 §4.2.1.6).
void add_subject_alt_names(X509* cert, const std::vector<Name>& names, bool critical);

// add_subject_key_id adds the SHA-1 of cert's public key bits (RFC 5280 §4.2.1.2 method 1) and
// returns it; cert's public key must be set.
std::string add_subject_key_id(X509* cert);

// add_authority_key_id adds authorityKeyIdentifier holding key_id (the issuer's subjectKeyIdentifier).
void add_authority_key_id(X509* cert, const std::string& key_id);

// add_dns_name_constraints adds critical nameConstraints permitting the DNS subtrees and, since a
// DNS constraint alone leaves IP addresses unconstrained, excluding every IPv4 and IPv6 address.
void add_dns_name_constraints(X509* cert, const std::vector<std::string>& permitted_dns);

// sign signs cert with key using signature_digest(key).
void sign(X509* cert, EVP_PKEY* key);
// sign_pss signs cert with an RSA key using RSASSA-PSS, SHA-256 and a salt as long as the digest:
// the signature TLS 1.3 calls rsa_pss_rsae_sha256 in a certificate (RFC 8446 §4.2.3).
void sign_pss(X509* cert, EVP_PKEY* key);

// subject_key_id returns the subjectKeyIdentifier of cert, or the SHA-1 of its public key bits
// when the extension is absent (certificates made elsewhere).
[[nodiscard]] std::string subject_key_id(X509* cert);

}  // namespace tlslab::pki::build
