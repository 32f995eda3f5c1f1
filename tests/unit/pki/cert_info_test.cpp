#include "pki/cert_info.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ossl/pem.hpp"
#include "support/cert_factory.hpp"
#include "support/failure.hpp"

namespace tlslab::pki {
namespace {

using ::testing::ElementsAre;
using tlslab::testing::CertSpec;
using tlslab::testing::issue;

TEST(SanType, NamesEachTypeAsTheJsonDoes) {
  EXPECT_EQ(to_string(SanType::Dns), "dns");
  EXPECT_EQ(to_string(SanType::Ip), "ip");
  EXPECT_EQ(to_string(SanType::Email), "email");
  EXPECT_EQ(to_string(SanType::Uri), "uri");
  EXPECT_EQ(to_string(SanType::DirName), "dirname");
  EXPECT_EQ(to_string(SanType::Other), "other");
}

TEST(CertInfo, DescribesLeafSignedByCa) {
  auto ca = issue(CertSpec{.common_name = "Test Root", .ca = true});
  auto leaf = issue(CertSpec{.common_name = "www.bank32.com",
                             .dns = {"www.bank32.com", "*.bank32.com"},
                             .ips = {"127.0.0.1", "::1"},
                             .eku = {"serverAuth"}},
                    &ca);
  auto info = describe(leaf.cert.get());
  EXPECT_EQ(info.common_name, "www.bank32.com");
  EXPECT_EQ(info.subject, "O=tlslab tests, CN=www.bank32.com");
  EXPECT_EQ(info.issuer, "O=tlslab tests, CN=Test Root");
  ASSERT_EQ(info.sans.size(), 4u);
  EXPECT_EQ(info.sans[0].type, SanType::Dns);
  EXPECT_EQ(info.sans[1].value, "*.bank32.com");
  EXPECT_EQ(info.sans[2].type, SanType::Ip);
  EXPECT_EQ(info.sans[2].value, "127.0.0.1");
  EXPECT_EQ(info.sans[3].value, "::1");
  EXPECT_EQ(info.key_type, "EC");
  EXPECT_EQ(info.key_curve, "P-256");
  EXPECT_EQ(info.key_bits, 256);
  EXPECT_EQ(info.signature_algorithm, "ecdsa-with-SHA256");
  EXPECT_THAT(info.extended_key_usage, ElementsAre("serverAuth"));
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature", "keyEncipherment"));
  EXPECT_TRUE(info.has_basic_constraints);
  EXPECT_FALSE(info.is_ca);
  EXPECT_FALSE(info.self_signed);
  EXPECT_EQ(info.sha256_fingerprint.size(), 32u * 3 - 1);
  EXPECT_FALSE(info.subject_key_id.empty());
  EXPECT_FALSE(info.authority_key_id.empty());
  EXPECT_THAT(days_between(now_epoch(), info.not_after), ::testing::AnyOf(29, 30));
}

TEST(CertInfo, DescribesSelfSignedRsaCa) {
  auto ca = issue(CertSpec{.common_name = "Root", .ca = true, .key = "rsa-2048"});
  auto info = describe(ca.cert.get());
  EXPECT_TRUE(info.self_signed);
  EXPECT_TRUE(info.is_ca);
  EXPECT_TRUE(info.basic_constraints_critical);
  EXPECT_EQ(info.key_type, "RSA");
  EXPECT_EQ(info.key_bits, 2048);
  EXPECT_THAT(info.key_usage, ElementsAre("keyCertSign", "cRLSign"));
}

TEST(CertInfo, DescribesEveryCertificateOfAFile) {
  auto ca = issue(CertSpec{.common_name = "Test Root", .ca = true});
  auto leaf = issue(CertSpec{.common_name = "www.bank32.com", .dns = {"www.bank32.com"}}, &ca);
  auto infos =
      describe_certificates("chain:\n" + ossl::to_pem(leaf.cert.get()) + ossl::to_pem(ca.cert.get()), "chain.pem");
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].common_name, "www.bank32.com");
  EXPECT_EQ(infos[1].common_name, "Test Root");
  auto message = testing::failure_message([] { (void)describe_certificates("no certificate", "x.pem", Kind::CaFile); },
                                          Kind::CaFile);
  EXPECT_THAT(message, ::testing::HasSubstr("x.pem"));
}

TEST(CertInfo, FormatsTimesAndDays) {
  EXPECT_EQ(format_time(0), "1970-01-01 00:00:00 UTC");
  EXPECT_EQ(days_between(0, 86400 * 3 + 5), 3);
  EXPECT_EQ(days_between(86400 * 3, 0), -3);
  EXPECT_EQ(days_between(10, 0), -1);
}

}  // namespace
}  // namespace tlslab::pki
