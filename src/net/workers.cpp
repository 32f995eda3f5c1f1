#include "net/workers.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <thread>

#include "base/failure.hpp"
#include "connect/target.hpp"
#include "net/coro.hpp"
#include "net/port_owner.hpp"
#include "net/tls_io.hpp"
#include "net/transport.hpp"

namespace tlslab::net {

struct Workers::Worker {
  asio::io_context io{1};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // A timer that always expires within a second: Asio reprograms the kernel timer (timerfd_settime)
  // only when a new timer is the earliest, so with this one pending, a connection's deadlines
  // (seconds away) cost no system call.
  asio::steady_timer tick{io};
};

struct Workers::Signals {
  asio::signal_set set;
  explicit Signals(asio::io_context& io) : set(io, SIGINT, SIGTERM, SIGHUP) {}
};

Workers::Workers(unsigned threads) {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (threads > kMaxThreads)
    throw Failure(Kind::Usage, fmt::format("--threads {}: at most {} (this machine has {} core{}; the default is one "
                                           "thread per core)",
                                           threads, kMaxThreads, cores, cores == 1 ? "" : "s"));
  unsigned n = threads ? threads : std::min(cores, kMaxThreads);
  try {
    for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>());
  } catch (const boost::system::system_error& e) {
    // Each worker holds a few descriptors (epoll, eventfd, timerfd): the open-file limit can end it.
    throw Failure(Kind::Generic, fmt::format("cannot set up {} worker threads: {} (ulimit -n is the limit on open "
                                             "files; try fewer --threads)",
                                             n, e.code().message()));
  }
  signals_ = std::make_unique<Signals>(workers_.front()->io);
}

Workers::~Workers() = default;

unsigned Workers::size() const { return static_cast<unsigned>(workers_.size()); }
asio::io_context& Workers::io(unsigned index) { return workers_[index]->io; }

void Workers::write_line(int fd, std::string line) {
  line += '\n';
  write_all(fd, line);
}

void Workers::write_all(int fd, std::string_view text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left) {
    auto n = ::write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

namespace {

tcp::endpoint parse_listen(const std::string& text, std::uint16_t default_port) {
  auto t = connect::parse_target(text, default_port, true);
  boost::system::error_code ec;
  auto host = t.host == "localhost" ? std::string("127.0.0.1") : t.host == "*" ? std::string("0.0.0.0") : t.host;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw Failure(Kind::Usage, fmt::format("--listen '{}': '{}' is not an IP address", text, t.host));
  return {addr, t.port};
}

[[noreturn]] void refuse_taken(const tcp::endpoint& ep, const std::vector<std::uint64_t>& ours = {}) {
  throw Failure(Kind::Connect,
                fmt::format("cannot listen on {}: address in use by {}", format_endpoint(ep),
                            owner_words(ep.address().to_string(), ep.address().is_v6(), ep.port(), ours)));
}

// refuse_if_taken fails when something already listens on ep, or on a wildcard address that
// covers it. The real listeners carry SO_REUSEPORT (one per worker), which a second tlslab of the
// same user could share; this probe does not, so the kernel refuses it whenever anyone listens
// there. SO_REUSEADDR keeps a restart from failing on the last run's TIME_WAIT connections.
void refuse_if_taken(const tcp::endpoint& ep) {
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;  // the real bind says why
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ep.address().is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int rc = ::bind(fd, ep.data(), static_cast<socklen_t>(ep.size()));
  int error = errno;
  ::close(fd);
  if (rc != 0 && error == EADDRINUSE) refuse_taken(ep);
}

std::uint64_t inode_of(tcp::acceptor& acceptor) {
  struct stat st {};
  return ::fstat(acceptor.native_handle(), &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

std::unique_ptr<tcp::acceptor> bind(asio::io_context& io, const tcp::endpoint& ep) {
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  boost::system::error_code ec;
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (ep.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) acceptor->bind(ep, ec);
  if (ec == asio::error::address_in_use) refuse_taken(ep);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor->native_non_blocking(true, ec);  // accept_one calls accept4 until EAGAIN
  if (ec) throw Failure(Kind::Connect, fmt::format("cannot listen on {}: {}", format_endpoint(ep), ec.message()));
  return acceptor;
}

}  // namespace

std::vector<tcp::endpoint> Workers::listen(const std::vector<std::string>& addresses, std::uint16_t default_port) {
  std::vector<tcp::endpoint> bound;
  // The first worker binds (resolving a port 0); the others share the bound port.
  for (const auto& text : addresses) {
    auto ep = parse_listen(text, default_port);
    if (ep.port() != 0) refuse_if_taken(ep);
    auto& first = workers_.front();
    first->acceptors.push_back(bind(first->io, ep));
    bound.push_back(first->acceptors.back()->local_endpoint());
  }
  for (size_t i = 1; i < workers_.size(); ++i)
    for (const auto& ep : bound) workers_[i]->acceptors.push_back(bind(workers_[i]->io, ep));
  // Two runs started at the same moment both pass the probe; here the later one to listen sees
  // the other and gives way (both may, if each looks after both listen: never both stay).
  std::vector<std::uint64_t> ours;
  for (auto& w : workers_)
    for (auto& a : w->acceptors) ours.push_back(inode_of(*a));
  for (const auto& ep : bound)
    for (const auto& s : listeners_on(ep.address().to_string(), ep.address().is_v6(), ep.port()))
      if (std::find(ours.begin(), ours.end(), s.inode) == ours.end()) refuse_taken(ep, ours);
  return bound;
}

namespace {

// tell hands a listener event to the hooks (named after the command), if they take them.
void tell(const WorkerHooks& hooks, ListenerEvent event) {
  event.command = hooks.name;
  if (hooks.event) hooks.event(event);
}

struct Accepted {
  boost::system::error_code ec;
  tcp::socket socket;
  tcp::endpoint peer;
};

// accept_one takes the next connection with accept4(2): non-blocking from the start and with the
// peer's address, where Asio's accept needs an ioctl and a getpeername per connection.
asio::awaitable<Accepted> accept_one(tcp::acceptor& acceptor) {
  auto failed = [&](boost::system::error_code ec) { return Accepted{ec, tcp::socket(acceptor.get_executor()), {}}; };
  for (;;) {
    tcp::endpoint peer;
    auto len = static_cast<socklen_t>(peer.capacity());
    int fd = ::accept4(acceptor.native_handle(), peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.resize(len);
      tcp::socket socket(acceptor.get_executor());
      auto ec = adopt_socket(socket, peer.protocol(), fd);
      co_return Accepted{ec, std::move(socket), peer};
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return failed({errno, boost::system::system_category()});
    auto [ec] = co_await acceptor.async_wait(tcp::acceptor::wait_read, use_tuple);
    if (ec) co_return failed(ec);
  }
}

}  // namespace

void Workers::run(const WorkerHooks& hooks) {
  // Sockets are written with MSG_NOSIGNAL; this is for the logs: a reader of standard output or
  // error that went away makes a write fail, it does not stop the server.
  std::signal(SIGPIPE, SIG_IGN);
  auto accept_loop = [this, &hooks](tcp::acceptor& acceptor, unsigned index) -> asio::awaitable<void> {
    asio::steady_timer backoff(workers_[index]->io);
    bool warned = false;
    for (;;) {
      auto [ec, socket, peer] = co_await accept_one(acceptor);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping()) co_return;
        // Out of file descriptors and the like: say so once, wait a little, go on.
        if (!warned) tell(hooks, {.kind = ListenerEvent::Kind::AcceptFailed, .error = ec.message()});
        warned = true;
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(use_tuple);
        continue;
      }
      if (hooks.open_connections && hooks.open_connections() >= hooks.max_connections) {
        if (!warned) tell(hooks, {.kind = ListenerEvent::Kind::TooManyConnections, .count = hooks.max_connections});
        warned = true;
        continue;  // the socket closes as it goes out of scope
      }
      warned = false;
      hooks.accept(std::move(socket), peer, index);
    }
  };

  // Signals and the grace timer live on the first worker, which runs on the calling thread: with
  // --threads 1 the process has a single thread, so the C library's allocator takes no locks (a
  // TLS handshake makes about a thousand allocations).
  auto& control = workers_.front()->io;
  auto& signals = signals_->set;
  asio::steady_timer grace(control);
  asio::steady_timer drained(control);
  auto stop_now = [this] {
    for (auto& w : workers_) w->io.stop();
  };
  auto end_control = [&] {
    grace.cancel();
    drained.cancel();
    signals.cancel();
  };
  // Once stopping, every few milliseconds: when no connection is left, the control work ends too,
  // so every worker runs out of work and returns.
  std::function<void()> watch_drain = [&] {
    if (!hooks.open_connections || hooks.open_connections() == 0) return end_control();
    drained.expires_after(std::chrono::milliseconds(20));
    drained.async_wait([&](boost::system::error_code ec) {
      if (!ec) watch_drain();
    });
  };
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        if (hooks.reload) hooks.reload();
        wait_signal();
        return;
      }
      auto open = hooks.open_connections ? hooks.open_connections() : 0;
      tell(hooks, {.kind = ListenerEvent::Kind::Stopping, .count = open, .signal = signo, .grace = hooks.grace});
      stopping_ = true;
      for (unsigned i = 0; i < workers_.size(); ++i) {
        asio::post(workers_[i]->io, [this, i, &hooks] {
          for (auto& a : workers_[i]->acceptors) {
            boost::system::error_code ignored;
            a->close(ignored);
          }
          workers_[i]->tick.cancel();
          if (hooks.stop) hooks.stop(i);
        });
      }
      grace.expires_after(hooks.grace);
      grace.async_wait([&](boost::system::error_code gec) {
        if (!gec) stop_now();
      });
      signals.async_wait([&](boost::system::error_code sec, int) {  // a second signal: stop now
        if (!sec) stop_now();
      });
      asio::post(control, watch_drain);  // after every worker's stop hook had its turn
    });
  };
  wait_signal();

  auto tick_loop = [this](asio::steady_timer& tick) -> asio::awaitable<void> {
    while (!stopping()) {
      tick.expires_after(std::chrono::seconds(1));
      auto [ec] = co_await tick.async_wait(use_tuple);
      if (ec) co_return;
    }
  };
  for (unsigned i = 0; i < workers_.size(); ++i) {
    for (auto& a : workers_[i]->acceptors) asio::co_spawn(workers_[i]->io, accept_loop(*a, i), asio::detached);
    asio::co_spawn(workers_[i]->io, tick_loop(workers_[i]->tick), asio::detached);
  }
  if (hooks.ready) {
    std::vector<std::string> addresses;
    for (const auto& a : workers_.front()->acceptors) addresses.push_back(format_endpoint(a->local_endpoint()));
    hooks.ready(addresses, size());
  }
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < workers_.size(); ++i)
    pool.emplace_back([worker = workers_[i].get()] { worker->io.run(); });
  control.run();
  for (auto& t : pool) t.join();
}

}  // namespace tlslab::net
