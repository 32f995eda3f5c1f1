#include "net/deadline.hpp"

namespace tlslab::net {

Deadline Deadline::after(Clock::duration limit, Clock::time_point from) {
  if (limit > Clock::duration::zero() && limit >= Clock::time_point::max() - from) return never();
  return Deadline(from + limit);
}

Deadline Deadline::after_seconds(double seconds, Clock::time_point from) {
  if (seconds <= 0) return Deadline(from);
  std::chrono::duration<double, Clock::period> limit = std::chrono::duration<double>(seconds);
  // Below 2^63 ticks the conversion to the clock's integer is exact enough and cannot overflow;
  // after() then says never when from + limit is beyond the clock.
  if (!(limit.count() < 0x1p63)) return never();  // too far, infinite or NaN
  return after(std::chrono::duration_cast<Clock::duration>(limit), from);
}

void Alarm::arm(Deadline deadline, std::function<void()> action) {
  disarm();
  if (deadline.is_never()) return;
  state_->action = std::move(action);
  timer_.expires_at(deadline.at());
  timer_.async_wait([state = state_, armed = state_->armed](boost::system::error_code ec) {
    if (ec || armed != state->armed) return;
    state->expired = true;
    auto act = std::move(state->action);  // the action may end the Alarm's owner
    act();
  });
}

void Alarm::disarm() {
  if (!state_) return;  // moved from
  ++state_->armed;
  state_->action = nullptr;
  timer_.cancel();
}

}  // namespace tlslab::net
