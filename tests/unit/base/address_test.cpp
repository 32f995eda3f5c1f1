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

}  // namespace
}  // namespace tlslab
