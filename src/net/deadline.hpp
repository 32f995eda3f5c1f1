// net::Deadline — the point in time by which something must be done — and the two ways net/ holds
// operations to one: `within` races an operation against it, an `Alarm` acts (closes or cancels a
// socket) when it passes, so the operation in progress fails and says where it was.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>
#include <variant>

#include "net/coro.hpp"

namespace tlslab::net {

// Deadline is a point on the steady clock, or never. Plain arithmetic, no I/O.
class Deadline {
 public:
  constexpr Deadline() = default;  // never
  constexpr explicit Deadline(Clock::time_point at) : at_(at) {}
  [[nodiscard]] static constexpr Deadline never() { return {}; }
  // after is from + limit; a limit too far for the clock is never (no overflow into the past).
  [[nodiscard]] static Deadline after(Clock::duration limit, Clock::time_point from = Clock::now());
  // after_seconds is from + seconds, as --max-time and the like give them: a limit too far for
  // the clock (1e308, infinity) or NaN is never; zero or less has passed already.
  [[nodiscard]] static Deadline after_seconds(double seconds, Clock::time_point from = Clock::now());

  [[nodiscard]] constexpr Clock::time_point at() const { return at_; }
  [[nodiscard]] constexpr bool is_never() const { return at_ == Clock::time_point::max(); }
  [[nodiscard]] bool passed(Clock::time_point now = Clock::now()) const { return now >= at_; }
  // left is the time until the deadline; zero once it has passed.
  [[nodiscard]] Clock::duration left(Clock::time_point now = Clock::now()) const {
    return passed(now) ? Clock::duration::zero() : at_ - now;
  }
  // earlier is the sooner of the two deadlines.
  [[nodiscard]] constexpr Deadline earlier(Deadline other) const { return other.at_ < at_ ? other : *this; }
  friend constexpr auto operator<=>(const Deadline&, const Deadline&) = default;

 private:
  Clock::time_point at_ = Clock::time_point::max();
};

// within runs op until it completes or the timer, set to deadline, ends first: op's result, or
// nothing when the deadline passed or the caller cancelled the timer to stop waiting (op is then
// cancelled). The timer is the caller's so that something else (a message that makes the wait
// pointless) can end the wait early.
template <class T>
asio::awaitable<std::optional<T>> within(asio::steady_timer& timer, Deadline deadline, asio::awaitable<T> op) {
  timer.expires_at(deadline.at());
  auto first = co_await (std::move(op) || timer.async_wait(use_tuple));
  if (first.index() != 0) co_return std::nullopt;
  co_return std::get<0>(std::move(first));
}

// within runs op until it completes or deadline passes: op's result, or nothing when the
// deadline came first (op is then cancelled).
template <class T>
asio::awaitable<std::optional<T>> within(Deadline deadline, asio::awaitable<T> op) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  co_return co_await within(timer, deadline, std::move(op));
}

// Alarm runs an action once when a deadline passes, unless it is disarmed or destroyed first.
class Alarm {
 public:
  explicit Alarm(const asio::any_io_executor& executor) : timer_(executor) {}
  Alarm(Alarm&&) noexcept = default;
  Alarm& operator=(Alarm&&) = delete;
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;
  ~Alarm() { disarm(); }

  // arm sets the deadline and the action, replacing those of an earlier arm(): an expiry of the
  // earlier one already on its way no longer acts. A deadline that never passes only disarms.
  void arm(Deadline deadline, std::function<void()> action);
  void disarm();
  // expired says whether the action ran.
  [[nodiscard]] bool expired() const { return state_ && state_->expired; }

 private:
  struct State {
    unsigned armed = 0;  // counts the arms and disarms; an expiry acts only for the latest
    bool expired = false;
    std::function<void()> action;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_ = std::make_shared<State>();  // outlives the Alarm in a queued expiry
};

// cancel_at returns an Alarm that cancels socket's pending operations when deadline passes: they
// fail with operation_aborted, and the Alarm's expired() tells why.
template <class Socket>
[[nodiscard]] Alarm cancel_at(Socket& socket, Deadline deadline) {
  Alarm alarm(socket.get_executor());
  alarm.arm(deadline, [&socket] {
    boost::system::error_code ignored;
    socket.cancel(ignored);
  });
  return alarm;
}

}  // namespace tlslab::net
