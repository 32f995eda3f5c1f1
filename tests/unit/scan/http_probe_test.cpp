// The request scan sends after its main handshake and its reading of the response's head.
#include "scan/http_probe.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tlslab::scan {
namespace {

TEST(HttpProbe, RequestIsAPlainGet) {
  EXPECT_EQ(probe_request("www.bank32.com"),
            "GET / HTTP/1.1\r\nHost: www.bank32.com\r\nUser-Agent: tlslab/scan\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(probe_request("[::1]:4433"),
            "GET / HTTP/1.1\r\nHost: [::1]:4433\r\nUser-Agent: tlslab/scan\r\nConnection: close\r\n\r\n");
}

TEST(HttpProbe, ReadsStatusAndHsts) {
  auto head = read_http_head(
      "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n"
      "strict-TRANSPORT-security:  max-age=31536000; includeSubDomains\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(head.status, 301);
  EXPECT_EQ(head.hsts, "max-age=31536000; includeSubDomains");
  EXPECT_EQ(head.hsts_max_age, 31536000);
}

TEST(HttpProbe, NoHsts) {
  auto head = read_http_head("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.hsts);
  EXPECT_FALSE(head.hsts_max_age);
}

TEST(HttpProbe, RepeatedHstsKeepsTheLastValue) {
  auto head = read_http_head(
      "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=10\r\n"
      "Strict-Transport-Security: includeSubDomains\r\n\r\n");
  EXPECT_EQ(head.hsts, "includeSubDomains");
  EXPECT_EQ(head.hsts_max_age, 10);  // the last one with a max-age
}

TEST(HttpProbe, MaxAgeSpellings) {
  EXPECT_EQ(hsts_max_age("max-age=0"), 0);
  EXPECT_EQ(hsts_max_age("includeSubDomains; MAX-AGE=\"600\""), 600);
  EXPECT_EQ(hsts_max_age("max-age=\"600"), 600);
  EXPECT_EQ(hsts_max_age("max-age="), 0);
  EXPECT_EQ(hsts_max_age("max-age=abc"), 0);
  EXPECT_FALSE(hsts_max_age("includeSubDomains"));
  EXPECT_FALSE(hsts_max_age(""));
}

TEST(HttpProbe, NotHttpOrNotCompleteGivesNothing) {
  for (std::string bytes : {"", "<html>hello</html>\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n",
                            "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=1\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"}) {
    auto head = read_http_head(bytes);
    EXPECT_FALSE(head.status) << bytes;
    EXPECT_FALSE(head.hsts) << bytes;
  }
}

TEST(HttpProbe, EveryPrefixIsSafe) {
  std::string response = "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=5\r\n\r\nbody";
  for (std::size_t n = 0; n <= response.size(); ++n) {
    auto head = read_http_head(std::string_view(response).substr(0, n));
    bool complete = n >= response.find("\r\n\r\n") + 4;
    EXPECT_EQ(head.status.has_value(), complete) << n;
    if (complete) {
      EXPECT_EQ(head.hsts_max_age, 5);
    }
  }
}

}  // namespace
}  // namespace tlslab::scan
