#include "net/port_owner.hpp"

#include <gtest/gtest.h>

namespace tlslab::net {
namespace {

// Lines as Linux prints them (x86, little-endian words).
constexpr const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1151 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4711 1 0 100 0 0 "
    "10 0\n"
    "   1: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4712 1 0 100 0 0\n"
    "   2: 0100007F:1151 0100007F:D2F4 01 00000000:00000000 00:00000000 00000000  1000        0 4713 1 0\n"
    "   3: garbage\n";

constexpr const char* kTcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
    "tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000  1000        0 5001 1 0\n"
    "   1: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 5002 1 0\n";

TEST(PortOwner, ReadsListeningSocketsOfProcNetTcp) {
  auto v4 = parse_proc_net_tcp(kTcp, false);
  ASSERT_EQ(v4.size(), 2u);  // the connected socket and the garbage line are not listeners
  EXPECT_EQ(v4[0].address, "127.0.0.1");
  EXPECT_EQ(v4[0].port, 4433);
  EXPECT_EQ(v4[0].inode, 4711u);
  EXPECT_EQ(v4[1].address, "0.0.0.0");
  EXPECT_EQ(v4[1].port, 443);
  auto v6 = parse_proc_net_tcp(kTcp6, true);
  ASSERT_EQ(v6.size(), 2u);
  EXPECT_EQ(v6[0].address, "::1");
  EXPECT_EQ(v6[0].port, 8443);
  EXPECT_EQ(v6[1].address, "::");
  EXPECT_TRUE(v6[1].v6);
}

TEST(PortOwner, WildcardsOverlapEveryAddressOfTheirFamily) {
  ListenSocket any{"0.0.0.0", false, 443, 1}, local{"127.0.0.1", false, 443, 2}, any6{"::", true, 443, 3};
  EXPECT_TRUE(overlaps(any, "127.0.0.1", false, 443));
  EXPECT_TRUE(overlaps(local, "0.0.0.0", false, 443));
  EXPECT_TRUE(overlaps(local, "127.0.0.1", false, 443));
  EXPECT_FALSE(overlaps(local, "127.0.0.2", false, 443));
  EXPECT_FALSE(overlaps(local, "127.0.0.1", false, 444));
  EXPECT_FALSE(overlaps(any6, "127.0.0.1", false, 443));  // ours are v6-only
  EXPECT_TRUE(overlaps(any6, "::1", true, 443));
}

}  // namespace
}  // namespace tlslab::net
