#include "connect/target.hpp"

#include <gtest/gtest.h>

#include "base/failure.hpp"

namespace tlslab::connect {
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

TEST(Target, UrlsAsCurlReadsThem) {
  // userinfo is kept (percent-decoded) for Basic authentication, not dropped.
  auto t = parse_target("https://alice:s%40cret@www.bank32.com:4433/a");
  ASSERT_TRUE(t.user);
  EXPECT_EQ(*t.user, "alice");
  EXPECT_EQ(t.password, "s@cret");
  EXPECT_EQ(t.host, "www.bank32.com");
  EXPECT_EQ(t.port, 4433);
  t = parse_target("https://bob@www.bank32.com/");
  EXPECT_EQ(*t.user, "bob");
  EXPECT_EQ(t.password, "");
  EXPECT_FALSE(parse_target("https://www.bank32.com/").user);
  // Bytes curl accepts but RFC 3986 does not are sent percent-encoded; an IDN host comes back decoded.
  t = parse_target(
      "https://b\xc3\xbc"
      "cher.de/caf\xc3\xa9?q=\"x\"");
  EXPECT_EQ(t.host,
            "b\xc3\xbc"
            "cher.de");
  EXPECT_EQ(t.path, "/caf%C3%A9?q=%22x%22");
  t = parse_target("https://[::1]:8443?x");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.path, "/?x");
  EXPECT_EQ(parse_target("https://h:/").port, 443);  // an empty port is the default, as curl reads it
}

TEST(Target, MalformedUrlsAreExit3) {
  for (const char* bad :
       {"https://www.bank32.com/a b", "https://www.bank32.com/a\tb", "https://www bank32.com/", "https://h:99999/",
        "https://h:x/", "https:///path", "https://a\"b.com/", "https://[::1/", "https://a%2fb.com/"}) {
    try {
      (void)parse_target(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Failure& f) {
      EXPECT_EQ(f.kind(), Kind::Url) << bad << ": " << f.what();
      EXPECT_EQ(std::string(f.what()).find('\t'), std::string::npos) << "one line: " << f.what();
    }
  }
}

TEST(Proxy, ReadsCurlsForms) {
  auto p = parse_proxy("127.0.0.1:8080");
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 8080);
  EXPECT_FALSE(p.user);
  p = parse_proxy("http://alice:pw%3A1@proxy.bank32.com");
  EXPECT_EQ(p.host, "proxy.bank32.com");
  EXPECT_EQ(p.port, 1080);  // curl's default proxy port
  EXPECT_EQ(*p.user, "alice");
  EXPECT_EQ(p.password, "pw:1");
  EXPECT_EQ(parse_proxy("http://[::1]:3128/").host, "::1");
  for (const char* bad : {"socks5://127.0.0.1:1080", "https://127.0.0.1:8080", "http://a b:1", "http://h:0",
                          "http://h:1/path", "http://:8080"}) {
    try {
      (void)parse_proxy(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Failure& f) {
      EXPECT_EQ(f.kind(), Kind::Usage) << bad;
      EXPECT_NE(std::string(f.what()).find("-x"), std::string::npos) << f.what();
    }
  }
  EXPECT_EQ(authority("::1", 443), "[::1]:443");
  EXPECT_EQ(authority("www.bank32.com", 443), "www.bank32.com:443");
}

TEST(Target, HostHeader) {
  EXPECT_EQ(host_header(parse_target("a.com")), "a.com");
  EXPECT_EQ(host_header(parse_target("a.com:4433")), "a.com:4433");
  EXPECT_EQ(host_header(parse_target("[::1]:4433")), "[::1]:4433");
}

TEST(Route, ResolveAndConnectTo) {
  auto target = parse_target("www.bank32.com:4433");
  auto r = route(target, {parse_resolve("www.bank32.com:4433:127.0.0.1")}, {});
  EXPECT_EQ(r.via, RouteVia::Resolve);
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0], "127.0.0.1");
  // A --resolve for another port does not apply.
  r = route(target, {parse_resolve("www.bank32.com:443:127.0.0.1")}, {});
  EXPECT_EQ(r.via, RouteVia::Dns);
  EXPECT_TRUE(r.addresses.empty());
  r = route(target, {}, {parse_connect_to("www.bank32.com:4433:localhost:5555")});
  EXPECT_EQ(r.via, RouteVia::ConnectTo);
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

TEST(Route, AnAddressIsLiteralUnlessAnOverrideChoseIt) {
  auto r = route(parse_target("127.0.0.1:4433"), {}, {});
  EXPECT_EQ(r.via, RouteVia::Literal);
  EXPECT_EQ(r.addresses, std::vector<std::string>{"127.0.0.1"});
  r = route(parse_target("www.bank32.com"), {}, {parse_connect_to("::127.0.0.2:")});
  EXPECT_EQ(r.via, RouteVia::ConnectTo);
  EXPECT_EQ(r.addresses, std::vector<std::string>{"127.0.0.2"});
}

TEST(RouteVia, NamesEachAsTheOutputDoes) {
  EXPECT_EQ(to_string(RouteVia::Dns), "dns");
  EXPECT_EQ(to_string(RouteVia::Literal), "literal");
  EXPECT_EQ(to_string(RouteVia::Resolve), "--resolve");
  EXPECT_EQ(to_string(RouteVia::ConnectTo), "--connect-to");
}

}  // namespace
}  // namespace tlslab::connect
