#include "proxy/dns.hpp"

#include <gtest/gtest.h>

#include "base/failure.hpp"

namespace tlslab::proxy {
namespace {

using namespace std::string_literals;

TEST(DnsQuery, EncodesTheQuestion) {
  auto q = dns_query("www.bank32.com.", kDnsTypeA, 0x1234);
  EXPECT_EQ(q,
            "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
            "\x03www\x06"
            "bank32\x03"
            "com\x00\x00\x01\x00\x01"s);
}

TEST(DnsQuery, RefusesEmptyAndLongLabels) {
  EXPECT_THROW((void)dns_query("a..b", kDnsTypeA, 1), Failure);
  EXPECT_THROW((void)dns_query(std::string(64, 'a') + ".com", kDnsTypeA, 1), Failure);
}

// answer builds a response to dns_query(name, type, id) with the given records (type, rdata),
// each owner name a compression pointer to the question.
std::string answer(std::uint16_t id, std::uint16_t type, unsigned rcode,
                   const std::vector<std::pair<std::uint16_t, std::string>>& records) {
  auto q = dns_query("www.bank32.com", type, id);
  q[2] = '\x81';
  q[3] = static_cast<char>(0x80 | rcode);
  q[7] = static_cast<char>(records.size());
  for (const auto& [rtype, data] : records) {
    q += "\xc0\x0c"s;
    q += static_cast<char>(rtype >> 8);
    q += static_cast<char>(rtype & 0xff);
    q += "\x00\x01\x00\x00\x0e\x10"s;
    q += static_cast<char>(data.size() >> 8);
    q += static_cast<char>(data.size() & 0xff);
    q += data;
  }
  return q;
}

TEST(DnsAnswer, ReadsAddressesOfTheAskedType) {
  auto a = read_dns_answer(answer(7, kDnsTypeA, 0,
                                  {{5,
                                    "\x03"
                                    "cdn\x00"s},
                                   {1, "\x7f\x00\x00\x01"s},
                                   {1, "\x0a\x00\x02\x0f"s}}),
                           7, kDnsTypeA);
  EXPECT_TRUE(a.matched);
  EXPECT_EQ(a.error, "");
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"127.0.0.1", "10.0.2.15"}));
  auto six = read_dns_answer(answer(8, kDnsTypeAaaa, 0, {{28, std::string(15, '\0') + "\x01"}}), 8, kDnsTypeAaaa);
  EXPECT_EQ(six.addresses, (std::vector<std::string>{"::1"}));
}

TEST(DnsAnswer, SaysWhyThereIsNoAddress) {
  auto nx = read_dns_answer(answer(9, kDnsTypeA, 3, {}), 9, kDnsTypeA);
  EXPECT_TRUE(nx.matched);
  EXPECT_EQ(nx.error, "no such name (NXDOMAIN)");
  EXPECT_EQ(read_dns_answer(answer(9, kDnsTypeA, 0, {}), 9, kDnsTypeA).error, "no address records");
}

TEST(DnsAnswer, IgnoresOtherIdsAndSurvivesGarbage) {
  EXPECT_FALSE(read_dns_answer(answer(9, kDnsTypeA, 0, {{1, "\x7f\x00\x00\x01"s}}), 10, kDnsTypeA).matched);
  auto full = answer(11, kDnsTypeA, 0, {{1, "\x7f\x00\x00\x01"s}});
  for (std::size_t cut = 12; cut < full.size(); ++cut) {
    auto a = read_dns_answer(full.substr(0, cut), 11, kDnsTypeA);
    EXPECT_TRUE(a.addresses.empty()) << cut;
    EXPECT_FALSE(a.error.empty()) << cut;
  }
  EXPECT_FALSE(read_dns_answer("", 1, kDnsTypeA).matched);
}

}  // namespace
}  // namespace tlslab::proxy
