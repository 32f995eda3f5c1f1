#include "proxy/alpn.hpp"

#include <gtest/gtest.h>

namespace tlslab::proxy {
namespace {

using List = std::vector<std::string>;

TEST(UpstreamOffer, MirrorsTheClientAndAddsAnHttp1Fallback) {
  EXPECT_EQ(upstream_offer({"h2", "http/1.1"}, Http2Mode::Auto), (List{"h2", "http/1.1"}));
  EXPECT_EQ(upstream_offer({"h2"}, Http2Mode::Auto), (List{"h2", "http/1.1"}));
  EXPECT_EQ(upstream_offer({"http/1.1"}, Http2Mode::Auto), (List{"http/1.1"}));
  EXPECT_EQ(upstream_offer({}, Http2Mode::Auto), List{});
  EXPECT_EQ(upstream_offer({"acme-tls/1"}, Http2Mode::Auto), (List{"acme-tls/1"}));
}

TEST(UpstreamOffer, Http2OffNeverOffersH2) {
  EXPECT_EQ(upstream_offer({"h2", "http/1.1"}, Http2Mode::Off), (List{"http/1.1"}));
  EXPECT_EQ(upstream_offer({"h2"}, Http2Mode::Off), (List{"http/1.1"}));
  EXPECT_EQ(upstream_offer({"grpc-exp", "h2"}, Http2Mode::Off), (List{"grpc-exp", "http/1.1"}));
}

TEST(ClientChoice, TheClientGetsH2WhateverTheServerSpeaks) {
  EXPECT_EQ(client_choice({"h2", "http/1.1"}, "h2", Http2Mode::Auto), "h2");
  EXPECT_EQ(client_choice({"h2", "http/1.1"}, "http/1.1", Http2Mode::Auto), "h2");
  EXPECT_EQ(client_choice({"h2", "http/1.1"}, "", Http2Mode::Auto), "h2");
  EXPECT_EQ(client_choice({"h2"}, "http/1.1", Http2Mode::Auto), "h2");
}

TEST(ClientChoice, Http1WhenTheClientPrefersItOrHttp2IsOff) {
  EXPECT_EQ(client_choice({"http/1.1", "h2"}, "h2", Http2Mode::Auto), "http/1.1");
  EXPECT_EQ(client_choice({"h2", "http/1.1"}, "h2", Http2Mode::Off), "http/1.1");
  EXPECT_EQ(client_choice({"http/1.1"}, "", Http2Mode::Auto), "http/1.1");
  EXPECT_EQ(client_choice({}, "", Http2Mode::Auto), "");
  EXPECT_EQ(client_choice({"http/1.0"}, "http/1.0", Http2Mode::Auto), "http/1.0");
}

TEST(ClientChoice, OtherProtocolsAreMirroredOnly) {
  EXPECT_EQ(client_choice({"acme-tls/1"}, "acme-tls/1", Http2Mode::Auto), "acme-tls/1");
  EXPECT_EQ(client_choice({"h2", "x-custom"}, "x-custom", Http2Mode::Auto), "x-custom");
  EXPECT_EQ(client_choice({"h2"}, "x-other", Http2Mode::Auto), "");
}

TEST(IsHttpAlpn, KnowsTheHttpVersions) {
  EXPECT_TRUE(is_http_alpn(""));
  EXPECT_TRUE(is_http_alpn("h2"));
  EXPECT_TRUE(is_http_alpn("http/1.1"));
  EXPECT_FALSE(is_http_alpn("acme-tls/1"));
}

}  // namespace
}  // namespace tlslab::proxy
