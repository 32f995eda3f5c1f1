#include "pki/csr.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "ossl/pem.hpp"
#include "pki/cert_info.hpp"
#include "support/failure.hpp"

namespace tlslab::pki {
namespace {

using tlslab::testing::failure_message;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// make_csr builds a request the way `openssl req` does: subject, optional SAN extension, signed.
std::string make_csr(const std::string& cn, const std::string& san, EVP_PKEY* key) {
  ossl::Ptr<X509_REQ> req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Bank32"), -1, -1, 0);
  if (!cn.empty())
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                               0);
  X509_REQ_set_pubkey(req.get(), key);
  if (!san.empty()) {
    ossl::Ptr<STACK_OF(X509_EXTENSION)> exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    sk_X509_EXTENSION_push(exts.get(), ext);
    X509_REQ_add_extensions(req.get(), exts.get());
  }
  X509_REQ_sign(req.get(), key, EVP_sha256());
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return ossl::bio_text(bio.get());
}

class Csr : public ::testing::Test {
 protected:
  Ca ca = Ca::create({.name = "Lab"});
  ossl::Ptr<EVP_PKEY> key = generate_key(KeyKind::EcP256);
};

TEST_F(Csr, SignsForCommandLineNamesIgnoringTheRequestedOnes) {
  auto req = read_csr(make_csr("www.bank32.com", "DNS:evil.com", key.get()), "req.csr");
  auto signed_csr = sign_csr(ca, req.get(), "req.csr", {.names = {"www.bank32.com", "bank32.com"}});
  auto info = describe(signed_csr.issued.cert.get());
  EXPECT_EQ(info.subject, "O=Bank32, CN=www.bank32.com");
  ASSERT_EQ(info.sans.size(), 2u);
  EXPECT_EQ(info.sans[1].value, "bank32.com");
  EXPECT_EQ(signed_csr.names_from, "the command line");
  EXPECT_FALSE(signed_csr.issued.key);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(signed_csr.issued.cert.get()), key.get()), 1);
}

TEST_F(Csr, CopiesSansWhenAsked) {
  auto req = read_csr(make_csr("x", "DNS:www.bank32.com,IP:127.0.0.1,IP:::1,email:me@bank32.com", key.get()), "r");
  EXPECT_THAT(csr_alt_names(req.get(), "r"), ElementsAre("www.bank32.com", "127.0.0.1", "::1", "me@bank32.com"));
  auto signed_csr = sign_csr(ca, req.get(), "r", {.copy_sans = true});
  EXPECT_EQ(signed_csr.names.size(), 4u);
  EXPECT_EQ(signed_csr.names_from, "the CSR's subjectAltName");
}

TEST_F(Csr, FallsBackToTheCommonName) {
  auto req = read_csr(make_csr("api.bank32.com", "", key.get()), "r");
  auto signed_csr = sign_csr(ca, req.get(), "r", {});
  ASSERT_EQ(signed_csr.names.size(), 1u);
  EXPECT_EQ(signed_csr.names[0].value, "api.bank32.com");
  EXPECT_EQ(signed_csr.names_from, "the CSR's common name");
}

TEST_F(Csr, RefusesBadInput) {
  auto pem = make_csr("www.bank32.com", "", key.get());
  // Flip one byte inside the base64 of the signature (near the end of the block).
  auto end = pem.find("-----END");
  pem[end - 10] = pem[end - 10] == 'A' ? 'B' : 'A';
  EXPECT_THAT(failure_message([&] { (void)read_csr(pem, "tampered.csr"); }, Kind::Input),
              HasSubstr("tampered.csr: the request's signature does not verify"));
  EXPECT_THROW((void)read_csr("junk", "junk.csr"), Failure);
  auto no_cn = read_csr(make_csr("", "", key.get()), "r");
  EXPECT_THROW((void)sign_csr(ca, no_cn.get(), "r", {}), Failure);
  EXPECT_THROW((void)sign_csr(ca, no_cn.get(), "r", {.copy_sans = true}), Failure);
  auto bad_san = read_csr(make_csr("x", "DNS:a.*.com", key.get()), "r");
  EXPECT_THAT(failure_message([&] { (void)sign_csr(ca, bad_san.get(), "r", {.copy_sans = true}); }, Kind::Input),
              HasSubstr("invalid name \"a.*.com\""));
  auto uri = read_csr(make_csr("x", "URI:https://bank32.com/", key.get()), "r");
  EXPECT_THROW((void)sign_csr(ca, uri.get(), "r", {.copy_sans = true}), Failure);
}

}  // namespace
}  // namespace tlslab::pki
