// ossl::Ptr<T> — OpenSSL objects owned by unique_ptr with the right *_free.
//
// Feature code never calls *_free directly: it holds a Ptr, and hands ownership to OpenSSL with
// .release() right after the call that takes it. up_ref() makes a second owner of a
// reference-counted object.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace tlslab::ossl {

template <class T>
struct Deleter;

#define TLSLAB_OSSL_DELETER(type, fn)                  \
  template <>                                          \
  struct Deleter<type> {                               \
    void operator()(type* p) const noexcept { fn(p); } \
  }

TLSLAB_OSSL_DELETER(X509, X509_free);
TLSLAB_OSSL_DELETER(X509_REQ, X509_REQ_free);
TLSLAB_OSSL_DELETER(X509_NAME, X509_NAME_free);
TLSLAB_OSSL_DELETER(X509_STORE, X509_STORE_free);
TLSLAB_OSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
TLSLAB_OSSL_DELETER(X509_EXTENSION, X509_EXTENSION_free);
TLSLAB_OSSL_DELETER(X509_CRL, X509_CRL_free);
TLSLAB_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
TLSLAB_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
TLSLAB_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
TLSLAB_OSSL_DELETER(BIO, BIO_free_all);
TLSLAB_OSSL_DELETER(BIGNUM, BN_free);
// ASN1_INTEGER, ASN1_TIME, ASN1_OCTET_STRING... are all ASN1_STRING underneath.
TLSLAB_OSSL_DELETER(ASN1_STRING, ASN1_STRING_free);
TLSLAB_OSSL_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
TLSLAB_OSSL_DELETER(GENERAL_NAME, GENERAL_NAME_free);
TLSLAB_OSSL_DELETER(BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free);
TLSLAB_OSSL_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free);
TLSLAB_OSSL_DELETER(AUTHORITY_KEYID, AUTHORITY_KEYID_free);
TLSLAB_OSSL_DELETER(NAME_CONSTRAINTS, NAME_CONSTRAINTS_free);
TLSLAB_OSSL_DELETER(SSL_CTX, SSL_CTX_free);
TLSLAB_OSSL_DELETER(SSL, SSL_free);
TLSLAB_OSSL_DELETER(SSL_SESSION, SSL_SESSION_free);
TLSLAB_OSSL_DELETER(X509_VERIFY_PARAM, X509_VERIFY_PARAM_free);
TLSLAB_OSSL_DELETER(OCSP_RESPONSE, OCSP_RESPONSE_free);
TLSLAB_OSSL_DELETER(OCSP_BASICRESP, OCSP_BASICRESP_free);
TLSLAB_OSSL_DELETER(OCSP_CERTID, OCSP_CERTID_free);

#undef TLSLAB_OSSL_DELETER

// Stacks free their elements too.
template <>
struct Deleter<STACK_OF(X509)> {
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_pop_free(p, X509_free); }
};
template <>
struct Deleter<STACK_OF(X509_INFO)> {
  void operator()(STACK_OF(X509_INFO) * p) const noexcept { sk_X509_INFO_pop_free(p, X509_INFO_free); }
};
template <>
struct Deleter<STACK_OF(X509_EXTENSION)> {
  void operator()(STACK_OF(X509_EXTENSION) * p) const noexcept { sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free); }
};
template <>
struct Deleter<GENERAL_NAMES> {
  void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
};

template <class T>
using Ptr = std::unique_ptr<T, Deleter<T>>;

// UpRef<T> names the *_up_ref function of a reference-counted type; up_ref() takes only these.
template <class T>
struct UpRef;

#define TLSLAB_OSSL_UP_REF(type, fn)                   \
  template <>                                          \
  struct UpRef<type> {                                 \
    static void add(type* p) noexcept { (void)fn(p); } \
  }

TLSLAB_OSSL_UP_REF(X509, X509_up_ref);
TLSLAB_OSSL_UP_REF(X509_CRL, X509_CRL_up_ref);
TLSLAB_OSSL_UP_REF(X509_STORE, X509_STORE_up_ref);
TLSLAB_OSSL_UP_REF(EVP_PKEY, EVP_PKEY_up_ref);
TLSLAB_OSSL_UP_REF(SSL_CTX, SSL_CTX_up_ref);
TLSLAB_OSSL_UP_REF(SSL_SESSION, SSL_SESSION_up_ref);

#undef TLSLAB_OSSL_UP_REF

// up_ref returns a new owner of a reference-counted object (those with an UpRef above); null stays null.
template <class T>
[[nodiscard]] Ptr<T> up_ref(T* p) {
  if (p) UpRef<T>::add(p);
  return Ptr<T>(p);
}

}  // namespace tlslab::ossl
