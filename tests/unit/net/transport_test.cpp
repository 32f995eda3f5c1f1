#include "net/transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace tlslab::net {
using connect::Route;

namespace {

namespace ip = boost::asio::ip;

// dial runs connect_any on a fresh io_context. The cases here open no socket.
Dialed dial(const Route& route, const DialOptions& options = {}, bool stop_first = false) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  Dialer dialer(io.get_executor());
  if (stop_first) dialer.stop();
  Dialed out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { out = co_await dialer.connect_any(socket, route, Deadline::never(), options); },
      asio::detached);
  io.run();
  EXPECT_FALSE(socket.is_open());
  return out;
}

TEST(FormatEndpoint, AsioEndpoints) {
  EXPECT_EQ(format_endpoint(tcp::endpoint(ip::make_address("127.0.0.1"), 443)), "127.0.0.1:443");
  EXPECT_EQ(format_endpoint(tcp::endpoint(ip::make_address("::1"), 8443)), "[::1]:8443");
}

TEST(Dialed, FailuresNameEachAddressTried) {
  Dialed d;
  d.attempts.push_back(
      {tcp::endpoint(ip::make_address("127.0.0.1"), 1), make_error_code(boost::asio::error::connection_refused)});
  d.attempts.push_back({tcp::endpoint(ip::make_address("::1"), 1), make_error_code(boost::asio::error::timed_out)});
  auto refused = make_error_code(boost::asio::error::connection_refused).message();
  auto timed_out = make_error_code(boost::asio::error::timed_out).message();
  EXPECT_EQ(d.failures(), "127.0.0.1:1: " + refused + "; [::1]:1: " + timed_out);
  d.attempts.push_back({tcp::endpoint(ip::make_address("::2"), 1), {}});  // connected: no failure
  EXPECT_EQ(d.failures(), "127.0.0.1:1: " + refused + "; [::1]:1: " + timed_out);
}

TEST(ConnectAny, FixedAddressesOfTheOtherFamilyAreNoAddress) {
  Route route{"www.bank32.com", 443, {"127.0.0.1", "10.0.0.1"}, connect::RouteVia::Resolve};
  DialOptions v6;
  v6.family = tcp::v6();
  bool resolved = false;
  v6.on_resolved = [&](const Dialed&) { resolved = true; };
  auto d = dial(route, v6);
  EXPECT_EQ(d.outcome, Dialed::Outcome::NoAddress);
  EXPECT_TRUE(d.addresses.empty());
  EXPECT_TRUE(d.attempts.empty());
  EXPECT_FALSE(resolved);
}

TEST(ConnectAny, KeepsTheFamilysAddressesInOrder) {
  Route route{"www.bank32.com", 8443, {"::1", "127.0.0.1", "::2"}, connect::RouteVia::Resolve};
  DialOptions v6;
  v6.family = tcp::v6();
  std::vector<tcp::endpoint> seen;
  v6.on_resolved = [&](const Dialed& d) { seen = d.addresses; };
  auto d = dial(route, v6, true);  // stopped before it starts: nothing is connected
  EXPECT_EQ(d.outcome, Dialed::Outcome::Stopped);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(format_endpoint(seen[0]), "[::1]:8443");
  EXPECT_EQ(format_endpoint(seen[1]), "[::2]:8443");
  EXPECT_TRUE(d.attempts.empty());
}

}  // namespace
}  // namespace tlslab::net
