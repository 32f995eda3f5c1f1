#include "base/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tlslab {
namespace {

TEST(IpLiteral, Recognises) {
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_TRUE(is_ip_literal("2001:db8::ff00:42:8329"));
  EXPECT_FALSE(is_ip_literal("localhost"));
  EXPECT_FALSE(is_ip_literal("[::1]"));
  EXPECT_FALSE(is_ip_literal("127.0.0.1:443"));
  EXPECT_FALSE(is_ip_literal(""));
}

TEST(IpLiteral, ReadsOnlyTheView) {
  std::string text = "10.0.0.1x";
  EXPECT_TRUE(is_ip_literal(std::string_view(text).substr(0, 8)));
  EXPECT_FALSE(is_ip_literal(text));
}

TEST(Endpoint, BracketsIpv6Only) {
  EXPECT_EQ(format_endpoint("127.0.0.1", 443), "127.0.0.1:443");
  EXPECT_EQ(format_endpoint("::1", 443), "[::1]:443");
  EXPECT_EQ(format_endpoint("2001:db8::1", 8443), "[2001:db8::1]:8443");
  EXPECT_EQ(format_endpoint("fe80::1%eth0", 1), "[fe80::1%eth0]:1");
  EXPECT_EQ(format_endpoint("www.bank32.com", 0), "www.bank32.com:0");
  EXPECT_EQ(format_endpoint("::ffff:127.0.0.1", 65535), "[::ffff:127.0.0.1]:65535");
}

}  // namespace
}  // namespace tlslab
