#include "support/cert_factory.hpp"

#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <stdexcept>

namespace tlslab::testing {
namespace {

void need(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("cert factory: ") + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  need(ext != nullptr, "extension");
  need(X509_add_ext(cert, ext.get(), -1) == 1, "add extension");
}

}  // namespace

ossl::Ptr<EVP_PKEY> make_key(const std::string& kind) {
  EVP_PKEY* key = nullptr;
  if (kind == "ec-p256")
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  else if (kind == "ec-p384")
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  else if (kind == "rsa-2048")
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  else if (kind == "rsa-1024")
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
  else if (kind == "ed25519")
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  need(key != nullptr, "key generation");
  return ossl::Ptr<EVP_PKEY>(key);
}

Issued issue(const CertSpec& spec, const Issued* issuer) {
  Issued out;
  out.key = make_key(spec.key);
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  need(X509_set_version(cert, X509_VERSION_3) == 1, "version");
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  ossl::Ptr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert));
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_days * 86400);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("tlslab tests"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : out.key.get();
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509_set_pubkey(cert, out.key.get());
  add_ext(cert, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(cert, issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (spec.ca) {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert, issuer_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  }
  std::string san;
  for (const auto& d : spec.dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : spec.ips) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_ext(cert, issuer_cert, NID_subject_alt_name, san);
  if (!spec.eku.empty()) {
    std::string eku;
    for (const auto& e : spec.eku) eku += (eku.empty() ? "" : ",") + e;
    add_ext(cert, issuer_cert, NID_ext_key_usage, eku);
  }
  const EVP_MD* md = nullptr;
  if (EVP_PKEY_get_base_id(signing_key) != EVP_PKEY_ED25519) md = spec.digest == "sha1" ? EVP_sha1() : EVP_sha256();
  need(X509_sign(cert, signing_key, md) > 0, "sign");
  return out;
}

}  // namespace tlslab::testing
