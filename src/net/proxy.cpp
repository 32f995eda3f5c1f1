#include "net/proxy.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "http/site.hpp"
#include "net/target.hpp"
#include "net/tls_io.hpp"
#include "net/tls_socket.hpp"
#include "net/workers.hpp"
#include "ossl/error.hpp"
#include "pki/ca.hpp"
#include "proxy/client_hello.hpp"
#include "proxy/dns.hpp"
#include "proxy/flow.hpp"
#include "proxy/forge.hpp"
#include "proxy/har.hpp"
#include "tls/client_context.hpp"
#include "tls/session_cache.hpp"
#include "tls/verify.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Plain gives a TCP socket the read_some/write_all shape of TlsSocket, for the one pump.
struct Plain {
  tcp::socket& socket;
  // Asio's read tries the socket first and then waits: nothing to wait for before it.
  static asio::awaitable<boost::system::error_code> wait_for_data() { co_return boost::system::error_code(); }
  asio::awaitable<IoResult> read_some(char* data, std::size_t size) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(data, size), use_tuple);
    co_return IoResult{ec, n};
  }
  asio::awaitable<boost::system::error_code> write_all(const char* data, std::size_t size) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data, size), use_tuple);
    co_return ec;
  }
};

// RelayBuffer is a relay's copy buffer, taken from a per-thread free list when there are bytes to
// copy and given back after: an idle connection holds none (two 16 KiB buffers were half of what an
// idle intercepted connection cost).
template <std::size_t Size>
class RelayBuffer {
 public:
  RelayBuffer() {
    if (free_.empty())
      p_ = std::make_unique_for_overwrite<char[]>(Size);
    else
      p_ = std::move(free_.back()), free_.pop_back();
  }
  ~RelayBuffer() {
    if (free_.size() < kKept) free_.push_back(std::move(p_));
  }
  RelayBuffer(const RelayBuffer&) = delete;
  RelayBuffer& operator=(const RelayBuffer&) = delete;
  [[nodiscard]] char* data() const { return p_.get(); }
  static constexpr std::size_t size() { return Size; }

 private:
  static constexpr std::size_t kKept = (1 << 20) / Size;  // at most 1 MiB kept per thread and size
  static thread_local std::vector<std::unique_ptr<char[]>> free_;
  std::unique_ptr<char[]> p_;
};
template <std::size_t Size>
thread_local std::vector<std::unique_ptr<char[]>> RelayBuffer<Size>::free_;

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ossl::Ptr<SSL_CTX> make_upstream_context(const ProxyOptions& o, tls::SessionCache& sessions) {
  tls::ClientOptions c;
  c.cafile = o.upstream_cacert;
  c.keylog_file = o.keylog_file;
  auto built = tls::make_client_context(c);
  SSL_CTX_set_mode(built.ctx.get(), SSL_MODE_RELEASE_BUFFERS);  // idle connections hold no record buffers
  sessions.install(built.ctx.get());
  return std::move(built.ctx);
}

// State shared by every connection of one proxy run.
struct Shared {
  const ProxyOptions& o;
  proxy::Forger forger;
  tls::SessionCache sessions;   // upstream sessions per server and name: new connections resume
  ossl::Ptr<SSL_CTX> upstream;  // client side, towards the real servers
  std::vector<proxy::Endpoint> listeners;
  std::atomic<std::size_t> connections{0};
  std::mutex out_mutex;  // --dump and log lines on stdout
  std::mutex har_mutex;
  std::vector<nlohmann::json> har;
  // The last forgery served for each requested name, and the real certificate it was made for.
  struct Served {
    std::shared_ptr<const proxy::Forged> forged;
    ossl::Ptr<X509> real;
  };
  std::mutex by_name_mutex;
  std::unordered_map<std::string, Served> by_name;
  std::atomic<std::uint64_t> reused{0};
  std::mutex first_mutex;
  std::unordered_map<std::string, bool> shown_forgery;

  Shared(const ProxyOptions& options, const pki::Ca& ca)
      : o(options),
        forger(ca, proxy::ForgeOptions{options.cert_cache, options.keylog_file, "1.2", options.cert_cache_dir,
                                       [this](const std::string& line) { note(line); }}),
        sessions(options.cert_cache),
        upstream(make_upstream_context(options, sessions)) {}

  Served served_for(const std::string& name) {
    std::lock_guard lock(by_name_mutex);
    auto it = by_name.find(name);
    if (it == by_name.end()) return {};
    return {it->second.forged, it->second.real ? ossl::up_ref(it->second.real.get()) : nullptr};
  }
  void remember(const std::string& name, std::shared_ptr<const proxy::Forged> forged, X509* real) {
    Served entry{std::move(forged), real ? ossl::up_ref(real) : nullptr};
    Served old;  // freed outside the lock
    std::lock_guard lock(by_name_mutex);
    if (by_name.size() >= o.cert_cache && !by_name.count(name)) by_name.clear();  // bounded, crudely
    old = std::exchange(by_name[name], std::move(entry));
  }

  void log(const std::string& line) {
    std::lock_guard lock(out_mutex);
    Workers::write_line(1, line);
  }
  void note(const std::string& what) {  // about the proxy itself, not a connection
    if (o.log_json)
      Workers::write_line(2, nlohmann::json{{"note", what}}.dump());
    else
      Workers::write_line(2, fmt::format("tlslab proxy: {}", what));
  }
  void error(const std::string& client, const std::string& what) {
    if (o.log_json)
      Workers::write_line(2, nlohmann::json{{"client", client}, {"error", what}}.dump());
    else
      Workers::write_line(2, fmt::format("tlslab proxy: {}: {}", client, what));
  }
};

std::string endpoint_text(const tcp::endpoint& ep) { return Workers::endpoint_text(ep); }

// Watchdog closes a connection's sockets after `idle` without traffic.
class Watchdog {
 public:
  Watchdog(asio::any_io_executor ex, std::chrono::milliseconds idle) : timer_(ex), idle_(idle) {}
  void touch() { last_ = std::chrono::steady_clock::now(); }
  template <class... Sockets>
  asio::awaitable<void> watch(Sockets&... sockets) {
    touch();
    for (;;) {
      timer_.expires_after(idle_ / 4 + std::chrono::milliseconds(10));
      auto [ec] = co_await timer_.async_wait(use_tuple);
      if (ec || done_) co_return;
      if (std::chrono::steady_clock::now() - last_ >= idle_) {
        timed_out_ = true;
        boost::system::error_code ignored;
        (sockets.close(ignored), ...);
        co_return;
      }
    }
  }
  void finish() {
    done_ = true;
    timer_.cancel();
  }
  [[nodiscard]] bool timed_out() const { return timed_out_; }

 private:
  asio::steady_timer timer_;
  std::chrono::milliseconds idle_;
  std::chrono::steady_clock::time_point last_{};
  bool done_ = false;
  bool timed_out_ = false;
};

struct Counters {
  std::uint64_t up = 0;    // client -> server
  std::uint64_t down = 0;  // server -> client
};

// Deadline cancels a socket's pending operations if it is still alive after `limit`.
class Deadline {
 public:
  template <class Socket>
  Deadline(Socket& socket, std::chrono::milliseconds limit) : timer_(socket.get_executor()) {
    timer_.expires_after(limit);
    timer_.async_wait([&socket, fired = fired_](boost::system::error_code ec) {
      if (ec) return;
      *fired = true;
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
  }
  ~Deadline() { timer_.cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  [[nodiscard]] bool expired() const { return *fired_; }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> fired_ = std::make_shared<bool>(false);
};

// error_page is a complete HTTP/1.1 response with a small HTML page saying why.
std::string error_page(unsigned status, const std::string& why) {
  const char* reason = status == 502 ? "Bad Gateway" : "Bad Request";
  auto body = fmt::format(
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0} {1} — tlslab proxy</title></head>\n"
      "<body><h1>{0} {1}</h1>\n<p>tlslab proxy could not give you this site: {2}</p>\n</body></html>\n",
      status, reason, http::html_escape(why));
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "Connection: close\r\n\r\n{}",
      status, reason, body.size(), body);
}

std::string tls_version(SSL* ssl) { return SSL_get_version(ssl); }

// session_alpn is the protocol a session negotiated ("" none).
std::string session_alpn(const SSL_SESSION* session) {
  const unsigned char* alpn = nullptr;
  std::size_t len = 0;
  if (session) SSL_SESSION_get0_alpn_selected(session, &alpn, &len);
  return alpn ? std::string(reinterpret_cast<const char*>(alpn), len) : std::string();
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shared& shared, tcp::socket client, const tcp::endpoint& peer)
      : s_(shared),
        client_(std::move(client)),
        upstream_(client_.get_executor()),
        dog_(client_.get_executor(), shared.o.idle_timeout),
        peer_(endpoint_text(peer)) {
    boost::system::error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
  }

  asio::awaitable<void> run() {
    ++s_.connections;
    struct Guard {
      Shared& s;
      ~Guard() { --s.connections; }
    } guard{s_};
    auto self = shared_from_this();
    try {
      // (Not a ?: inside co_await: GCC 12 evaluates both arms there.)
      std::pair<std::string, std::uint16_t> target{"", s_.o.upstream_port};
      if (s_.o.mode == "reverse") target = reverse_target();
      if (s_.o.mode == "explicit")
        co_await run_explicit();
      else
        co_await run_tls_entry(target);
    } catch (const std::exception& e) {
      s_.error(peer_, fmt::format("connection failed: {}", e.what()));
    }
    dog_.finish();
    boost::system::error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
  }

 private:
  std::pair<std::string, std::uint16_t> reverse_target() const {
    auto t = parse_target(s_.o.upstream, 443);
    return {t.host, t.port};
  }

  // read_hello buffers the client's first flight until its SNI and ALPN can be read.
  asio::awaitable<bool> read_hello(proxy::ClientHelloReader& reader, std::string_view already) {
    Deadline deadline(client_, s_.o.handshake_timeout);
    auto state = already.empty() ? proxy::ClientHelloReader::State::NeedMore : reader.feed(already);
    std::array<char, 4096> buf;
    while (state == proxy::ClientHelloReader::State::NeedMore) {
      auto [ec, n] = co_await receive(client_, asio::buffer(buf));
      if (!ec && n == 0) ec = asio::error::eof;
      if (ec) {
        if (deadline.expired())
          s_.error(peer_, "no complete ClientHello in time; closed");
        else if (!reader.buffered().empty())
          s_.error(peer_, "closed in the middle of its ClientHello");
        co_return false;
      }
      state = reader.feed(std::string_view(buf.data(), n));
    }
    if (state != proxy::ClientHelloReader::State::Done) {
      s_.error(peer_, fmt::format("not a TLS client ({}); closed", reader.error()));
      co_return false;
    }
    co_return true;
  }

  // resolve_upstream finds where host really lives: --upstream-resolve, else the system resolver.
  // Addresses that are this proxy's own listeners are left out. why says what went wrong when
  // nothing remains.
  asio::awaitable<std::vector<tcp::endpoint>> resolve_upstream(const std::string& host, std::uint16_t port,
                                                               std::string& why) {
    std::vector<tcp::endpoint> out;
    for (const auto& r : s_.o.upstream_resolve)
      if (r.matches(host, port)) out.emplace_back(asio::ip::make_address(r.address), port);
    if (out.empty()) {
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(host, ec);
      if (!ec) {
        out.emplace_back(addr, port);
      } else if (s_.o.dns) {
        out = co_await dns_lookup(host, port, why);
        if (out.empty()) co_return out;
      } else {
        tcp::resolver resolver(client_.get_executor());
        auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
        if (rec) {
          why =
              fmt::format("cannot resolve {}: {} (map it with --upstream-resolve {}:ADDR)", host, rec.message(), host);
          co_return out;
        }
        for (const auto& e : results) out.push_back(e.endpoint());
      }
    }
    std::vector<tcp::endpoint> safe;
    for (const auto& ep : out) {
      if (proxy::is_loop({ep.address().to_string(), ep.port()}, s_.listeners)) {
        why = fmt::format(
            "{} resolves to {}, which is this proxy itself: refusing the loop (the redirect that sends clients "
            "here must not apply to the proxy; use --upstream-resolve {}:ADDR)",
            host, endpoint_text(ep), host);
        continue;
      }
      safe.push_back(ep);
    }
    co_return safe;
  }

  // dns_lookup asks the --dns server for host's A and AAAA records (IPv4 first), over UDP.
  asio::awaitable<std::vector<tcp::endpoint>> dns_lookup(const std::string& host, std::uint16_t port,
                                                         std::string& why) {
    std::vector<tcp::endpoint> out;
    asio::ip::udp::endpoint server(asio::ip::make_address(s_.o.dns->address), s_.o.dns->port);
    auto where = endpoint_text(tcp::endpoint(server.address(), server.port()));
    asio::ip::udp::socket socket(client_.get_executor());
    boost::system::error_code ec;
    socket.open(server.protocol(), ec);
    if (!ec) socket.connect(server, ec);
    thread_local std::mt19937 random(std::random_device{}());
    auto id = static_cast<std::uint16_t>(random());
    const std::uint16_t types[] = {proxy::kDnsTypeA, proxy::kDnsTypeAaaa};
    for (std::uint16_t i = 0; i < 2 && !ec; ++i) {
      auto query = proxy::dns_query(host, types[i], static_cast<std::uint16_t>(id + i));
      std::tie(ec, std::ignore) = co_await socket.async_send(asio::buffer(query), use_tuple);
    }
    std::optional<proxy::DnsAnswer> answers[2];
    {
      Deadline deadline(socket, std::chrono::milliseconds(3000));
      std::array<char, 1500> buf;  // without EDNS an answer over UDP is 512 bytes at most
      while (!ec && (!answers[0] || !answers[1])) {
        std::size_t n = 0;
        std::tie(ec, n) = co_await socket.async_receive(asio::buffer(buf), use_tuple);
        if (ec) {
          if (deadline.expired())
            why = fmt::format("cannot resolve {}: no answer from the DNS server {} in 3 s", host, where);
          break;
        }
        for (std::uint16_t i = 0; i < 2; ++i)
          if (!answers[i])
            if (auto a = proxy::read_dns_answer({buf.data(), n}, static_cast<std::uint16_t>(id + i), types[i]);
                a.matched)
              answers[i] = std::move(a);
      }
    }
    for (const auto& a : answers)
      if (a)
        for (const auto& address : a->addresses) out.emplace_back(asio::ip::make_address(address), port);
    if (out.empty() && why.empty())
      why = fmt::format("cannot resolve {} with the DNS server {}: {}", host, where,
                        ec           ? ec.message()
                        : answers[0] ? answers[0]->error
                                     : std::string("no answer"));
    co_return out;
  }

  // open_upstream makes the socket for a connection to ep: non-blocking from the start and adopted
  // (net::adopt_socket), with Nagle off before the first byte.
  boost::system::error_code open_upstream(const tcp::endpoint& ep) {
    int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return {errno, boost::system::system_category()};
    auto ec = adopt_socket(upstream_, ep.protocol(), fd);
    if (!ec) upstream_.set_option(tcp::no_delay(true), ec);
    return ec;
  }

  // connect_upstream opens the TCP connection to the real server; returns "" or why it failed.
  asio::awaitable<std::string> connect_upstream(const std::string& host, std::uint16_t port) {
    std::string why;
    auto endpoints = co_await resolve_upstream(host, port, why);
    if (endpoints.empty()) co_return why;
    asio::steady_timer timer(client_.get_executor());
    timer.expires_after(s_.o.connect_timeout);
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        upstream_.close(ignored);
      }
    });
    std::string errors;
    for (const auto& ep : endpoints) {
      boost::system::error_code ignored;
      upstream_.close(ignored);
      auto ec = open_upstream(ep);
      if (!ec) std::tie(ec) = co_await upstream_.async_connect(ep, use_tuple);
      if (!ec) {
        timer.cancel();
        upstream_address_ = endpoint_text(ep);
        co_return std::string();
      }
      errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", endpoint_text(ep), ec.message());
    }
    timer.cancel();
    co_return fmt::format("cannot connect to {}:{}: {}", host, port, errors);
  }

  // pump copies from -> to until from ends or a write fails; returns how it ended (eof is a clean
  // end: a FIN, or a close_notify under TLS). Size is the buffer: one TLS record is 16 KiB.
  template <std::size_t Size, class From, class To>
  asio::awaitable<boost::system::error_code> pump(From& from, To& to, bool upward, proxy::HttpObserver* observer,
                                                  Counters& counters) {
    for (;;) {
      if (auto ec = co_await from.wait_for_data()) co_return ec;
      RelayBuffer<Size> buf;
      auto [ec, n] = co_await from.read_some(buf.data(), buf.size());
      if (n) {
        dog_.touch();
        // A request is seen before it goes on (so no answer can come before the observer knows
        // its request); a response goes on first and is seen afterwards, off the relay's latency.
        std::string_view bytes(buf.data(), n);
        double at = observer ? now_ms() : 0;
        if (observer && upward) observer->client_bytes(bytes, at);
        auto wec = co_await to.write_all(buf.data(), n);
        if (observer && !upward) observer->server_bytes(bytes, at);
        if (wec) co_return wec;
        (upward ? counters.up : counters.down) += n;
      }
      if (ec) co_return ec;
    }
  }

  // relay_raw copies bytes both ways untouched (pass-through, or an unparsed tunnel), with
  // half-closes propagated: a FIN from one side becomes a FIN to the other, and the other
  // direction goes on until it ends too.
  asio::awaitable<Counters> relay_raw(std::string_view first_up, proxy::HttpObserver* observer = nullptr) {
    Counters c;
    if (!first_up.empty()) {
      if (observer) observer->client_bytes(first_up, now_ms());
      auto [ec, n] = co_await asio::async_write(upstream_, asio::buffer(first_up.data(), first_up.size()), use_tuple);
      c.up += n;
      if (ec) co_return c;
    }
    Plain client{client_}, upstream{upstream_};
    auto up = [&]() -> asio::awaitable<void> {
      co_await pump<64 * 1024>(client, upstream, true, observer, c);
      boost::system::error_code ignored;
      upstream_.shutdown(tcp::socket::shutdown_send, ignored);
    };
    auto down = [&]() -> asio::awaitable<void> {
      co_await pump<64 * 1024>(upstream, client, false, observer, c);
      boost::system::error_code ignored;
      client_.shutdown(tcp::socket::shutdown_send, ignored);
    };
    co_await ((up() && down()) || dog_.watch(client_, upstream_));
    co_return c;
  }

  // relay_tls copies the decrypted bytes between the two TLS legs. Ends are passed on as they
  // came: a close_notify becomes a close_notify to the other side (the other direction goes on
  // until it ends too), a cut (FIN without one) a cut.
  asio::awaitable<Counters> relay_tls(TlsSocket& down, TlsSocket& up, proxy::HttpObserver* observer) {
    Counters c;
    auto up_pump = [&]() -> asio::awaitable<void> {
      auto end = co_await pump<16 * 1024>(down, up, true, observer, c);
      if (end == asio::error::eof) co_await up.shutdown();
      boost::system::error_code ignored;
      upstream_.shutdown(tcp::socket::shutdown_send, ignored);
    };
    auto down_pump = [&]() -> asio::awaitable<void> {
      auto end = co_await pump<16 * 1024>(up, down, false, observer, c);
      boost::system::error_code ignored;
      if (end == asio::error::eof) {
        co_await down.shutdown();
        client_.shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        client_.shutdown(tcp::socket::shutdown_both, ignored);
      }
    };
    co_await ((up_pump() && down_pump()) || dog_.watch(client_, upstream_));
    co_return c;
  }

  void on_flow(proxy::Flow&& flow) {
    auto secrets = proxy::find_secrets(flow);
    double total = flow.response_done_ms - flow.started_ms;
    if (s_.o.log_json) {
      s_.log(nlohmann::json{{"client", peer_},
                            {"host", flow.host},
                            {"method", flow.method},
                            {"url", flow.url()},
                            {"status", flow.status},
                            {"bytes_up", flow.request_body_bytes},
                            {"bytes_down", flow.response_body_bytes},
                            {"ms", total},
                            {"ttfb_ms", flow.response_start_ms - flow.started_ms},
                            {"complete", flow.complete}}
                 .dump());
    } else {
      s_.log(fmt::format("{} {} \"{} {}\" {} up {} B, down {} B, {:.1f} ms (first byte {:.1f} ms){}", peer_, flow.host,
                         flow.method, flow.url(), flow.status, flow.request_body_bytes, flow.response_body_bytes, total,
                         flow.response_start_ms - flow.started_ms, flow.complete ? "" : " (cut short)"));
    }
    if (s_.o.dump) dump(flow, secrets);
    if (!s_.o.har_file.empty()) {
      auto entry = proxy::har_entry(flow);
      if (s_.o.redact) entry = nlohmann::json::parse(proxy::redact(entry.dump(), secrets));
      std::lock_guard lock(s_.har_mutex);
      s_.har.push_back(std::move(entry));
    }
  }

  void dump(const proxy::Flow& f, const std::vector<proxy::Secret>& secrets) {
    auto clean = [&](const std::string& text) { return s_.o.redact ? proxy::redact(text, secrets) : text; };
    auto printable = [](const std::string& body) {
      return std::all_of(body.begin(), body.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 0x20 || c == '\n' || c == '\r' || c == '\t';
      });
    };
    std::string out = fmt::format("──── {} → {} ({}; {})\n> {} {} {}\n", peer_, f.host, upstream_address_, legs_,
                                  f.method, f.target, f.http_version);
    for (const auto& [n, v] : f.request_headers) out += fmt::format("> {}: {}\n", n, clean(v));
    if (!f.request_body.empty())
      out += printable(f.request_body) ? "> \n> " + clean(f.request_body) + "\n"
                                       : fmt::format("> ({} bytes of binary body)\n", f.request_body_bytes);
    for (const auto& sec : secrets)
      out += fmt::format("  !! {} {} = {}\n", sec.where, sec.name, s_.o.redact ? "********" : sec.value);
    out += fmt::format("< {} {} {}\n", f.response_version, f.status, f.reason);
    for (const auto& [n, v] : f.response_headers) out += fmt::format("< {}: {}\n", n, clean(v));
    if (!f.response_body.empty()) {
      if (printable(f.response_body)) {
        auto shown = f.response_body.substr(0, 4096);
        out += "< \n< " + clean(shown) +
               (f.response_body_bytes > shown.size() ? fmt::format("\n< … ({} bytes in all)", f.response_body_bytes)
                                                     : "") +
               "\n";
      } else {
        out += fmt::format("< ({} bytes of binary body)\n", f.response_body_bytes);
      }
    }
    s_.log(out);
  }

  void show_forgery(const std::string& host, const pki::CertInfo* real, const proxy::Forging& forging) {
    if ((!s_.o.show_forgery && !s_.o.dump) || !s_.o.describe_forgery) return;
    {
      std::lock_guard lock(s_.first_mutex);
      if (s_.shown_forgery[host]) return;
      s_.shown_forgery[host] = true;
    }
    s_.log(s_.o.describe_forgery(host, real, forging.forged->info, proxy::provenance(forging)));
  }

  // log_forging logs a forgery this run has not served before: minted, or loaded from the cache folder.
  void log_forging(const std::string& host, const proxy::Forging& forging) {
    if (forging.source == proxy::ForgeSource::Memory) return;
    const auto& f = *forging.forged;
    if (s_.o.log_json)
      s_.log(nlohmann::json{{"client", peer_},
                            {"host", host},
                            {"forged", proxy::source_name(forging.source)},
                            {"us", f.mint_us},
                            {"serial", f.info.serial_hex},
                            {"file", f.file}}
                 .dump());
    else
      s_.log(fmt::format("{} {} forged certificate {} (serial {})", peer_, host, proxy::provenance(forging),
                         f.info.serial_hex));
  }

  // run_tls_entry handles a connection whose first bytes are a ClientHello (sni and reverse modes,
  // and the inside of a CONNECT tunnel). target names where to go when the hello does not.
  asio::awaitable<void> run_tls_entry(std::pair<std::string, std::uint16_t> target, std::string_view already = {},
                                      bool tunnel = false) {
    proxy::ClientHelloReader hello;
    if (!co_await read_hello(hello, already)) co_return;
    const auto& info = hello.info();
    std::string host = s_.o.mode == "sni" && target.first.empty() ? info.sni : target.first;
    if (host.empty()) {
      s_.error(peer_, "the ClientHello names no server (no SNI): cannot tell where to go; closed");
      co_await refuse(hello, host, tunnel, "");
      co_return;
    }
    std::string requested = info.sni.empty() ? host : info.sni;
    if (auto why = co_await connect_upstream(host, target.second); !why.empty()) {
      s_.error(peer_, why);
      co_await refuse(hello, requested, tunnel, why);
      co_return;
    }
    if (proxy::should_pass(s_.o.pass, requested)) {
      auto c = co_await relay_raw(hello.buffered());
      s_.log(
          fmt::format("{} {} passed through untouched (--pass): up {} B, down {} B", peer_, requested, c.up, c.down));
      co_return;
    }
    // The real server first: its certificate decides the forged names and key type, its ALPN
    // choice is what the client will get.
    TlsSocket up(upstream_, s_.upstream.get());
    SSL* ussl = up.native_handle();
    if (!tls::is_ip_literal(requested)) SSL_set_tlsext_host_name(ussl, requested.c_str());
    if (!info.alpn.empty()) {
      auto wire = tls::alpn_wire(info.alpn);
      SSL_set_alpn_protos(ussl, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    auto session_key = upstream_address_ + "/" + requested;
    bool resuming = s_.sessions.prepare(ussl, session_key);
    tls::VerifyRecorder recorder;
    recorder.install(ussl);
    // A server we hold a session with most likely resumes it: its certificate, and so the forgery,
    // are then last time's, and the client's handshake can run beside the server's instead of after
    // it (time to first byte). Both are checked once done; a change closes the client's connection
    // before any of its bytes went anywhere.
    Shared::Served last;
    if (resuming) last = s_.served_for(requested);
    std::shared_ptr<const proxy::Forged> early = last.forged;
    std::string early_protocol = early ? session_alpn(SSL_get0_session(ussl)) : std::string();
    // The session's protocol came from an earlier client's offer: this client must offer it too
    // (or, like that one, nothing), else the server's answer will differ.
    if (early &&
        !(early_protocol.empty() ? info.alpn.empty()
                                 : std::find(info.alpn.begin(), info.alpn.end(), early_protocol) != info.alpn.end()))
      early = nullptr;
    std::optional<TlsSocket> down;
    boost::system::error_code uec, cec;
    bool up_expired = false, client_expired = false;
    auto upstream_handshake = [&]() -> asio::awaitable<void> {
      Deadline deadline(upstream_, s_.o.handshake_timeout);
      uec = co_await up.handshake(false);
      up_expired = deadline.expired();
    };
    auto client_handshake = [&]() -> asio::awaitable<void> {
      Deadline deadline(client_, s_.o.handshake_timeout);
      cec = co_await down->handshake(true);
      client_expired = deadline.expired();
    };
    if (early) {
      down.emplace(client_, early->ctx.get(), hello.buffered());
      proxy::set_alpn_choice(down->native_handle(), early_protocol);
      co_await (upstream_handshake() && client_handshake());
    } else {
      co_await upstream_handshake();
    }
    TlsSocket* ready = down && !cec ? &*down : nullptr;  // a client already through its handshake
    if (uec) {
      s_.sessions.forget(session_key);
      auto why = fmt::format("the TLS handshake with the real server {} ({}) failed: {}", host, upstream_address_,
                             up_expired ? std::string("timed out") : tls_error_words(uec));
      s_.error(peer_, why);
      co_await refuse(hello, requested, tunnel, why, ready);
      co_return;
    }
    X509* real_leaf = SSL_get0_peer_certificate(ussl);
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ussl, &alpn, &alpn_len);
    std::string protocol = alpn ? std::string(reinterpret_cast<const char*>(alpn), alpn_len) : "";
    // A resumed session with the same real certificate as last time: it was verified for this name
    // when the session began (a session that failed is forgotten), and last time's forgery fits.
    proxy::Forging forging;
    std::optional<pki::CertInfo> real;
    if (SSL_session_reused(ussl) && SSL_get_verify_result(ussl) == X509_V_OK && last.real && real_leaf &&
        X509_cmp(real_leaf, last.real.get()) == 0) {
      forging = {last.forged, proxy::ForgeSource::Memory};
      ++s_.reused;
    } else if (real_leaf)
      real = pki::describe(real_leaf);
    if (!forging.forged && !s_.o.upstream_insecure) {
      if (auto why = check_upstream(recorder, ussl, real_leaf, requested); !why.empty()) {
        s_.sessions.forget(session_key);
        s_.error(peer_, fmt::format("the real server {} ({}) failed verification: {} — refusing to intercept "
                                    "(--upstream-cacert FILE to trust its CA, --upstream-insecure to go on anyway)",
                                    host, upstream_address_, why));
        co_await refuse(hello, requested, tunnel, fmt::format("the real server's certificate did not verify: {}", why),
                        ready);
        co_return;
      }
    }
    if (!forging.forged) {
      auto names = proxy::forged_names(real ? &*real : nullptr, real_leaf, requested,
                                       tls::is_ip_literal(requested) ? requested : std::string());
      forging = s_.forger.forge(names, real ? real->key_type : "EC");
      log_forging(requested, forging);
      s_.remember(requested, forging.forged, real_leaf);
    }
    const auto& forged = forging.forged;
    if (early) {
      if (cec) {
        log_client_refusal(requested, cec, client_expired);
        co_return;
      }
      if (forged != early || protocol != early_protocol) {
        s_.error(peer_, fmt::format("the real server {} changed its certificate or protocol since the last "
                                    "connection; closed this one (the client may retry)",
                                    host));
        co_return;
      }
    } else {
      show_forgery(requested, real ? &*real : nullptr, forging);
      // Now the client, with the forged certificate, replaying its buffered ClientHello.
      down.emplace(client_, forged->ctx.get(), hello.buffered());
      proxy::set_alpn_choice(down->native_handle(), protocol);
      co_await client_handshake();
      if (cec) {
        log_client_refusal(requested, cec, client_expired);
        co_return;
      }
    }
    legs_ = fmt::format("client {}, server {}{}{}", tls_version(down->native_handle()), tls_version(ussl),
                        SSL_session_reused(ussl) ? " resumed" : "", protocol.empty() ? "" : ", ALPN " + protocol);
    bool http1 = protocol.empty() || protocol == "http/1.1" || protocol == "http/1.0";
    std::optional<proxy::HttpObserver> observer;
    if (http1) observer.emplace(peer_, requested, s_.o.body_cap, [this](proxy::Flow&& f) { on_flow(std::move(f)); });
    auto c = co_await relay_tls(*down, up, observer ? &*observer : nullptr);
    if (observer) {
      observer->closed(now_ms());
      if (!observer->active() && !observer->why().empty())
        s_.log(fmt::format("{} {}: stopped parsing HTTP ({}); relayed the rest as bytes, up {} B, down {} B", peer_,
                           requested, observer->why(), c.up, c.down));
    } else {
      s_.log(fmt::format("{} {} ({}): relayed as opaque bytes, up {} B, down {} B", peer_, requested, legs_, c.up,
                         c.down));
    }
  }

  // check_upstream returns why the real server's certificate is not acceptable for name ("" if
  // it is). A resumed session carries the verification result of its first handshake.
  std::string check_upstream(const tls::VerifyRecorder& recorder, SSL* ssl, X509* leaf, const std::string& name) {
    if (SSL_session_reused(ssl) && SSL_get_verify_result(ssl) != X509_V_OK)
      return X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    // The chain is described only when there is a problem to explain: it costs on every handshake.
    std::vector<pki::CertInfo> sent;
    if (!recorder.findings().empty())
      if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
        for (int i = 0; i < sk_X509_num(chain); ++i) sent.push_back(pki::describe(sk_X509_value(chain, i)));
    auto verdict = tls::make_verdict(recorder, sent, leaf, name, true, pki::now_epoch());
    if (verdict.ok()) return {};
    if (!verdict.problems.empty())
      return fmt::format("depth {} ({}): {}", verdict.problems.front().depth, verdict.problems.front().subject,
                         verdict.problems.front().reason);
    return verdict.hostname.reason;
  }

  // log_client_refusal says why the client's handshake with the forged certificate failed.
  void log_client_refusal(const std::string& requested, const boost::system::error_code& ec, bool expired) {
    auto words = expired ? std::string("timed out") : tls_error_words(ec);
    bool distrust = words.find("unknown ca") != std::string::npos || words.find("bad certificate") != std::string::npos;
    s_.error(peer_, fmt::format("the client refused the forged certificate for {}: {}{}", requested, words,
                                distrust ? " (it does not trust the proxy's CA)" : ""));
  }

  // refuse tells an intercepted client no. In sni and reverse mode: a fatal TLS alert, before any
  // certificate. Inside an explicit-mode CONNECT tunnel the client already has its tunnel, and a
  // browser shows a failed CONNECT only as a bare error code: so the proxy finishes the handshake
  // with a certificate forged for the requested name and answers the first request with a 502
  // page that says why.
  asio::awaitable<void> refuse(const proxy::ClientHelloReader& hello, const std::string& requested, bool tunnel,
                               const std::string& why, TlsSocket* ready = nullptr) {
    if (ready) {  // the client's handshake is already done (it ran beside the server's)
      if (tunnel) co_await answer_502(*ready, why);
      co_return;
    }
    if (!tunnel || requested.empty()) {
      // handshake_failure (40), TLS 1.2 record framing as every client accepts it before a version is agreed.
      static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40};
      co_await asio::async_write(client_, asio::buffer(alert), use_tuple);
      co_return;
    }
    auto forging = s_.forger.forge(
        proxy::forged_names(nullptr, nullptr, requested, tls::is_ip_literal(requested) ? requested : ""), "EC");
    log_forging(requested, forging);
    TlsSocket down(client_, forging.forged->ctx.get(), hello.buffered());
    proxy::set_alpn_choice(down.native_handle(), "http/1.1");
    boost::system::error_code ec;
    {
      Deadline deadline(client_, s_.o.handshake_timeout);
      ec = co_await down.handshake(true);
      if (ec) log_client_refusal(requested, ec, deadline.expired());
    }
    if (!ec) co_await answer_502(down, why);
  }

  // answer_502 reads the first request's head from an intercepted client and answers it with a
  // 502 page saying why.
  asio::awaitable<void> answer_502(TlsSocket& down, const std::string& why) {
    {  // the request's head, so the answer is not taken for a reply to nothing
      Deadline deadline(client_, s_.o.handshake_timeout);
      std::string head;
      std::array<char, 4096> buf;
      while (head.find("\r\n\r\n") == std::string::npos && head.size() < 64 * 1024) {
        auto [ec, n] = co_await down.read_some(buf.data(), buf.size());
        if (ec) co_return;
        head.append(buf.data(), n);
      }
    }
    auto page = error_page(502, why);
    if (!co_await down.write_all(page.data(), page.size())) co_await down.shutdown();
  }

  asio::awaitable<void> run_explicit() {
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(64 * 1024);
    boost::system::error_code ec;
    {
      Deadline deadline(client_, s_.o.handshake_timeout);
      std::tie(ec, std::ignore) = co_await bhttp::async_read_header(client_, buffer, parser, use_tuple);
    }
    if (ec) {
      if (ec != bhttp::error::end_of_stream) s_.error(peer_, fmt::format("no proxy request: {}", ec.message()));
      co_return;
    }
    auto& req = parser.get();
    std::string leftover(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (req.method() == bhttp::verb::connect) {
      auto target = parse_target(std::string(req.target()), 443);
      static const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
      if (proxy::should_pass(s_.o.pass, target.host)) {
        if (auto why = co_await connect_upstream(target.host, target.port); !why.empty()) {
          co_await reply_plain(502, why);
          co_return;
        }
        co_await asio::async_write(client_, asio::buffer(ok), use_tuple);
        auto c = co_await relay_raw(leftover);
        s_.log(fmt::format("{} {} passed through untouched (--pass): up {} B, down {} B", peer_, target.host, c.up,
                           c.down));
        co_return;
      }
      co_await asio::async_write(client_, asio::buffer(ok), use_tuple);
      co_await run_tls_entry({target.host, target.port}, leftover, true);
      co_return;
    }
    // A plain http:// request in absolute form: forward it, and watch the exchange.
    std::string url(req.target());
    if (url.rfind("http://", 0) != 0) {
      co_await reply_plain(400, "this is a proxy: send absolute http:// URLs or CONNECT");
      co_return;
    }
    auto rest = url.substr(7);
    auto slash = rest.find('/');
    auto hostport = rest.substr(0, slash);
    auto path = slash == std::string::npos ? std::string("/") : rest.substr(slash);
    auto target = parse_target(hostport, 80);
    if (auto why = co_await connect_upstream(target.host, target.port); !why.empty()) {
      co_await reply_plain(502, why);
      co_return;
    }
    std::string head = fmt::format("{} {} HTTP/{}.{}\r\n", std::string(req.method_string()), path, req.version() / 10,
                                   req.version() % 10);
    for (const auto& f : req) {
      auto name = std::string(f.name_string());
      if (beast::iequals(name, "Proxy-Connection") || beast::iequals(name, "Connection")) continue;
      head += fmt::format("{}: {}\r\n", name, std::string(f.value()));
    }
    head += "Connection: close\r\n\r\n";
    proxy::HttpObserver observer(peer_, target.host, s_.o.body_cap, [this](proxy::Flow&& f) {
      f.scheme = "http";
      on_flow(std::move(f));
    });
    co_await relay_raw(head + leftover, &observer);
    observer.closed(now_ms());
  }

  asio::awaitable<void> reply_plain(unsigned status, const std::string& why) {
    s_.error(peer_, fmt::format("answered {}: {}", status, why));
    auto page = error_page(status, why);
    co_await asio::async_write(client_, asio::buffer(page), use_tuple);
  }

  Shared& s_;
  tcp::socket client_;
  tcp::socket upstream_;
  Watchdog dog_;
  std::string peer_;
  std::string upstream_address_;
  std::string legs_;  // TLS versions and ALPN of both legs, for --dump
};

}  // namespace

void run_proxy(const ProxyOptions& o, const pki::Ca& ca) {
  Shared shared(o, ca);
  Workers workers(o.threads);
  auto bound = workers.listen(o.listen, o.mode == "explicit" ? 8080 : 8443);
  for (const auto& ep : bound) shared.listeners.push_back({ep.address().to_string(), ep.port()});
  WorkerHooks hooks;
  hooks.name = "proxy";
  hooks.accept = [&](tcp::socket socket, const tcp::endpoint& peer, unsigned index) {
    auto c = std::make_shared<Connection>(shared, std::move(socket), peer);
    asio::co_spawn(
        workers.io(index), [c]() -> asio::awaitable<void> { co_await c->run(); }, asio::detached);
  };
  hooks.open_connections = [&] { return shared.connections.load(); };
  hooks.max_connections = o.max_connections;
  hooks.grace = o.grace;
  hooks.ready = o.on_ready;
  workers.run(hooks);
  auto stats = shared.forger.stats();
  stats.hits += shared.reused;  // resumed connections that took last time's forgery directly
  // An average only where there is one: "forged 2 certificates (812 µs each on average)", "forged 0 certificates".
  auto average = [](double total_us, std::uint64_t n) {
    return n ? fmt::format(" ({:.0f} µs each on average)", total_us / static_cast<double>(n)) : std::string();
  };
  Workers::write_line(
      2, fmt::format("tlslab proxy: forged {} certificate{}{}, {}{} cache hit{}", stats.misses,
                     stats.misses == 1 ? "" : "s", average(stats.mint_us_total, stats.misses),
                     o.cert_cache_dir.empty() ? std::string()
                                              : fmt::format("loaded {} from {}{}, ", stats.loaded, o.cert_cache_dir,
                                                            average(stats.load_us_total, stats.loaded)),
                     stats.hits, stats.hits == 1 ? "" : "s"));
  if (!o.har_file.empty()) {
    std::lock_guard lock(shared.har_mutex);
    write_file_atomic(o.har_file, proxy::har_document(shared.har, o.version).dump(2) + "\n", 0600);
    Workers::write_line(2, fmt::format("tlslab proxy: wrote {} exchange{} to {}", shared.har.size(),
                                       shared.har.size() == 1 ? "" : "s", o.har_file));
  }
}

}  // namespace tlslab::net
