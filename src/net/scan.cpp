#include "net/scan.hpp"

#include <fmt/format.h>
#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <utility>
#include <variant>

#include "base/address.hpp"
#include "net/coro.hpp"
#include "net/deadline.hpp"
#include "net/tls_io.hpp"
#include "net/transport.hpp"
#include "scan/grade.hpp"
#include "scan/hello.hpp"
#include "scan/http_probe.hpp"
#include "scan/plan.hpp"
#include "scan/server_hello.hpp"
#include "scan/suites.hpp"
#include "tls/client_context.hpp"
#include "tls/handshake_report.hpp"
#include "tls/verify.hpp"

namespace tlslab::net {
namespace ssl = boost::asio::ssl;
using scan::FullResult;
using scan::FullSpec;
using scan::ServerAnswer;

namespace {

// Limiter bounds the connections in flight (an async semaphore on one thread).
class Limiter {
 public:
  Limiter(asio::any_io_executor ex, int slots) : ex_(ex), free_(std::max(1, slots)) {}
  asio::awaitable<void> acquire() {
    while (free_ == 0) {
      asio::steady_timer wait(ex_, Clock::time_point::max());
      waiters_.push_back(&wait);
      co_await wait.async_wait(use_tuple);
    }
    --free_;
  }
  void release() {
    ++free_;
    if (!waiters_.empty()) {
      waiters_.front()->cancel();
      waiters_.pop_front();
    }
  }

 private:
  asio::any_io_executor ex_;
  int free_;
  std::deque<asio::steady_timer*> waiters_;
};

// Slot holds one of the limiter's places for the life of a connection.
class Slot {
 public:
  explicit Slot(Limiter& limiter) : limiter_(&limiter) {}
  Slot(Slot&& other) noexcept : limiter_(std::exchange(other.limiter_, nullptr)) {}
  Slot& operator=(Slot&&) = delete;
  ~Slot() {
    if (limiter_) limiter_->release();
  }

 private:
  Limiter* limiter_;
};

class Scanner {
 public:
  Scanner(const ScanOptions& o, scan::ScanReport& r, asio::io_context& io, tcp::endpoint ep, std::string sni)
      : o_(o), r_(r), plan_(r, std::move(sni)), io_(io), ep_(ep), limiter_(io.get_executor(), o.concurrency) {
    tls::ClientOptions t;
    t.tls_min = "1.0";  // see everything the server offers: security level 0
    t.insecure = true;
    t.cafile = o.cafile;
    t.capath = o.capath;
    client_ = tls::make_client_context(t);
    scan::prepare_client_context(client_.ctx.get());
    ctx_ = std::make_unique<ssl::context>(client_.ctx.release());
  }

  // run is the whole scan: the plan's groups of probes, all started at once, the longest first
  // (the limiter serves in order), so the scan takes about as long as its longest chain.
  asio::awaitable<void> run() {
    co_await speaks_tls();
    auto ex = co_await asio::this_coro::executor;
    int pending = 0;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    for (auto& group : plan_.groups()) {
      ++pending;
      ++tasks_;
      asio::co_spawn(ex, drive(group), [&](std::exception_ptr e) {
        if (e && !error_) error_ = e;
        ++tasks_done_;
        report_progress();
        if (--pending == 0) all_done.cancel();
      });
    }
    co_await all_done.async_wait(use_tuple);
    if (error_) std::rethrow_exception(error_);
    finish();
  }

 private:
  // open_slot waits for a free place under --concurrency, then for --delay, and counts the
  // connection about to be made.
  asio::awaitable<Slot> open_slot() {
    co_await limiter_.acquire();
    Slot slot(limiter_);
    if (o_.delay_ms > 0) {
      asio::steady_timer pause(io_, std::chrono::milliseconds(o_.delay_ms));
      co_await pause.async_wait(use_tuple);
    }
    count_connection();
    co_return slot;
  }

  // probe sends one hello and returns the server's first answer (Incomplete when it said nothing);
  // with through_key_exchange, a TLS <= 1.2 answer is read on to its ServerKeyExchange.
  asio::awaitable<ServerAnswer> probe(std::string hello, bool through_key_exchange = false) {
    auto slot = co_await open_slot();
    tcp::socket socket(io_);
    auto deadline = Deadline::after_seconds(o_.timeout);
    if (!(co_await connect_any(socket, std::vector(1, ep_), deadline)).connected()) co_return ServerAnswer{};
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(hello), use_tuple);
    if (wec) co_return ServerAnswer{};
    std::string got;
    std::array<char, 4096> buf;
    ServerAnswer answer;
    while (answer.kind == ServerAnswer::Kind::Incomplete && got.size() < 65536) {
      auto read = co_await within(deadline, socket.async_read_some(asio::buffer(buf), use_tuple));
      if (!read) break;
      auto [ec, n] = *read;
      got.append(buf.data(), n);
      answer = scan::parse_server_answer(got, through_key_exchange);
      if (ec) break;
    }
    // The flight ended early (closed, too long, too slow): the ServerHello alone still tells.
    if (answer.kind == ServerAnswer::Kind::Incomplete && through_key_exchange) answer = scan::parse_server_answer(got);
    boost::system::error_code ignored;
    socket.close(ignored);
    co_return answer;
  }

  // speaks_tls sends one ClientHello before the scan, so that a port that does not speak TLS is
  // said to be one (Failure{Handshake}, as connect says it), and one that says nothing times out
  // (Failure{Timeout}), instead of a report in which every probe failed. A server that hangs up
  // without a word is given a TLS 1.0 hello too (an old server may choke on a newer one).
  asio::awaitable<void> speaks_tls() {
    for (auto version : {scan::kTls12, scan::kTls10}) {
      auto spec = base_spec(version);
      spec.suites = scan::legacy_candidates();
      auto hello = scan::build_client_hello(spec);
      tcp::socket socket(io_);
      auto deadline = Deadline::after_seconds(o_.timeout);
      count_connection();
      auto connected = co_await connect_any(socket, std::vector(1, ep_), deadline);
      if (connected.outcome == Dialed::Outcome::TimedOut)
        throw Failure(Kind::Timeout, fmt::format("timed out connecting to {} after {}s", r_.address, o_.timeout));
      if (!connected.connected())
        throw Failure(Kind::Connect, fmt::format("could not connect to {}: {}", r_.address,
                                                 connected.attempts.back().error.message()));
      auto [wec, written] = co_await asio::async_write(socket, asio::buffer(hello), use_tuple);
      std::string got;
      std::array<char, 4096> buf;
      ServerAnswer answer;
      bool closed = static_cast<bool>(wec), silent = false;
      while (!closed && answer.kind == ServerAnswer::Kind::Incomplete && got.size() < 65536) {
        auto read = co_await within(deadline, socket.async_read_some(asio::buffer(buf), use_tuple));
        if (!read) {
          silent = true;
          break;
        }
        auto [ec, n] = *read;
        got.append(buf.data(), n);
        answer = scan::parse_server_answer(got);
        closed = static_cast<bool>(ec);
      }
      if (answer.kind == ServerAnswer::Kind::NotTls)
        throw Failure(Kind::Handshake,
                      fmt::format("{} does not speak TLS{}: to a ClientHello it answered \"{}\" ({})", r_.address,
                                  got.rfind("HTTP/", 0) == 0 || got.rfind("<", 0) == 0 ? " (plain HTTP?)" : "",
                                  printable_start(got), answer.error));
      if (answer.kind != ServerAnswer::Kind::Incomplete) co_return;  // a ServerHello, an alert: TLS
      if (silent)
        throw Failure(Kind::Timeout,
                      fmt::format("{} accepted the connection but answered nothing to a TLS ClientHello in {}s{}",
                                  r_.address, o_.timeout,
                                  got.empty() ? " (not a TLS server, or one that waits for the client to speak "
                                                "something else)"
                                              : ""));
      if (!got.empty()) co_return;  // the start of a TLS record, then the end: the probes will tell
    }
    throw Failure(Kind::Handshake,
                  fmt::format("{} closed the connection without answering a TLS ClientHello (TLS 1.2 or 1.0): it "
                              "does not speak TLS on this port, or refuses this client",
                              r_.address));
  }

  // printable_start is the first line of what a server sent, at most 60 characters, with bytes
  // that are not printable ASCII shown as '.'.
  static std::string printable_start(const std::string& bytes) {
    std::string out;
    for (char c : bytes.substr(0, std::min<size_t>(bytes.find_first_of("\r\n"), 60)))
      out += c >= 0x20 && c < 0x7f ? c : '.';
    return out;
  }

  void count_connection() {
    ++r_.connections;
    report_progress();
  }

  void report_progress() {
    if (o_.progress) o_.progress(r_.connections, tasks_done_, tasks_);
  }

  scan::HelloSpec base_spec(std::uint16_t version) const { return plan_.base_spec(version); }

  // drive runs a group's stages one after the other, the tasks of a stage at once.
  asio::awaitable<void> drive(scan::Group& group) {
    for (auto& stage : group.stages) {
      auto all = drive(stage.front());
      for (std::size_t i = 1; i < stage.size(); ++i) all = std::move(all) && drive(stage[i]);
      co_await std::move(all);
    }
  }

  // drive makes a task's probes one after the other, each answer handed back before the next.
  asio::awaitable<void> drive(scan::Task& task) {
    while (auto next = task.next()) {
      if (auto* hello = std::get_if<scan::HelloProbe>(&*next))
        task.take(co_await probe(std::move(hello->hello), hello->through_key_exchange));
      else
        task.take(co_await full(std::get<FullSpec>(std::move(*next))));
    }
  }

  // full runs one OpenSSL handshake (and GET / when asked).
  asio::awaitable<FullResult> full(FullSpec spec) {
    auto slot = co_await open_slot();
    FullResult out;
    ssl::stream<tcp::socket> stream(io_, *ctx_);
    SSL* s = stream.native_handle();
    out.error = scan::prepare_handshake(s, spec);
    if (!out.error.empty()) co_return out;
    tls::VerifyRecorder recorder;
    recorder.install(s);
    auto deadline = Deadline::after_seconds(o_.timeout);
    if (!(co_await connect_any(stream.next_layer(), std::vector(1, ep_), deadline)).connected()) {
      out.error = "could not connect";
      co_return out;
    }
    auto hs = co_await within(deadline, stream.async_handshake(ssl::stream_base::client, use_tuple));
    if (!hs) {
      out.error = "timed out during the handshake";
      co_return out;
    }
    if (auto [ec] = *hs; ec) {
      out.error = ec.category() == asio::error::get_ssl_category() ? tls_error_words(ec) : ec.message();
      co_return out;
    }
    out.ok = true;
    out.reused = SSL_session_reused(s) == 1;
    out.report = tls::read_handshake(s);
    out.verdict = tls::make_verdict(recorder, out.report.peer_chain, SSL_get0_peer_certificate(s), verify_name_,
                                    !verify_name_.empty(), pki::now_epoch());
    if (spec.http_get) {
      // The request also makes a TLS 1.3 server's tickets arrive before we take the session.
      std::string request = scan::probe_request(host_header_);
      auto [wec, n] = co_await asio::async_write(stream, asio::buffer(request), use_tuple);
      std::array<char, 8192> buf;
      // The response only matters for HSTS; a server that does not speak HTTP gets two seconds.
      deadline = deadline.earlier(Deadline::after(std::chrono::seconds(2)));
      while (!wec && out.response.size() < 16384 && out.response.find("\r\n\r\n") == std::string::npos) {
        auto read = co_await within(deadline, stream.async_read_some(asio::buffer(buf), use_tuple));
        if (!read) break;
        auto [ec, got] = *read;
        out.response.append(buf.data(), got);
        if (ec) break;
      }
    }
    out.session.reset(SSL_get1_session(s));
    // close_notify: a server frees the session of a connection closed without one (no resumption).
    co_await within(deadline, stream.async_shutdown(use_tuple));
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
    co_return out;
  }

  void finish() {
    plan_.finish();
    r_.grade = scan::grade(r_, pki::now_epoch());
  }

 public:
  std::string verify_name_, host_header_;

 private:
  const ScanOptions& o_;
  scan::ScanReport& r_;
  scan::Plan plan_;
  asio::io_context& io_;
  tcp::endpoint ep_;
  Limiter limiter_;
  tls::ClientContext client_;
  std::unique_ptr<ssl::context> ctx_;
  int tasks_ = 0, tasks_done_ = 0;  // groups of probes started and finished (for progress)
  std::exception_ptr error_;
};

// reach resolves the route and makes one TCP connection, to fail early with connect's codes.
tcp::endpoint reach(const ScanOptions& o, scan::ScanReport& r) {
  auto rt = route(o.target, o.resolves, {});
  asio::io_context io;
  tcp::socket socket(io);
  Dialed d;
  std::exception_ptr error;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { d = co_await connect_any(socket, rt, Deadline::after_seconds(o.timeout)); },
      [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  r.connections += static_cast<int>(d.attempts.size());
  switch (d.outcome) {
    case Dialed::Outcome::Connected:
      r.address = d.connected_address;
      return d.attempts.back().endpoint;
    case Dialed::Outcome::ResolveFailed:
      throw Failure(Kind::Resolve, fmt::format("could not resolve host {}: {}", rt.host, d.resolve_error.message()));
    case Dialed::Outcome::TimedOut:
      if (d.attempts.empty())
        throw Failure(Kind::Timeout, fmt::format("timed out resolving host {} after {}s", rt.host, o.timeout));
      throw Failure(Kind::Timeout, fmt::format("timed out connecting to {} after {}s",
                                               format_endpoint(d.attempts.back().endpoint), o.timeout));
    default:
      throw Failure(Kind::Connect, fmt::format("could not connect to {}", d.failures()));
  }
}

}  // namespace

scan::ScanReport run_scan(const ScanOptions& o) {
  auto start = Clock::now();
  scan::ScanReport report;
  report.host = o.servername.empty() ? o.target.host : o.servername;
  report.target = format_endpoint(o.target.host, o.target.port);
  auto ep = reach(o, report);
  asio::io_context io;
  Scanner scanner(o, report, io, ep, is_ip_literal(report.host) ? "" : report.host);
  scanner.verify_name_ = report.host;
  scanner.host_header_ = host_header(o.target);
  std::exception_ptr error;
  asio::co_spawn(io, scanner.run(), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  report.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return report;
}

}  // namespace tlslab::net
