// net::Workers — the threads a listening command runs on: one io_context per thread, each with its
// own SO_REUSEPORT acceptor on every listen address (the kernel spreads connections; threads share
// nothing on the hot path). The first worker runs on the calling thread and also handles signals
// (one thread in all with --threads 1):
//   SIGINT/SIGTERM  stop accepting, let open connections finish within the grace period, return
//   a second one   stop at once
//   SIGHUP         the reload hook
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/listener_event.hpp"

namespace tlslab::net {

struct WorkerHooks {
  std::string name;  // "serve", "proxy": names the command in its events
  // event takes what the workers have to say (an accept failed, the limit reached, a stop begun);
  // on any thread.
  std::function<void(const ListenerEvent&)> event;
  // accept takes one accepted socket — already non-blocking — and the peer's address on worker
  // `index`, on that worker's thread; it starts the connection's coroutine and returns at once.
  std::function<void(boost::asio::ip::tcp::socket, const boost::asio::ip::tcp::endpoint& peer, unsigned index)> accept;
  // stop runs on every worker's thread when a stop begins (close idle connections there).
  std::function<void(unsigned index)> stop;
  // reload runs on SIGHUP, on the control thread.
  std::function<void()> reload;
  // open_connections is reported when stopping.
  std::function<std::size_t()> open_connections;
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds grace{5'000};
  // ready is called once every listener is bound, with their addresses ("127.0.0.1:4433").
  std::function<void(const std::vector<std::string>& addresses, unsigned threads)> ready;
};

class Workers {
 public:
  // kMaxThreads bounds --threads: far past any core count, well below the open-file limit (each
  // worker holds an epoll, an eventfd and a timerfd, and one listener per address).
  static constexpr unsigned kMaxThreads = 256;

  // Workers makes the workers (0 = one per core); Failure{Usage} above kMaxThreads, Failure{Generic}
  // when the system refuses the descriptors they need.
  explicit Workers(unsigned threads);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // listen binds every address ("127.0.0.1:4433", "[::1]:8443", "*:443") on every worker;
  // Failure{Usage} for a malformed one, Failure{Connect} when it cannot be bound — also when
  // another process listens there already (or on a wildcard covering it), which SO_REUSEPORT
  // alone would let us share: "address in use by pid N (tlslab serve)". Returns the bound
  // endpoints (a port 0 is resolved).
  std::vector<boost::asio::ip::tcp::endpoint> listen(const std::vector<std::string>& addresses,
                                                     std::uint16_t default_port);

  // run serves until stopped by a signal; returns when every worker is done.
  void run(const WorkerHooks& hooks);

  [[nodiscard]] unsigned size() const;
  [[nodiscard]] boost::asio::io_context& io(unsigned index);
  [[nodiscard]] bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  // write_line writes one whole line to fd with a single write(2), so threads never mix lines.
  static void write_line(int fd, std::string line);
  // write_all writes text (whole lines, with their newlines) to fd the same way.
  static void write_all(int fd, std::string_view text);

 private:
  struct Worker;
  struct Signals;
  std::vector<std::unique_ptr<Worker>> workers_;
  // SIGINT, SIGTERM and SIGHUP are taken from construction on, before any listener is bound: a
  // signal that comes as soon as the port answers is a graceful stop, not a kill.
  std::unique_ptr<Signals> signals_;
  std::atomic<bool> stopping_{false};
};

}  // namespace tlslab::net
