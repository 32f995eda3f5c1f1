#include "http/request_start.hpp"

#include <gtest/gtest.h>

namespace tlslab::http {
namespace {

TEST(RequestStart, NoPrefixOfAValidRequestIsMalformed) {
  for (std::string request : {"CONNECT www.bank32.com:443 HTTP/1.1\r\nHost: www.bank32.com:443\r\n\r\n",
                              "GET http://www.bank32.com/a?b=c HTTP/1.0\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n"})
    for (std::size_t n = 0; n <= request.size(); ++n)
      EXPECT_EQ(request_start_error(request.substr(0, n)), "") << request.substr(0, n);
}

TEST(RequestStart, GarbageIsToldAtOnce) {
  EXPECT_NE(request_start_error(std::string("\x16\x03\x01\x02\x00\x01", 6)), "");  // a ClientHello
  EXPECT_NE(request_start_error("GE\x01"), "");
  EXPECT_NE(request_start_error("G(T "), "");
  EXPECT_NE(request_start_error("GET / HTTP/1.1\x7f"), "");
  EXPECT_NE(request_start_error("hello there\r\n"), "");  // a whole line, no version
  EXPECT_NE(request_start_error("GET / HTTP/9\r\n"), "");
  EXPECT_NE(request_start_error("hello world garbage"), "");  // no HTTP version where one belongs
  EXPECT_NE(request_start_error("GET / HTTP/1.1x"), "");
  auto why = request_start_error("GET /abcdefghi\x01");
  EXPECT_NE(why.find("0x01 at offset 14"), std::string::npos) << why;
}

}  // namespace
}  // namespace tlslab::http
