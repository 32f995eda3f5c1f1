#include "http/tunnel.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/failure.hpp"
#include "http/auth.hpp"

namespace tlslab::http {
namespace {

using ::testing::HasSubstr;

TEST(Tunnel, RequestAsCurlSendsIt) {
  EXPECT_EQ(connect_request("www.bank32.com:443", "tlslab/1"),
            "CONNECT www.bank32.com:443 HTTP/1.1\r\nHost: www.bank32.com:443\r\nUser-Agent: tlslab/1\r\n"
            "Proxy-Connection: Keep-Alive\r\n\r\n");
  EXPECT_THAT(connect_request("[::1]:443", "t", basic_credentials("alice", "pw")),
              HasSubstr("\r\nProxy-Authorization: Basic YWxpY2U6cHc=\r\n\r\n"));
}

TEST(Tunnel, ReplyInEveryByteSplit) {
  const std::string reply = "HTTP/1.1 200 Connection established\r\nVia: tlslab\r\n\r\n";
  for (std::size_t cut = 0; cut <= reply.size(); ++cut) {
    TunnelReplyReader reader;
    std::size_t used = reader.feed(std::string_view(reply).substr(0, cut));
    if (cut < reply.size()) {
      EXPECT_FALSE(reader.done()) << cut;
      used += reader.feed(std::string_view(reply).substr(cut));
    }
    ASSERT_TRUE(reader.done()) << cut;
    EXPECT_EQ(used, reply.size());
    EXPECT_EQ(reader.reply().status, 200);
    EXPECT_TRUE(reader.reply().established());
    EXPECT_EQ(reader.reply().reason, "Connection established");
    EXPECT_EQ(reader.reply().field("via"), "tlslab");
  }
}

TEST(Tunnel, BytesAfterTheHeaderAreNotTheReplys) {
  TunnelReplyReader reader;
  std::string data = "HTTP/1.0 200 OK\r\n\r\n\x16\x03\x03";
  EXPECT_EQ(reader.feed(data), data.size() - 3);
  EXPECT_TRUE(reader.done());
}

TEST(Tunnel, RefusalsNameTheProxy) {
  TunnelReplyReader reader;
  reader.feed(
      "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"lab\"\r\n"
      "Content-Length: 5\r\n\r\nnope!");
  ASSERT_TRUE(reader.done());
  EXPECT_FALSE(reader.reply().established());
  auto text = refusal_text(reader.reply(), "127.0.0.1:8080", "www.bank32.com:443", false);
  EXPECT_THAT(text, HasSubstr("the proxy 127.0.0.1:8080 refused CONNECT www.bank32.com:443: 407 Proxy "
                              "Authentication Required"));
  EXPECT_THAT(text, HasSubstr("Basic realm=\"lab\""));
  EXPECT_THAT(text, HasSubstr("-x http://USER:PASSWORD@HOST:PORT"));
  EXPECT_THAT(refusal_text(reader.reply(), "p:1", "h:443", true), HasSubstr("were not accepted"));
  TunnelReply bad_gateway{502, "Bad Gateway", "HTTP/1.1", {}};
  EXPECT_THAT(refusal_text(bad_gateway, "p:1", "h:443", false), HasSubstr("could not reach h:443"));
}

TEST(Tunnel, GarbageIsNotAReply) {
  TunnelReplyReader reader;
  EXPECT_THROW(reader.feed("SSH-2.0-OpenSSH_9.2\r\n\r\n"), Failure);
  TunnelReplyReader huge;
  EXPECT_THROW(
      {
        huge.feed("HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 2000; ++i) huge.feed("X-Filler: 0123456789\r\n");
      },
      Failure);
}

TEST(BasicAuth, AsRfc7617) {
  EXPECT_EQ(basic_credentials("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(basic_credentials("bob", ""), "Basic Ym9iOg==");
}

}  // namespace
}  // namespace tlslab::http
