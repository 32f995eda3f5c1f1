#include "report/listener_render.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace tlslab::report {
namespace {

TEST(ListenerLine, SaysWhatTheWorkersDoInTheCommandsName) {
  EXPECT_EQ(
      listener_line({.kind = ListenerEvent::Kind::AcceptFailed, .command = "serve", .error = "Too many open files"}),
      "tlslab serve: accept failed: Too many open files");
  EXPECT_EQ(listener_line({.kind = ListenerEvent::Kind::TooManyConnections, .command = "proxy", .count = 10000}),
            "tlslab proxy: more than 10000 connections; refusing new ones");
  EXPECT_EQ(listener_line({.kind = ListenerEvent::Kind::Stopping,
                           .command = "serve",
                           .count = 1,
                           .signal = SIGINT,
                           .grace = std::chrono::milliseconds(5000)}),
            "tlslab serve: SIGINT: no new connections; finishing 1 open one (at most 5000 ms)");
  EXPECT_EQ(listener_line({.kind = ListenerEvent::Kind::Stopping,
                           .command = "proxy",
                           .count = 3,
                           .signal = SIGTERM,
                           .grace = std::chrono::milliseconds(250)}),
            "tlslab proxy: SIGTERM: no new connections; finishing 3 open ones (at most 250 ms)");
}

}  // namespace
}  // namespace tlslab::report
