// net::connect_any — the one way net/ opens a TCP connection: resolve the route (unless it gives
// fixed addresses), keep the addresses of the family asked for, try each in order until one
// connects or the deadline passes, and tell what happened at each step, so each command words
// its own messages and reports from the facts.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "connect/target.hpp"
#include "net/coro.hpp"
#include "net/deadline.hpp"

namespace tlslab::net {

// format_endpoint is base's format_endpoint (also reachable here) for an Asio endpoint:
// "127.0.0.1:443", "[::1]:443".
using ::tlslab::format_endpoint;
[[nodiscard]] std::string format_endpoint(const tcp::endpoint& endpoint);

// Attempt is one address tried; error is empty for the one that connected.
struct Attempt {
  tcp::endpoint endpoint;
  boost::system::error_code error;
};

// Dialed is what connect_any did.
struct Dialed {
  enum class Outcome {
    Connected,
    NoAddress,      // the route's fixed addresses hold none of the family asked for
    ResolveFailed,  // resolve_error says why
    ConnectFailed,  // every address was tried; attempts say why each failed
    TimedOut,       // the deadline passed: while resolving when attempts is empty, else during the last attempt
    Stopped,        // Dialer::stop() ended it: idem
  };
  Outcome outcome = Outcome::ConnectFailed;
  std::vector<tcp::endpoint> addresses;  // resolved or given (of the family asked for), in the order tried
  std::vector<Attempt> attempts;         // the addresses tried, in order; when connected, the last one
  boost::system::error_code resolve_error;
  std::string connected_address;  // "127.0.0.1:4433", "[::1]:443"
  std::string local_address;
  double resolve_ms = 0;  // resolving (or taking the fixed addresses), in milliseconds
  double connect_ms = 0;  // from the first connect to the connection
  [[nodiscard]] bool connected() const { return outcome == Outcome::Connected; }
  // failures lists the failed attempts: "127.0.0.1:1: Connection refused; [::1]:1: Connection refused".
  [[nodiscard]] std::string failures() const;
};

struct DialOptions {
  std::optional<tcp> family;  // tcp::v4() or tcp::v6(): only addresses of that family; none: any
  // on_resolved is called once the addresses are known, before the first connect (a terminal
  // shows them while the connection is being made).
  std::function<void(const Dialed&)> on_resolved;
};

// Resolved is a name's addresses, or why there are none.
struct Resolved {
  boost::system::error_code error;
  std::vector<tcp::endpoint> endpoints;
};

// Dialer makes connections that something outside the coroutine (a watchdog, Ctrl-C) can stop.
class Dialer {
 public:
  explicit Dialer(const asio::any_io_executor& executor) : executor_(executor) {}

  // connect_any connects socket to route (see the file comment). The socket is opened again for
  // each address: non-blocking from the start and adopted (net::adopt_socket), with Nagle off
  // before the first byte.
  asio::awaitable<Dialed> connect_any(tcp::socket& socket, const connect::Route& route, Deadline deadline,
                                      const DialOptions& options = {});
  // connect_any tries the given endpoints in order.
  asio::awaitable<Dialed> connect_any(tcp::socket& socket, std::vector<tcp::endpoint> endpoints, Deadline deadline);

  // stop ends the connect_any in progress, and any later one, with Stopped: the pending resolve or
  // connect fails (the socket is closed) and no other address is tried.
  void stop();

 private:
  asio::awaitable<Resolved> resolve(const connect::Route& route, const std::optional<tcp>& family);
  asio::awaitable<void> try_each(tcp::socket& socket, Dialed& dialed, const Alarm& alarm);
  void halt();

  asio::any_io_executor executor_;
  std::optional<tcp::resolver> resolver_;  // made only when a name is to be resolved
  tcp::socket* socket_ = nullptr;          // the socket being connected
  bool stopped_ = false;
};

// connect_any connects with a Dialer of its own, for callers that end connections by deadline only.
asio::awaitable<Dialed> connect_any(tcp::socket& socket, const connect::Route& route, Deadline deadline,
                                    const DialOptions& options = {});
asio::awaitable<Dialed> connect_any(tcp::socket& socket, std::vector<tcp::endpoint> endpoints, Deadline deadline);

// resolve_name asks the system resolver for host's addresses, port filled in.
asio::awaitable<Resolved> resolve_name(const std::string& host, std::uint16_t port);

}  // namespace tlslab::net
