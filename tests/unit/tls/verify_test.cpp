#include "tls/verify.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include "support/cert_factory.hpp"

namespace tlslab::tls {
namespace {

using ::testing::HasSubstr;
using tlslab::testing::CertSpec;
using tlslab::testing::issue;

class Hostname : public ::testing::Test {
 protected:
  tlslab::testing::Issued ca = issue(CertSpec{.common_name = "Root", .ca = true});
  tlslab::testing::Issued leaf = issue(
      CertSpec{.common_name = "www.bank32.com", .dns = {"www.bank32.com", "*.bank32.com"}, .ips = {"127.0.0.1"}}, &ca);
};

TEST_F(Hostname, MatchesNamesWildcardsAndAddresses) {
  auto v = check_hostname(leaf.cert.get(), "www.bank32.com");
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.matched, "DNS:www.bank32.com");
  v = check_hostname(leaf.cert.get(), "SHOP.bank32.com");
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.matched, "DNS:*.bank32.com");
  v = check_hostname(leaf.cert.get(), "127.0.0.1");
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.is_ip);
}

TEST_F(Hostname, ExplainsWildcardDepthAndApex) {
  auto v = check_hostname(leaf.cert.get(), "a.b.bank32.com");
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("covers exactly one label"));
  v = check_hostname(leaf.cert.get(), "bank32.com");
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("does not cover bank32.com itself"));
  EXPECT_THAT(v.fix, HasSubstr("--resolve"));
}

TEST_F(Hostname, AddressesOnlyMatchIpSans) {
  auto named = issue(CertSpec{.common_name = "x", .dns = {"127.0.0.2"}}, &ca);
  auto v = check_hostname(named.cert.get(), "127.0.0.2");
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("listed as a DNS name"));
}

TEST_F(Hostname, CommonNameAloneDoesNotCount) {
  auto cn_only = issue(CertSpec{.common_name = "legacy.bank32.com"}, &ca);
  auto v = check_hostname(cn_only.cert.get(), "legacy.bank32.com");
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("only in the subject CN"));
}

TEST(Explain, ExpiredAndUntrusted) {
  auto ca = issue(CertSpec{.common_name = "Root", .ca = true});
  auto old = issue(CertSpec{.common_name = "old", .not_before_days = -40, .not_after_days = -10}, &ca);
  auto p = explain_problem(0, X509_V_ERR_CERT_HAS_EXPIRED, old.cert.get(), {}, pki::now_epoch());
  EXPECT_THAT(p.reason, HasSubstr("expired on"));
  EXPECT_THAT(p.reason, HasSubstr("10 days ago"));
  EXPECT_FALSE(p.fix.empty());
  auto leaf = issue(CertSpec{.common_name = "leaf"}, &ca);
  p = explain_problem(0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, leaf.cert.get(), {}, pki::now_epoch());
  EXPECT_THAT(p.reason, HasSubstr("missing its intermediate"));
  p = explain_problem(1, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ca.cert.get(), {}, pki::now_epoch());
  EXPECT_THAT(p.reason, HasSubstr("not trusted"));
  auto self = issue(CertSpec{.common_name = "self"});
  p = explain_problem(0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, self.cert.get(), {}, pki::now_epoch());
  EXPECT_THAT(p.reason, HasSubstr("self-signed"));
}

}  // namespace
}  // namespace tlslab::tls
