#include "net/transport.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <tuple>

#include "base/address.hpp"
#include "net/tls_io.hpp"

namespace tlslab::net {
namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool of_family(const std::optional<tcp>& family, const asio::ip::address& address) {
  return !family || (*family == tcp::v4()) == address.is_v4();
}

// open_socket opens socket for protocol: non-blocking from the start and adopted
// (net::adopt_socket), with Nagle off before the first byte.
boost::system::error_code open_socket(tcp::socket& socket, const tcp& protocol) {
  boost::system::error_code ec;
  socket.close(ec);
  int fd = ::socket(protocol.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return {errno, boost::system::system_category()};
  ec = adopt_socket(socket, protocol, fd);
  if (!ec) socket.set_option(tcp::no_delay(true), ec);
  return ec;
}

asio::awaitable<Resolved> resolve_with(tcp::resolver& resolver, const std::string& host, std::uint16_t port,
                                       const std::optional<tcp>& family) {
  auto service = std::to_string(port);
  auto [ec, results] = family ? co_await resolver.async_resolve(*family, host, service, use_tuple)
                              : co_await resolver.async_resolve(host, service, use_tuple);
  Resolved out{ec, {}};
  for (const auto& entry : results) out.endpoints.push_back(entry.endpoint());
  co_return out;
}

}  // namespace

std::string format_endpoint(const tcp::endpoint& endpoint) {
  return format_endpoint(endpoint.address().to_string(), endpoint.port());
}

std::string Dialed::failures() const {
  std::string out;
  for (const auto& a : attempts)
    if (a.error)
      out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", format_endpoint(a.endpoint), a.error.message());
  return out;
}

asio::awaitable<Dialed> Dialer::connect_any(tcp::socket& socket, const connect::Route& route, Deadline deadline,
                                            const DialOptions& options) {
  Dialed dialed;
  socket_ = &socket;
  Alarm alarm(executor_);
  alarm.arm(deadline, [this] { halt(); });
  auto start = Clock::now();
  if (!route.addresses.empty()) {
    for (const auto& a : route.addresses)
      if (auto address = asio::ip::make_address(a); of_family(options.family, address))
        dialed.addresses.emplace_back(address, route.port);
    if (dialed.addresses.empty()) {
      dialed.outcome = Dialed::Outcome::NoAddress;
      socket_ = nullptr;
      co_return dialed;
    }
  } else {
    auto resolved = co_await resolve(route, options.family);
    if (resolved.error || stopped_) {
      dialed.resolve_error = resolved.error;
      dialed.outcome = !stopped_         ? Dialed::Outcome::ResolveFailed
                       : alarm.expired() ? Dialed::Outcome::TimedOut
                                         : Dialed::Outcome::Stopped;
      socket_ = nullptr;
      co_return dialed;
    }
    dialed.addresses = std::move(resolved.endpoints);
  }
  dialed.resolve_ms = ms_since(start);
  if (options.on_resolved) options.on_resolved(dialed);
  co_await try_each(socket, dialed, alarm);
  co_return dialed;
}

asio::awaitable<Dialed> Dialer::connect_any(tcp::socket& socket, std::vector<tcp::endpoint> endpoints,
                                            Deadline deadline) {
  Dialed dialed;
  dialed.addresses = std::move(endpoints);
  socket_ = &socket;
  Alarm alarm(executor_);
  alarm.arm(deadline, [this] { halt(); });
  co_await try_each(socket, dialed, alarm);
  co_return dialed;
}

asio::awaitable<Resolved> Dialer::resolve(const connect::Route& route, const std::optional<tcp>& family) {
  if (!resolver_) resolver_.emplace(executor_);
  co_return co_await resolve_with(*resolver_, route.host, route.port, family);
}

asio::awaitable<void> Dialer::try_each(tcp::socket& socket, Dialed& dialed, const Alarm& alarm) {
  auto start = Clock::now();
  for (const auto& endpoint : dialed.addresses) {
    if (stopped_) break;
    auto ec = open_socket(socket, endpoint.protocol());
    if (!ec) std::tie(ec) = co_await socket.async_connect(endpoint, use_tuple);
    dialed.attempts.push_back({endpoint, ec});
    if (!ec) {
      boost::system::error_code ignored;
      dialed.outcome = Dialed::Outcome::Connected;
      dialed.connected_address = format_endpoint(endpoint);
      dialed.local_address = format_endpoint(socket.local_endpoint(ignored));
      dialed.connect_ms = ms_since(start);
      socket_ = nullptr;
      co_return;
    }
  }
  socket_ = nullptr;
  dialed.outcome = !stopped_         ? Dialed::Outcome::ConnectFailed
                   : alarm.expired() ? Dialed::Outcome::TimedOut
                                     : Dialed::Outcome::Stopped;
}

void Dialer::stop() { halt(); }

void Dialer::halt() {
  stopped_ = true;
  if (resolver_) resolver_->cancel();
  boost::system::error_code ignored;
  if (socket_) socket_->close(ignored);
}

asio::awaitable<Dialed> connect_any(tcp::socket& socket, const connect::Route& route, Deadline deadline,
                                    const DialOptions& options) {
  Dialer dialer(socket.get_executor());
  co_return co_await dialer.connect_any(socket, route, deadline, options);
}

asio::awaitable<Dialed> connect_any(tcp::socket& socket, std::vector<tcp::endpoint> endpoints, Deadline deadline) {
  Dialer dialer(socket.get_executor());
  co_return co_await dialer.connect_any(socket, std::move(endpoints), deadline);
}

asio::awaitable<Resolved> resolve_name(const std::string& host, std::uint16_t port) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  co_return co_await resolve_with(resolver, host, port, std::nullopt);
}

}  // namespace tlslab::net
