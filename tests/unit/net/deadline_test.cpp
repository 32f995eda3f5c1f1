#include "net/deadline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tlslab::net {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point() + 1000h;  // any fixed point: the arithmetic reads no clock

TEST(Deadline, AfterAddsTheLimit) {
  EXPECT_EQ(Deadline::after(250ms, t0).at(), t0 + 250ms);
  EXPECT_EQ(Deadline::after_seconds(1.5, t0).at(), t0 + 1500ms);
  EXPECT_EQ(Deadline::after_seconds(0.001, t0).at(), t0 + 1ms);
  EXPECT_FALSE(Deadline::after(250ms, t0).is_never());
}

TEST(Deadline, TooFarIsNeverNotThePast) {
  // 1e308 seconds in nanoseconds once overflowed into a deadline already past.
  EXPECT_TRUE(Deadline::after_seconds(1e308, t0).is_never());
  EXPECT_TRUE(Deadline::after_seconds(std::numeric_limits<double>::infinity(), t0).is_never());
  EXPECT_TRUE(Deadline::after_seconds(std::nan(""), t0).is_never());
  EXPECT_TRUE(Deadline::after(Clock::duration::max(), t0).is_never());
  auto room = Clock::time_point::max() - t0;
  EXPECT_TRUE(Deadline::after(room, t0).is_never());
  EXPECT_EQ(Deadline::after(room - 1ns, t0).at(), Clock::time_point::max() - 1ns);
  EXPECT_TRUE(Deadline::after_seconds(std::chrono::duration<double>(room).count() * 2, t0).is_never());
  EXPECT_FALSE(Deadline::after_seconds(365 * 24 * 3600.0, t0).is_never());  // a year, --max-time's limit
}

TEST(Deadline, ZeroOrLessHasPassed) {
  EXPECT_TRUE(Deadline::after_seconds(0, t0).passed(t0));
  EXPECT_TRUE(Deadline::after_seconds(-5, t0).passed(t0));
  EXPECT_TRUE(Deadline::after(0ms, t0).passed(t0));
}

TEST(Deadline, PassedAndLeft) {
  auto d = Deadline::after(2s, t0);
  EXPECT_FALSE(d.passed(t0));
  EXPECT_FALSE(d.passed(t0 + 2s - 1ns));
  EXPECT_TRUE(d.passed(t0 + 2s));
  EXPECT_EQ(d.left(t0), 2s);
  EXPECT_EQ(d.left(t0 + 1500ms), 500ms);
  EXPECT_EQ(d.left(t0 + 3s), Clock::duration::zero());
  EXPECT_FALSE(Deadline::never().passed(Clock::time_point::max() - 1ns));
}

TEST(Deadline, EarlierAndNeverIsLast) {
  auto a = Deadline::after(1s, t0), b = Deadline::after(2s, t0);
  EXPECT_EQ(a.earlier(b), a);
  EXPECT_EQ(b.earlier(a), a);
  EXPECT_EQ(Deadline::never().earlier(b), b);
  EXPECT_EQ(b.earlier(Deadline::never()), b);
  EXPECT_LT(a, b);
  EXPECT_LT(b, Deadline::never());
  EXPECT_TRUE(Deadline().is_never());
}

// The timers below run on an io_context with deadlines already passed or never: nothing waits.
const Deadline past = Deadline(Clock::now() - 1s);

TEST(Alarm, ActsOnceWhenTheDeadlinePasses) {
  boost::asio::io_context io;
  Alarm alarm(io.get_executor());
  int acted = 0;
  alarm.arm(past, [&] { ++acted; });
  EXPECT_FALSE(alarm.expired());
  io.run();
  EXPECT_EQ(acted, 1);
  EXPECT_TRUE(alarm.expired());
}

TEST(Alarm, ArmingAgainReplacesTheAction) {
  boost::asio::io_context io;
  Alarm alarm(io.get_executor());
  std::vector<std::string> acted;
  alarm.arm(past, [&] { acted.push_back("first"); });
  alarm.arm(past, [&] { acted.push_back("second"); });
  io.run();
  EXPECT_EQ(acted, std::vector<std::string>{"second"});
}

TEST(Alarm, DisarmedOrNeverDoesNotAct) {
  boost::asio::io_context io;
  bool acted = false;
  Alarm disarmed(io.get_executor()), never(io.get_executor());
  disarmed.arm(past, [&] { acted = true; });
  disarmed.disarm();
  never.arm(past, [&] { acted = true; });
  never.arm(Deadline::never(), [&] { acted = true; });
  {
    Alarm gone(io.get_executor());
    gone.arm(past, [&] { acted = true; });
  }
  io.run();  // returns at once: no wait is left
  EXPECT_FALSE(acted);
  EXPECT_FALSE(disarmed.expired());
  EXPECT_FALSE(never.expired());
}

// never_done is an operation that would never complete on its own.
asio::awaitable<std::tuple<boost::system::error_code>> never_done(asio::steady_timer& forever) {
  co_return co_await forever.async_wait(use_tuple);
}

TEST(Within, TheDeadlineEndsAnOperationThatDoesNotFinish) {
  boost::asio::io_context io;
  asio::steady_timer forever(io, Clock::time_point::max());
  std::optional<std::optional<std::tuple<boost::system::error_code>>> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await within(past, never_done(forever)); }, asio::detached);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->has_value());
}

TEST(Within, AnOperationThatFinishesGivesItsResult) {
  boost::asio::io_context io;
  std::optional<std::optional<int>> result;
  auto answer = []() -> asio::awaitable<int> { co_return 42; };
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await within(Deadline::never(), answer()); }, asio::detached);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, std::optional<int>(42));
}

TEST(Within, CancellingTheCallersTimerEndsTheWait) {
  boost::asio::io_context io;
  asio::steady_timer forever(io, Clock::time_point::max()), wait(io);
  std::optional<std::optional<std::tuple<boost::system::error_code>>> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await within(wait, Deadline::never(), never_done(forever)); },
      asio::detached);
  asio::post(io, [&] { wait.cancel(); });  // as a message that makes the wait pointless would
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->has_value());
}

}  // namespace
}  // namespace tlslab::net
