#include "net/target.hpp"

#include <gtest/gtest.h>

#include "base/failure.hpp"

namespace tlslab::net {
namespace {

TEST(Target, ParsesHostPortAndUrls) {
  auto t = parse_target("www.bank32.com");
  EXPECT_EQ(t.host, "www.bank32.com");
  EXPECT_EQ(t.port, 443);
  EXPECT_FALSE(t.is_url);
  t = parse_target("www.bank32.com:4433");
  EXPECT_EQ(t.port, 4433);
  t = parse_target("[::1]:8443");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 8443);
  t = parse_target("::1");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 443);
  t = parse_target("https://WWW.bank32.com:4433/img/a.png?x=1#frag");
  EXPECT_TRUE(t.is_url);
  EXPECT_EQ(t.host, "WWW.bank32.com");
  EXPECT_EQ(t.path, "/img/a.png?x=1");
  t = parse_target("https://localhost");
  EXPECT_EQ(t.path, "/");
}

TEST(Target, RefusesBadTargets) {
  for (const char* bad : {"http://x", "ftp://x", "host:0", "host:70000", "host:abc", "", ":443", "[::1"}) {
    try {
      (void)parse_target(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Failure& f) {
      EXPECT_EQ(f.kind(), Kind::Usage) << bad;
    }
  }
}

TEST(Target, HostHeader) {
  EXPECT_EQ(host_header(parse_target("a.com")), "a.com");
  EXPECT_EQ(host_header(parse_target("a.com:4433")), "a.com:4433");
  EXPECT_EQ(host_header(parse_target("[::1]:4433")), "[::1]:4433");
}

TEST(Route, ResolveAndConnectTo) {
  auto target = parse_target("www.bank32.com:4433");
  auto r = route(target, {parse_resolve("www.bank32.com:4433:127.0.0.1")}, {});
  EXPECT_EQ(r.via, "--resolve");
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0], "127.0.0.1");
  // A --resolve for another port does not apply.
  r = route(target, {parse_resolve("www.bank32.com:443:127.0.0.1")}, {});
  EXPECT_EQ(r.via, "dns");
  EXPECT_TRUE(r.addresses.empty());
  r = route(target, {}, {parse_connect_to("www.bank32.com:4433:localhost:5555")});
  EXPECT_EQ(r.via, "--connect-to");
  EXPECT_EQ(r.host, "localhost");
  EXPECT_EQ(r.port, 5555);
  r = route(target, {}, {parse_connect_to("::[::1]:")});
  EXPECT_EQ(r.host, "::1");
  EXPECT_EQ(r.port, 4433);
  ASSERT_EQ(r.addresses.size(), 1u);
  auto multi = parse_resolve("h:1:[::1],127.0.0.2");
  ASSERT_EQ(multi.addresses.size(), 2u);
  EXPECT_EQ(multi.addresses[0], "::1");
  EXPECT_THROW((void)parse_resolve("h:1:not-an-ip"), Failure);
  EXPECT_THROW((void)parse_connect_to("a:b"), Failure);
}

}  // namespace
}  // namespace tlslab::net
