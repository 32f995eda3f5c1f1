#include "pki/x509_build.hpp"

#include <openssl/rsa.h>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "ossl/error.hpp"
#include "pki/keys.hpp"

namespace tlslab::pki::build {
namespace {

void need(int ok, const char* what) {
  if (ok <= 0) ossl::fail(Kind::Generic, fmt::format("building a certificate: {}", what));
}

ossl::Ptr<ASN1_STRING> ia5(const std::string& text) {
  ossl::Ptr<ASN1_STRING> s(ASN1_IA5STRING_new());
  need(s && ASN1_STRING_set(s.get(), text.data(), static_cast<int>(text.size())), "an IA5String");
  return s;
}

ossl::Ptr<ASN1_STRING> octets(const std::string& bytes) {
  ossl::Ptr<ASN1_STRING> s(ASN1_OCTET_STRING_new());
  need(s && ASN1_OCTET_STRING_set(s.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size())),
       "an OCTET STRING");
  return s;
}

GENERAL_NAME* general_name(int type, ossl::Ptr<ASN1_STRING> value) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  need(gn != nullptr, "a GeneralName");
  GENERAL_NAME_set0_value(gn, type, value.release());
  return gn;
}

void add_ext(X509* cert, int nid, void* value, bool critical, const char* what) {
  need(X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT), what);
}

void push_subtree(STACK_OF(GENERAL_SUBTREE) * trees, GENERAL_NAME* base) {
  GENERAL_SUBTREE* tree = GENERAL_SUBTREE_new();
  need(tree != nullptr, "a GeneralSubtree");
  GENERAL_NAME_free(tree->base);
  tree->base = base;
  if (!sk_GENERAL_SUBTREE_push(trees, tree)) {
    GENERAL_SUBTREE_free(tree);
    need(0, "a name constraint");
  }
}

}  // namespace

void set_random_serial(X509* cert) {
  unsigned char bytes[16];
  need(RAND_bytes(bytes, sizeof bytes), "a random serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // and never shorter than 127 bits, so no leading zero octet is possible
  ossl::Ptr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  need(bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr, "the serial number");
}

void set_validity(X509* cert, std::int64_t not_before, std::int64_t not_after) {
  need(ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before)) != nullptr, "notBefore");
  need(ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after)) != nullptr, "notAfter");
}

ossl::Ptr<X509_NAME> common_name_subject(const std::string& cn, const std::string& organization) {
  ossl::Ptr<X509_NAME> name(X509_NAME_new());
  need(name != nullptr, "a name");
  if (!organization.empty())
    need(X509_NAME_add_entry_by_NID(name.get(), NID_organizationName, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(organization.data()),
                                    static_cast<int>(organization.size()), -1, 0),
         "the organization name");
  // RFC 5280 Appendix A: ub-common-name is 64 characters; a longer first name stays in the SAN only.
  if (!cn.empty() && cn.size() <= 64)
    need(X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()), -1,
                                    0),
         "the common name");
  return name;
}

void add_basic_constraints(X509* cert, bool ca, long path_len) {
  ossl::Ptr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  need(bc != nullptr, "basicConstraints");
  bc->ca = ca ? 0xff : 0;
  if (ca && path_len >= 0) {
    bc->pathlen = ASN1_INTEGER_new();
    need(bc->pathlen && ASN1_INTEGER_set(bc->pathlen, path_len), "pathLenConstraint");
  }
  add_ext(cert, NID_basic_constraints, bc.get(), true, "basicConstraints");
}

void add_key_usage(X509* cert, unsigned bits) {
  ossl::Ptr<ASN1_STRING> ku(ASN1_BIT_STRING_new());
  need(ku != nullptr, "keyUsage");
  // KU_* constants are the DER bit values: bit n of the BIT STRING is 0x80 >> n of byte 0.
  for (int n = 0; n < 9; ++n) {
    unsigned mask = n < 8 ? (0x80u >> n) : 0x8000u;
    if (bits & mask) need(ASN1_BIT_STRING_set_bit(ku.get(), n, 1), "keyUsage");
  }
  add_ext(cert, NID_key_usage, ku.get(), true, "keyUsage");
}

void add_extended_key_usage(X509* cert, const std::vector<int>& nids) {
  ossl::Ptr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
  need(eku != nullptr, "extendedKeyUsage");
  for (int nid : nids) need(sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(nid)), "extendedKeyUsage");
  add_ext(cert, NID_ext_key_usage, eku.get(), false, "extendedKeyUsage");
}

void add_subject_alt_names(X509* cert, const std::vector<Name>& names, bool critical) {
  ossl::Ptr<GENERAL_NAMES> gens(sk_GENERAL_NAME_new_null());
  need(gens != nullptr, "subjectAltName");
  for (const auto& name : names) {
    GENERAL_NAME* gn = nullptr;
    switch (name.kind) {
      case NameKind::Dns:
      case NameKind::Wildcard:
        gn = general_name(GEN_DNS, ia5(name.value));
        break;
      case NameKind::Ipv4:
      case NameKind::Ipv6:
        gn = general_name(GEN_IPADD, octets(name.ip_bytes));
        break;
      case NameKind::Email:
        gn = general_name(GEN_EMAIL, ia5(name.value));
        break;
    }
    if (!sk_GENERAL_NAME_push(gens.get(), gn)) {
      GENERAL_NAME_free(gn);
      need(0, "subjectAltName");
    }
  }
  add_ext(cert, NID_subject_alt_name, gens.get(), critical, "subjectAltName");
}

std::string add_subject_key_id(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  need(X509_pubkey_digest(cert, EVP_sha1(), digest, &len), "subjectKeyIdentifier");
  std::string id(reinterpret_cast<char*>(digest), len);
  auto value = octets(id);
  add_ext(cert, NID_subject_key_identifier, value.get(), false, "subjectKeyIdentifier");
  return id;
}

void add_authority_key_id(X509* cert, const std::string& key_id) {
  ossl::Ptr<AUTHORITY_KEYID> aki(AUTHORITY_KEYID_new());
  need(aki != nullptr, "authorityKeyIdentifier");
  aki->keyid = octets(key_id).release();
  add_ext(cert, NID_authority_key_identifier, aki.get(), false, "authorityKeyIdentifier");
}

void add_dns_name_constraints(X509* cert, const std::vector<std::string>& permitted_dns) {
  ossl::Ptr<NAME_CONSTRAINTS> nc(NAME_CONSTRAINTS_new());
  need(nc != nullptr, "nameConstraints");
  nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  nc->excludedSubtrees = sk_GENERAL_SUBTREE_new_null();
  need(nc->permittedSubtrees && nc->excludedSubtrees, "nameConstraints");
  for (const auto& dns : permitted_dns) push_subtree(nc->permittedSubtrees, general_name(GEN_DNS, ia5(dns)));
  // An iPAddress subtree is address + mask (RFC 5280 §4.2.1.10): all zeros is 0.0.0.0/0 and ::/0.
  push_subtree(nc->excludedSubtrees, general_name(GEN_IPADD, octets(std::string(8, '\0'))));
  push_subtree(nc->excludedSubtrees, general_name(GEN_IPADD, octets(std::string(32, '\0'))));
  // RFC 5280 §4.2.1.10: conforming CAs MUST mark this extension critical.
  add_ext(cert, NID_name_constraints, nc.get(), true, "nameConstraints");
}

void sign(X509* cert, EVP_PKEY* key) { need(X509_sign(cert, key, signature_digest(key)), "the signature"); }

void sign_pss(X509* cert, EVP_PKEY* key) {
  ossl::Ptr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  need(md && EVP_DigestSignInit(md.get(), &pctx, EVP_sha256(), nullptr, key) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 && X509_sign_ctx(cert, md.get()) > 0,
       "the RSA-PSS signature");
}

std::string subject_key_id(X509* cert) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert))
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                       static_cast<size_t>(ASN1_STRING_length(ski)));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  need(X509_pubkey_digest(cert, EVP_sha1(), digest, &len), "subjectKeyIdentifier");
  return std::string(reinterpret_cast<char*>(digest), len);
}

}  // namespace tlslab::pki::build
