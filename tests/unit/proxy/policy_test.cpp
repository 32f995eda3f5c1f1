#include "proxy/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/failure.hpp"
#include "support/cert_factory.hpp"
#include "support/failure.hpp"

namespace tlslab::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tlslab::testing::failure_message;

TEST(Policy, HostPatterns) {
  EXPECT_TRUE(HostPattern("*.bank32.com").matches("www.bank32.com"));
  EXPECT_TRUE(HostPattern("*.bank32.com").matches("a.b.BANK32.com"));
  EXPECT_FALSE(HostPattern("*.bank32.com").matches("bank32.com"));
  EXPECT_TRUE(HostPattern("Pinned.App").matches("pinned.app"));
  EXPECT_FALSE(HostPattern("pinned.app").matches("xpinned.app"));
  EXPECT_TRUE(should_pass({HostPattern("a.com"), HostPattern("*")}, "anything"));
  EXPECT_FALSE(should_pass({}, "anything"));
}

TEST(Policy, ForgedNamesMirrorTheUpstreamThenSniThenAddress) {
  pki::CertInfo real;
  real.common_name = "www.bank32.com";
  real.sans = {{pki::SanType::Dns, "www.bank32.com"},
               {pki::SanType::Dns, "*.bank32.com"},
               {pki::SanType::Ip, "10.0.0.1"},
               {pki::SanType::Email, "a@b.c"}};
  EXPECT_THAT(forged_names(&real, nullptr, "WWW.bank32.com", "127.0.0.1"),
              ElementsAre("www.bank32.com", "*.bank32.com", "10.0.0.1", "127.0.0.1"));
  EXPECT_THAT(forged_names(nullptr, nullptr, "shop.bank32.com", ""), ElementsAre("shop.bank32.com"));
  pki::CertInfo odd;
  odd.common_name = "Bank Inc";
  EXPECT_THAT(forged_names(&odd, nullptr, "x.com", "::1"), ElementsAre("x.com", "::1"));
  EXPECT_EQ(cache_key({"b.com", "A.com"}, "EC"), cache_key({"a.com", "b.com"}, "EC"));
  EXPECT_NE(cache_key({"a.com"}, "EC"), cache_key({"a.com"}, "RSA"));
}

// The real certificate is made at test time: what covers a name is decided as a client decides it.
TEST(Policy, AWildcardThatCoversTheRequestedNameIsReused) {
  auto real = testing::issue({.common_name = "bank32.com", .dns = {"bank32.com", "*.bank32.com"}});
  auto info = pki::describe(real.cert.get());
  auto a = forged_names(&info, real.cert.get(), "a.bank32.com", "");
  auto b = forged_names(&info, real.cert.get(), "B.bank32.com", "");
  EXPECT_THAT(a, ElementsAre("bank32.com", "*.bank32.com"));
  EXPECT_EQ(cache_key(a, "EC"), cache_key(b, "EC"));  // one forgery for every host behind the wildcard
  // A wildcard covers one label: deeper names and other domains are added.
  EXPECT_THAT(forged_names(&info, real.cert.get(), "x.a.bank32.com", ""),
              ElementsAre("bank32.com", "*.bank32.com", "x.a.bank32.com"));
  EXPECT_THAT(forged_names(&info, real.cert.get(), "bank32.net", ""),
              ElementsAre("bank32.com", "*.bank32.com", "bank32.net"));
  // An address is covered only by an IP SAN.
  EXPECT_THAT(forged_names(&info, real.cert.get(), "127.0.0.1", "127.0.0.1"),
              ElementsAre("bank32.com", "*.bank32.com", "127.0.0.1"));
  auto with_ip = testing::issue({.common_name = "h.test", .dns = {"h.test"}, .ips = {"127.0.0.1"}});
  auto ip_info = pki::describe(with_ip.cert.get());
  EXPECT_THAT(forged_names(&ip_info, with_ip.cert.get(), "127.0.0.1", "127.0.0.1"), ElementsAre("h.test", "127.0.0.1"));
  // Only SANs count, never the subject CN: a wildcard CN alone does not cover (its SAN-less real
  // certificate would not have been accepted by a client either).
  auto cn_only = testing::issue({.common_name = "*.shop.test"});
  auto cn_info = pki::describe(cn_only.cert.get());
  EXPECT_THAT(forged_names(&cn_info, cn_only.cert.get(), "www.shop.test", ""),
              ElementsAre("*.shop.test", "www.shop.test"));
}

TEST(Policy, LoopsAreSeen) {
  std::vector<Endpoint> listeners = {{"127.0.0.1", 8443}};
  EXPECT_TRUE(is_loop({"127.0.0.1", 8443}, listeners));
  EXPECT_FALSE(is_loop({"127.0.0.1", 443}, listeners));
  EXPECT_FALSE(is_loop({"127.0.0.2", 8443}, listeners));
  EXPECT_TRUE(is_loop({"127.0.0.5", 8443}, {{"0.0.0.0", 8443}}));
  EXPECT_TRUE(is_loop({"0.0.0.0", 8443}, listeners));
}

TEST(Policy, UpstreamResolve) {
  auto r = parse_upstream_resolve("WWW.bank32.com:127.0.0.1");
  EXPECT_EQ(r.name, "www.bank32.com");
  EXPECT_EQ(r.address, "127.0.0.1");
  EXPECT_EQ(parse_upstream_resolve("h:[::1]").address, "::1");
  EXPECT_THROW((void)parse_upstream_resolve("h"), Failure);
  EXPECT_THROW((void)parse_upstream_resolve("h:nope"), Failure);
  EXPECT_TRUE(r.matches("www.BANK32.com", 443));
  EXPECT_TRUE(r.matches("www.bank32.com", 8443));  // no port given: every port
  EXPECT_FALSE(r.matches("shop.bank32.com", 443));
}

TEST(Policy, UpstreamResolveTakesCurlsForm) {
  auto r = parse_upstream_resolve("www.bank32.com:8443:10.0.2.15");
  EXPECT_EQ(r.name, "www.bank32.com");
  EXPECT_EQ(r.address, "10.0.2.15");
  EXPECT_EQ(r.port, 8443);
  EXPECT_TRUE(r.matches("www.bank32.com", 8443));
  EXPECT_FALSE(r.matches("www.bank32.com", 443));
  auto v6 = parse_upstream_resolve("h:443:[2001:db8::1]");
  EXPECT_EQ(v6.address, "2001:db8::1");
  EXPECT_EQ(v6.port, 443);
  // Without brackets, an IPv6 address is read whole, not as a port and the rest.
  auto whole = parse_upstream_resolve("h:2001:db8::1");
  EXPECT_EQ(whole.address, "2001:db8::1");
  EXPECT_FALSE(whole.port);
  EXPECT_THAT(failure_message([] { (void)parse_upstream_resolve("h:99999:10.0.0.1"); }, Kind::Usage),
              HasSubstr("nor '99999' a port"));
  EXPECT_THAT(failure_message([] { (void)parse_upstream_resolve("h:443:nope"); }, Kind::Usage),
              HasSubstr("'nope' is not an IP address"));
  EXPECT_THAT(failure_message([] { (void)parse_upstream_resolve("h"); }, Kind::Usage),
              HasSubstr("NAME:PORT:ADDR as curl's --resolve"));
  EXPECT_THAT(failure_message([] { (void)parse_upstream_resolve("h:10.0.0.1,10.0.0.2"); }, Kind::Usage),
              HasSubstr("one address per entry"));
}

TEST(Policy, UpstreamResolveWildcards) {
  auto r = parse_upstream_resolve("*.Bank32.com:10.0.2.15");
  EXPECT_TRUE(r.matches("shop.bank32.com", 443));
  EXPECT_TRUE(r.matches("a.b.bank32.com", 443));
  EXPECT_FALSE(r.matches("bank32.com", 443));
  EXPECT_FALSE(r.matches("evilbank32.com", 443));
  EXPECT_TRUE(parse_upstream_resolve("*:10.0.2.15").matches("anything.example", 443));
  for (const char* bad : {"*bank32.com:10.0.0.1", "www.*.com:10.0.0.1", "*.:10.0.0.1", "*.*.com:10.0.0.1"})
    EXPECT_THAT(failure_message([&] { (void)parse_upstream_resolve(bad); }, Kind::Usage),
                HasSubstr("a wildcard is *.DOMAIN"))
        << bad;
}

}  // namespace
}  // namespace tlslab::proxy

namespace tlslab::proxy {
namespace {

constexpr std::uint16_t kEcdsaP256 = 0x0403, kEcdsaP384 = 0x0503, kPssRsae = 0x0804, kPssPss = 0x0809, kPkcs1 = 0x0401,
                        kEd25519 = 0x0807;

TEST(ChooseForgery, MirrorsTheRealKeyWhenTheClientTakesIt) {
  std::vector<std::uint16_t> all = {kEcdsaP256, kPssRsae, kPkcs1, kEd25519};
  EXPECT_EQ(choose_forgery(all, {}, "EC", kEcdsaP256), (ForgeChoice{"EC", ForgeIssuer::Ca}));
  EXPECT_EQ(choose_forgery(all, {}, "RSA", kEcdsaP256), (ForgeChoice{"RSA", ForgeIssuer::Ca}));
  EXPECT_EQ(choose_forgery(all, {}, "RSA-PSS", kEcdsaP256), (ForgeChoice{"RSA", ForgeIssuer::Ca}));
  EXPECT_EQ(choose_forgery(all, {}, "ED25519", kEcdsaP256), (ForgeChoice{"EC", ForgeIssuer::Ca}));
}

TEST(ChooseForgery, NoSchemesTakesAnything) {  // an SSLv2-format hello, an old TLS 1.2 client
  EXPECT_EQ(choose_forgery({}, {}, "RSA", kEcdsaP256), (ForgeChoice{"RSA", ForgeIssuer::Ca}));
  EXPECT_EQ(choose_forgery({}, {}, "EC", kEcdsaP256), (ForgeChoice{"EC", ForgeIssuer::Ca}));
}

TEST(ChooseForgery, AClientWithoutEcdsaGetsAnRsaChain) {
  // Only RSA-PSS: an RSA leaf signed with RSA-PSS by the RSA issuer, even for an EC server.
  EXPECT_EQ(choose_forgery({kPssRsae, kPssPss}, {}, "EC", kEcdsaP256), (ForgeChoice{"RSA", ForgeIssuer::RsaPss}));
  EXPECT_EQ(choose_forgery({kPssRsae, kPssPss}, {}, "RSA", kEcdsaP256), (ForgeChoice{"RSA", ForgeIssuer::RsaPss}));
  // signature_algorithms_cert decides the issuer when present (as OpenSSL's server checks it).
  EXPECT_EQ(choose_forgery({kPssRsae}, {kPssRsae, kPkcs1}, "RSA", kEcdsaP256),
            (ForgeChoice{"RSA", ForgeIssuer::RsaPkcs1}));
  EXPECT_EQ(choose_forgery({kEcdsaP256, kPssRsae}, {kPssRsae}, "EC", kEcdsaP256),
            (ForgeChoice{"EC", ForgeIssuer::RsaPss}));
  EXPECT_EQ(choose_forgery({kEcdsaP256, kPssRsae}, {kEcdsaP256}, "RSA", kEcdsaP256),
            (ForgeChoice{"RSA", ForgeIssuer::Ca}));
}

TEST(ChooseForgery, TheCasOwnSchemeCounts) {
  // A P-384 CA signs with ecdsa_secp384r1_sha384: a client offering only P-256 in certificates
  // gets the RSA issuer if it takes RSA, else the CA (nothing better).
  EXPECT_EQ(choose_forgery({kEcdsaP256, kPkcs1}, {}, "EC", kEcdsaP384), (ForgeChoice{"EC", ForgeIssuer::RsaPkcs1}));
  EXPECT_EQ(choose_forgery({kEcdsaP256}, {}, "EC", kEcdsaP384), (ForgeChoice{"EC", ForgeIssuer::Ca}));
  EXPECT_EQ(choose_forgery({kEcdsaP384, kPssRsae}, {}, "RSA", kEcdsaP384), (ForgeChoice{"RSA", ForgeIssuer::Ca}));
}

}  // namespace
}  // namespace tlslab::proxy
