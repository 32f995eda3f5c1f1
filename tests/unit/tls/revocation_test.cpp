#include "tls/revocation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>

#include "base/failure.hpp"
#include "pki/cert_info.hpp"
#include "support/cert_factory.hpp"
#include "tls/verify.hpp"

namespace tlslab::tls {
namespace {

using ::testing::HasSubstr;
using tlslab::testing::CertSpec;
using tlslab::testing::issue;
using tlslab::testing::Issued;

constexpr std::int64_t day = 86400;

// make_crl returns a CRL signed by ca that lists revoked (revoked a day before `now`, for reason
// unless it is -1), valid from this_update to next_update (days from now).
ossl::Ptr<X509_CRL> make_crl(const Issued& ca, const std::vector<X509*>& revoked, int reason, long this_update = -1,
                             long next_update = 7) {
  ossl::Ptr<X509_CRL> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert.get()));
  ossl::Ptr<ASN1_STRING> last(X509_gmtime_adj(nullptr, this_update * day));
  ossl::Ptr<ASN1_STRING> next(X509_gmtime_adj(nullptr, next_update * day));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (X509* cert : revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(cert));
    ossl::Ptr<ASN1_STRING> when(X509_gmtime_adj(nullptr, -day));
    X509_REVOKED_set_revocationDate(entry, when.get());
    if (reason >= 0) {
      ossl::Ptr<ASN1_STRING> code(ASN1_ENUMERATED_new());
      ASN1_ENUMERATED_set(code.get(), reason);
      X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, code.get(), 0, 0);
    }
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), ca.key.get(), EVP_sha256());
  return crl;
}

class Revoked : public ::testing::Test {
 protected:
  Issued root = issue(CertSpec{.common_name = "Root", .ca = true});
  Issued inter = issue(CertSpec{.common_name = "Intermediate", .ca = true}, &root);
  Issued leaf = issue(CertSpec{.common_name = "www.bank32.com", .dns = {"www.bank32.com"}}, &inter);
  std::int64_t now = pki::now_epoch();
};

TEST_F(Revoked, CrlEntryGivesDateAndReason) {
  auto crl = make_crl(inter, {leaf.cert.get()}, 1);
  auto p = explain_problem(0, X509_V_ERR_CERT_REVOKED, leaf.cert.get(), {}, now, crl.get());
  EXPECT_THAT(p.reason, HasSubstr("revoked on " + pki::format_time(now - day).substr(0, 10)));
  EXPECT_THAT(p.reason, HasSubstr("(1 day ago), reason keyCompromise"));
  EXPECT_THAT(p.reason, HasSubstr("CRL of 'O=tlslab tests, CN=Intermediate'"));
  ASSERT_TRUE(p.revocation);
  EXPECT_EQ(p.revocation->reason, "keyCompromise");
  EXPECT_FALSE(p.fix.empty());
  // A CRL entry without a reason says so.
  auto plain = make_crl(inter, {leaf.cert.get()}, -1);
  p = explain_problem(0, X509_V_ERR_CERT_REVOKED, leaf.cert.get(), {}, now, plain.get());
  EXPECT_THAT(p.reason, HasSubstr("no reason given"));
}

TEST_F(Revoked, CrlProblemsAreExplained) {
  auto p = explain_problem(1, X509_V_ERR_UNABLE_TO_GET_CRL, inter.cert.get(), {}, now);
  EXPECT_THAT(p.reason, HasSubstr("no CRL from its issuer 'O=tlslab tests, CN=Root'"));
  EXPECT_THAT(p.fix, HasSubstr("--crlfile"));
  auto old = make_crl(inter, {}, -1, -10, -2);
  p = explain_problem(0, X509_V_ERR_CRL_HAS_EXPIRED, leaf.cert.get(), {}, now, old.get());
  EXPECT_THAT(p.reason, HasSubstr("out of date: its next update was due on"));
  EXPECT_THAT(p.reason, HasSubstr("(2 days ago)"));
  auto early = make_crl(inter, {}, -1, 3, 10);
  p = explain_problem(0, X509_V_ERR_CRL_NOT_YET_VALID, leaf.cert.get(), {}, now, early.get());
  EXPECT_THAT(p.reason, HasSubstr("not valid yet"));
  EXPECT_TRUE(is_crl_problem(X509_V_ERR_CERT_REVOKED));
  EXPECT_FALSE(is_crl_problem(X509_V_ERR_CERT_HAS_EXPIRED));
}

TEST(CrlReason, NamesFromRfc5280) {
  EXPECT_EQ(crl_reason_name(0), "unspecified");
  EXPECT_EQ(crl_reason_name(1), "keyCompromise");
  EXPECT_EQ(crl_reason_name(5), "cessationOfOperation");
  EXPECT_EQ(crl_reason_name(10), "aACompromise");
  EXPECT_EQ(crl_reason_name(-1), "");
  EXPECT_EQ(crl_reason_name(42), "unknown reason 42");
}

TEST(CrlFile, RefusesWhatIsNotACrl) {
  for (std::string_view bad : {"", "hello", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
                               "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}) {
    try {
      (void)parse_crls(bad, "CRL file crl.pem");
      ADD_FAILURE() << bad << " accepted";
    } catch (const Failure& f) {
      EXPECT_EQ(f.kind(), Kind::CrlFile);
      EXPECT_THAT(f.what(), HasSubstr("crl.pem"));
    }
  }
}

// Stapled OCSP responses, made here with OpenSSL's responder API.
class Staple : public Revoked {
 protected:
  ossl::Ptr<X509_STORE> store{X509_STORE_new()};
  ossl::Ptr<STACK_OF(X509)> sent{sk_X509_new_null()};

  void SetUp() override {
    X509_STORE_add_cert(store.get(), root.cert.get());
    sk_X509_push(sent.get(), ossl::up_ref(leaf.cert.get()).release());
    sk_X509_push(sent.get(), ossl::up_ref(inter.cert.get()).release());
  }

  // response returns a DER OCSP response about subject, signed by signer.
  std::string response(int status, const Issued& signer, X509* subject, long next_update_days = 1,
                       int reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE) {
    ossl::Ptr<OCSP_BASICRESP> basic(OCSP_BASICRESP_new());
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, subject, inter.cert.get());
    ossl::Ptr<ASN1_STRING> this_update(X509_gmtime_adj(nullptr, -3600));
    ossl::Ptr<ASN1_STRING> next_update(X509_gmtime_adj(nullptr, next_update_days * day));
    ossl::Ptr<ASN1_STRING> revoked(X509_gmtime_adj(nullptr, -2 * day));
    OCSP_basic_add1_status(basic.get(), id, status, reason, revoked.get(), this_update.get(), next_update.get());
    OCSP_CERTID_free(id);
    OCSP_basic_sign(basic.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), nullptr, 0);
    ossl::Ptr<OCSP_RESPONSE> resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    unsigned char* der = nullptr;
    int len = i2d_OCSP_RESPONSE(resp.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
  }

  OcspVerdict check(std::string_view der) {
    return check_ocsp(der, leaf.cert.get(), inter.cert.get(), sent.get(), store.get(), now);
  }
};

TEST_F(Staple, Good) {
  auto v = check(response(V_OCSP_CERTSTATUS_GOOD, inter, leaf.cert.get()));
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.status, "good");
  EXPECT_EQ(v.responder, "O=tlslab tests, CN=Intermediate");
  EXPECT_TRUE(v.next_update);
}

TEST_F(Staple, RevokedGivesDateAndReason) {
  auto v = check(response(V_OCSP_CERTSTATUS_REVOKED, inter, leaf.cert.get()));
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.status, "revoked");
  EXPECT_THAT(v.reason, HasSubstr("revoked on " + pki::format_time(now - 2 * day).substr(0, 10)));
  EXPECT_THAT(v.reason, HasSubstr("(2 days ago), reason keyCompromise"));
  ASSERT_TRUE(v.revocation);
  EXPECT_EQ(v.revocation->reason, "keyCompromise");
}

TEST_F(Staple, MissingBadAndUnknown) {
  auto v = check("");
  EXPECT_EQ(v.status, "missing");
  EXPECT_THAT(v.reason, HasSubstr("sent no OCSP response"));
  EXPECT_THAT(v.fix, HasSubstr("-status_file"));
  v = check("not DER at all");
  EXPECT_EQ(v.status, "invalid");
  EXPECT_THAT(v.reason, HasSubstr("cannot be parsed"));
  // Signed by someone the CA never authorised.
  auto stranger = issue(CertSpec{.common_name = "Stranger", .ca = true});
  v = check(response(V_OCSP_CERTSTATUS_GOOD, stranger, leaf.cert.get()));
  EXPECT_EQ(v.status, "invalid");
  EXPECT_THAT(v.reason, HasSubstr("signature does not verify"));
  EXPECT_THAT(v.fix, HasSubstr("OCSPSigning"));
  // About another certificate.
  auto other = issue(CertSpec{.common_name = "other"}, &inter);
  v = check(response(V_OCSP_CERTSTATUS_GOOD, inter, other.cert.get()));
  EXPECT_EQ(v.status, "invalid");
  EXPECT_THAT(v.reason, HasSubstr("says nothing about the server's certificate"));
  // Out of date.
  v = check(response(V_OCSP_CERTSTATUS_GOOD, inter, leaf.cert.get(), -1));
  EXPECT_EQ(v.status, "invalid");
  EXPECT_THAT(v.reason, HasSubstr("out of date"));
  v = check(response(V_OCSP_CERTSTATUS_UNKNOWN, inter, leaf.cert.get()));
  EXPECT_EQ(v.status, "unknown");
  EXPECT_THAT(v.reason, HasSubstr("does not know"));
  // A responder that answered with an error status carries no answer.
  ossl::Ptr<OCSP_RESPONSE> later(OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_OCSP_RESPONSE(later.get(), &der);
  v = check(std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  EXPECT_EQ(v.status, "invalid");
  EXPECT_THAT(v.reason, HasSubstr("'trylater'"));
}

}  // namespace
}  // namespace tlslab::tls
