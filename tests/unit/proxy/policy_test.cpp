#include "proxy/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/failure.hpp"

namespace tlslab::proxy {
namespace {

using ::testing::ElementsAre;

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
  real.sans = {{"dns", "www.bank32.com"}, {"dns", "*.bank32.com"}, {"ip", "10.0.0.1"}, {"email", "a@b.c"}};
  EXPECT_THAT(forged_names(&real, "WWW.bank32.com", "127.0.0.1"),
              ElementsAre("www.bank32.com", "*.bank32.com", "10.0.0.1", "127.0.0.1"));
  EXPECT_THAT(forged_names(nullptr, "shop.bank32.com", ""), ElementsAre("shop.bank32.com"));
  pki::CertInfo odd;
  odd.common_name = "Bank Inc";
  EXPECT_THAT(forged_names(&odd, "x.com", "::1"), ElementsAre("x.com", "::1"));
  EXPECT_EQ(cache_key({"b.com", "A.com"}, "EC"), cache_key({"a.com", "b.com"}, "EC"));
  EXPECT_NE(cache_key({"a.com"}, "EC"), cache_key({"a.com"}, "RSA"));
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
}

}  // namespace
}  // namespace tlslab::proxy
