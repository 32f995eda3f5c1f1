#include "net/proxy.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include "base/address.hpp"
#include "base/failure.hpp"
#include "base/files.hpp"
#include "connect/target.hpp"
#include "http/request_start.hpp"
#include "http/site.hpp"
#include "net/coro.hpp"
#include "net/deadline.hpp"
#include "net/tls_io.hpp"
#include "net/tls_socket.hpp"
#include "net/transport.hpp"
#include "net/workers.hpp"
#include "ossl/error.hpp"
#include "pki/ca.hpp"
#include "proxy/alpn.hpp"
#include "proxy/client_failure.hpp"
#include "proxy/client_hello.hpp"
#include "proxy/core.hpp"
#include "proxy/dns.hpp"
#include "proxy/exchange.hpp"
#include "proxy/flow.hpp"
#include "proxy/forge.hpp"
#include "proxy/har.hpp"
#include "proxy/har_writer.hpp"
#include "proxy/log_event.hpp"
#include "proxy/secrets.hpp"
#include "tls/client_context.hpp"
#include "tls/negotiated.hpp"
#include "tls/session_cache.hpp"
#include "tls/verify.hpp"

namespace tlslab::net {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;

namespace {

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
  ossl::Ptr<SSL_CTX> hello_answerer = proxy::make_hello_answerer(TLS1_2_VERSION);  // for unreadable hellos
  std::vector<proxy::Endpoint> listeners;
  proxy::CoreConfig core;  // what every connection's core knows (listeners filled once bound)
  std::atomic<std::size_t> connections{0};
  std::unique_ptr<proxy::HarWriter> har;  // --har
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
                                       [this](const std::string& line) { emit(proxy::log_event::Note{line}); }}),
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

  // emit hands an event of the run to the log sink.
  void emit(const proxy::LogEvent& event) const {
    if (o.log) o.log(event);
  }
};

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

// error_page is a complete HTTP/1.1 response with a small HTML page saying why.
std::string error_page(unsigned status, const std::string& why) {
  auto reply = http::error_reply(status, "tlslab proxy could not give you this site: " + why);
  reply.headers.emplace_back("Cache-Control", "no-store");
  std::string out;
  http::append_response_head(out, reply, 11, false,
                             http::http_date(std::chrono::duration_cast<std::chrono::seconds>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count()));
  return out + reply.body;
}

std::string tls_version(SSL* ssl) { return SSL_get_version(ssl); }

// negotiated_alpn is the protocol a connection negotiated ("" none).
std::string negotiated_alpn(SSL* ssl) { return std::string(tls::selected_alpn(ssl)); }

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
        peer_(format_endpoint(peer)) {
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
      // The core decides, this carries out: each command's outcome is the core's next event.
      proxy::Core core(s_.core);
      std::deque<proxy::Command> todo;
      auto feed = [&](const proxy::Event& e) {
        for (auto& c : core.on(e)) todo.push_back(std::move(c));
      };
      feed(proxy::event::Start{});
      while (!todo.empty()) {
        auto command = std::move(todo.front());
        todo.pop_front();
        if (auto next = co_await carry_out(command, core)) feed(*next);
      }
    } catch (const std::exception& e) {
      s_.emit(proxy::log_event::ConnectionFailed{peer_, e.what()});
    }
    dog_.finish();
    boost::system::error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
  }

 private:
  using MaybeEvent = std::optional<proxy::Event>;

  // carry_out does what one command of the core says; returns the event it ended in, if any.
  asio::awaitable<MaybeEvent> carry_out(const proxy::Command& command, const proxy::Core& core) {
    namespace cmd = proxy::command;
    if (std::holds_alternative<cmd::ReadRequest>(command)) co_return co_await read_request();
    if (std::holds_alternative<cmd::ReadHello>(command)) co_return co_await read_hello();
    if (const auto* c = std::get_if<cmd::Resolve>(&command)) co_return co_await resolve(c->host, c->port);
    if (const auto* c = std::get_if<cmd::Connect>(&command)) co_return co_await connect(*c);
    if (std::holds_alternative<cmd::SendEstablished>(command)) {
      static const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
      co_await asio::async_write(client_, asio::buffer(ok), use_tuple);
      co_return std::nullopt;
    }
    if (const auto* c = std::get_if<cmd::SendPage>(&command)) {
      auto page = error_page(c->status, c->why);
      co_await asio::async_write(client_, asio::buffer(page), use_tuple);
      co_return std::nullopt;
    }
    if (std::holds_alternative<cmd::AnswerUnreadable>(command)) {
      co_await answer_unreadable();
      co_return std::nullopt;
    }
    if (const auto* c = std::get_if<cmd::SendAlert>(&command)) {
      co_await send_alert(c->alert);
      co_return std::nullopt;
    }
    if (const auto* c = std::get_if<cmd::StartUpstreamTls>(&command)) co_return co_await start_upstream_tls(*c, core);
    if (const auto* c = std::get_if<cmd::StartClientTls>(&command)) co_return co_await start_client_tls(*c, core);
    if (const auto* c = std::get_if<cmd::Answer502>(&command)) {
      if (down_) co_await answer_502(*down_, c->why);
      co_return std::nullopt;
    }
    if (const auto* c = std::get_if<cmd::Relay>(&command)) {
      co_await relay(*c, core);
      co_return proxy::Event{proxy::event::RelayEnded{}};
    }
    if (const auto* c = std::get_if<cmd::Log>(&command)) {
      if (c->error)
        s_.emit(proxy::log_event::ClientError{peer_, c->text});
      else
        s_.emit(proxy::log_event::ClientLine{peer_, c->text});
    }
    co_return std::nullopt;  // Close: the sockets close when run() ends
  }

  // read_request reads the head of an explicit proxy's first request. The header is read here,
  // not by async_read_header: garbage without a blank line (a ClientHello sent to this plain-HTTP
  // port) is answered 400 as it arrives, not at the timeout.
  asio::awaitable<MaybeEvent> read_request() {
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(64 * 1024);
    proxy::event::RequestRead e;
    {
      auto deadline = cancel_at(client_, Deadline::after(s_.o.handshake_timeout));
      while (!parser.is_header_done()) {
        auto [ec, n] = co_await client_.async_read_some(buffer.prepare(4096), use_tuple);
        buffer.commit(n);
        if (ec) {
          if (deadline.expired())
            co_return proxy::Event{proxy::event::ClientGone{"no complete proxy request in time; closed"}};
          if (buffer.size() && ec == asio::error::eof)
            co_return proxy::Event{proxy::event::ClientGone{"closed in the middle of its proxy request"}};
          co_return proxy::Event{proxy::event::ClientGone{buffer.size() || ec != asio::error::eof
                                                              ? fmt::format("no proxy request: {}", ec.message())
                                                              : std::string()}};
        }
        std::string_view received(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (auto why = http::request_start_error(received); !why.empty()) {
          e.error = why;
          co_return proxy::Event{std::move(e)};
        }
        buffer.consume(parser.put(buffer.data(), ec));
        if (ec && ec != bhttp::error::need_more) {
          e.error = fmt::format("malformed request: {}", ec.message());
          co_return proxy::Event{std::move(e)};
        }
      }
    }
    const auto& req = parser.get();
    e.method = std::string(req.method_string());
    e.target = std::string(req.target());
    e.version = static_cast<int>(req.version());
    for (const auto& f : req) e.fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
    leftover_.assign(static_cast<const char*>(buffer.data().data()), buffer.size());
    co_return proxy::Event{std::move(e)};
  }

  // read_hello buffers the client's first flight until its SNI and ALPN can be read.
  asio::awaitable<MaybeEvent> read_hello() {
    auto deadline = cancel_at(client_, Deadline::after(s_.o.handshake_timeout));
    hello_read_ = true;
    auto state = leftover_.empty() ? proxy::ClientHelloReader::State::NeedMore : hello_.feed(leftover_);
    leftover_.clear();
    std::array<char, 4096> buf;
    while (state == proxy::ClientHelloReader::State::NeedMore) {
      auto [ec, n] = co_await receive(client_, asio::buffer(buf));
      if (!ec && n == 0) ec = asio::error::eof;
      if (ec) {
        if (deadline.expired())
          co_return proxy::Event{proxy::event::HelloFailed{"no complete ClientHello in time; closed", false}};
        co_return proxy::Event{proxy::event::ClientGone{
            hello_.buffered().empty() ? std::string() : std::string("closed in the middle of its ClientHello")}};
      }
      state = hello_.feed(std::string_view(buf.data(), n));
    }
    if (state != proxy::ClientHelloReader::State::Done)
      co_return proxy::Event{proxy::event::HelloFailed{hello_.error(), true}};
    co_return proxy::Event{proxy::event::HelloRead{hello_.info()}};
  }

  // answer_unreadable replays a first flight the reader refused into OpenSSL's server, which reads
  // on from the client as much as it needs and answers as `openssl s_server` would: an alert, or
  // nothing for bytes that are not TLS at all. It logs what was wrong and what OpenSSL answered.
  asio::awaitable<void> answer_unreadable() {
    auto deadline = cancel_at(client_, Deadline::after(s_.o.handshake_timeout));
    bool not_tls = hello_.state() == proxy::ClientHelloReader::State::NotTls;
    TlsSocket answerer(client_, s_.hello_answerer.get(), hello_.buffered());
    auto ec = co_await answerer.handshake(true);
    proxy::log_event::UnreadableHello e{peer_, not_tls, hello_.error()};
    // OpenSSL reading what the reader refused is the reader's bug.
    e.openssl_read = proxy::hello_was_read(answerer.native_handle());
    if (!e.openssl_read) e.answer = client_failure(ec, deadline.expired());
    s_.emit(e);
  }

  // send_alert refuses a client before any certificate: a fatal alert in TLS 1.2 record framing,
  // as every client accepts it before a version is agreed. A client whose handshake already ran
  // (beside the real server's) is closed instead.
  asio::awaitable<void> send_alert(std::uint8_t alert) {
    if (down_) co_return;
    const unsigned char record[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, alert};
    co_await asio::async_write(client_, asio::buffer(record), use_tuple);
  }

  // resolve finds where host lives (resolve_upstream) for the core, which leaves out our own
  // listeners (a loop).
  asio::awaitable<MaybeEvent> resolve(const std::string& host, std::uint16_t port) {
    proxy::event::Resolved e;
    for (const auto& ep : co_await resolve_upstream(host, port, e.why))
      e.addresses.push_back({ep.address().to_string(), ep.port()});
    co_return proxy::Event{std::move(e)};
  }

  // resolve_upstream finds where host really lives: --upstream-resolve, else --dns, else the
  // system resolver. why says what went wrong when nothing was found.
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
        auto resolved = co_await resolve_name(host, port);
        if (resolved.error) {
          why = fmt::format("cannot resolve {}: {} (map it with --upstream-resolve {}:ADDR)", host,
                            resolved.error.message(), host);
          co_return out;
        }
        out = std::move(resolved.endpoints);
      }
    }
    co_return out;
  }

  // dns_lookup asks the --dns server for host's A and AAAA records (IPv4 first), over UDP.
  asio::awaitable<std::vector<tcp::endpoint>> dns_lookup(const std::string& host, std::uint16_t port,
                                                         std::string& why) {
    std::vector<tcp::endpoint> out;
    asio::ip::udp::endpoint server(asio::ip::make_address(s_.o.dns->address), s_.o.dns->port);
    auto where = format_endpoint(server.address().to_string(), server.port());
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
      auto deadline = cancel_at(socket, Deadline::after(std::chrono::milliseconds(3000)));
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

  // connect opens the TCP connection to the real server, trying each address in turn.
  asio::awaitable<MaybeEvent> connect(const proxy::command::Connect& c) {
    std::vector<tcp::endpoint> endpoints;
    for (const auto& address : c.addresses)
      endpoints.emplace_back(asio::ip::make_address(address.address), address.port);
    auto dialed = co_await connect_any(upstream_, std::move(endpoints), Deadline::after(s_.o.connect_timeout));
    if (dialed.connected()) {
      upstream_address_ = dialed.connected_address;
      co_return proxy::Event{proxy::event::Connected{upstream_address_}};
    }
    co_return proxy::Event{proxy::event::ConnectFailed{
        fmt::format("cannot connect to {}: {}", format_endpoint(c.host, c.port), dialed.failures())}};
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

  // relay_http carries out a proxy::Exchange between the two TLS legs when either speaks HTTP/2:
  // a reader per leg feeds it while it wants bytes, a writer per leg writes what it gives and ends
  // the leg (close_notify) once it is done. All four run on this connection's thread; they wake
  // each other through one timer that is cancelled whenever something changed.
  asio::awaitable<Counters> relay_http(TlsSocket& down, TlsSocket& up, proxy::HttpProtocol client_leg,
                                       proxy::HttpProtocol upstream_leg, const std::string& requested) {
    Counters c;
    proxy::ExchangeOptions eo;
    eo.client = peer_;
    eo.host = requested;
    eo.body_cap = s_.o.body_cap;
    proxy::Exchange ex(client_leg, upstream_leg, eo, [this](proxy::Flow&& f) { on_flow(std::move(f)); });
    asio::steady_timer changed(client_.get_executor(), asio::steady_timer::time_point::max());
    bool writers_done = false;
    auto wait = [&]() -> asio::awaitable<void> { co_await changed.async_wait(use_tuple); };
    auto reader = [&](TlsSocket& from, bool client_side) -> asio::awaitable<void> {
      for (;;) {
        while (!(client_side ? ex.wants_client_data() : ex.wants_upstream_data()) && !ex.finished()) co_await wait();
        if (ex.finished()) co_return;
        auto ec = co_await from.wait_for_data();
        std::size_t n = 0;
        if (!ec) {
          RelayBuffer<16 * 1024> buf;
          auto r = co_await from.read_some(buf.data(), buf.size());
          ec = r.ec;
          n = r.bytes;
          if (n) {
            dog_.touch();
            std::string_view bytes(buf.data(), n);
            if (client_side)
              ex.client_data(bytes, now_ms());
            else
              ex.upstream_data(bytes, now_ms());
          }
        }
        if (ec) {
          if (client_side)
            ex.client_closed(ec == asio::error::eof, now_ms());
          else
            ex.upstream_closed(ec == asio::error::eof, now_ms());
        }
        changed.cancel();
        if (ec) co_return;
      }
    };
    auto writer = [&](TlsSocket& to, tcp::socket& socket, bool client_side) -> asio::awaitable<void> {
      std::string out;
      for (;;) {
        out.clear();
        if (client_side ? ex.take_client_output(out) : ex.take_upstream_output(out)) {
          auto ec = co_await to.write_all(out.data(), out.size());
          changed.cancel();
          if (ec) {  // the peer is gone: nothing more can reach it
            if (client_side)
              ex.client_closed(false, now_ms());
            else
              ex.upstream_closed(false, now_ms());
            co_return;
          }
          dog_.touch();
          (client_side ? c.down : c.up) += out.size();
          continue;
        }
        if (client_side ? ex.client_done() : ex.upstream_done()) {
          co_await to.shutdown();
          boost::system::error_code ignored;
          socket.shutdown(tcp::socket::shutdown_send, ignored);
          co_return;
        }
        co_await wait();
      }
    };
    auto writers = [&]() -> asio::awaitable<void> {
      co_await (writer(down, client_, true) && writer(up, upstream_, false));
      writers_done = true;
    };
    // The readers end at each leg's end; the relay ends when both writers have ended their legs.
    auto readers = [&]() -> asio::awaitable<void> {
      co_await (reader(down, true) && reader(up, false));
      while (!writers_done) co_await wait();
    };
    co_await ((writers() || readers()) || dog_.watch(client_, upstream_));
    if (!ex.error().empty()) s_.emit(proxy::log_event::HttpStopped{peer_, requested, ex.error()});
    co_return c;
  }

  // on_flow logs a finished (or cut) exchange, dumps it with --dump and adds it to the HAR; with
  // --redact all three see the flow with its secrets masked.
  void on_flow(proxy::Flow&& flow) {
    auto secrets = proxy::find_secrets(flow);
    if (s_.o.redact) flow = proxy::redact_flow(std::move(flow), secrets);
    proxy::LogEvent ended{proxy::log_event::FlowEnded{peer_, std::move(flow), std::move(secrets), s_.o.redact,
                                                      s_.o.body_cap, upstream_address_, legs_}};
    s_.emit(ended);
    if (s_.har) s_.har->add(proxy::har_entry(std::get<proxy::log_event::FlowEnded>(ended).flow, s_.o.body_cap));
  }

  // show_forgery shows the real and the forged certificate the first time a host is forged
  // (--show-forgery, --dump).
  void show_forgery(const std::string& host, const std::optional<pki::CertInfo>& real, const proxy::Forging& forging) {
    if (!s_.o.show_forgery && !s_.o.dump) return;
    {
      std::lock_guard lock(s_.first_mutex);
      if (s_.shown_forgery[host]) return;
      s_.shown_forgery[host] = true;
    }
    s_.emit(proxy::log_event::ForgeryShown{host, real, forging, pki::now_epoch()});
  }

  // log_forging logs a forgery this run has not served before: minted, or loaded from the cache folder.
  void log_forging(const std::string& host, const proxy::Forging& forging) {
    if (forging.source == proxy::ForgeSource::Memory) return;
    s_.emit(proxy::log_event::CertificateForged{peer_, host, forging});
  }

  // client_handshake runs the client's handshake on down_ (its buffered hello replayed).
  asio::awaitable<void> client_handshake() {
    auto deadline = cancel_at(client_, Deadline::after(s_.o.handshake_timeout));
    client_error_ = co_await down_->handshake(true);
    client_expired_ = deadline.expired();
  }

  // start_upstream_tls runs the handshake with the real server: its certificate decides the
  // forged names and key type, its ALPN choice what the client will get.
  asio::awaitable<MaybeEvent> start_upstream_tls(const proxy::command::StartUpstreamTls& c, const proxy::Core& core) {
    const auto& requested = core.requested();
    up_.emplace(upstream_, s_.upstream.get());
    SSL* ussl = up_->native_handle();
    if (!c.sni.empty()) SSL_set_tlsext_host_name(ussl, c.sni.c_str());
    if (!c.alpn.empty()) {
      auto wire = tls::alpn_wire(c.alpn);
      SSL_set_alpn_protos(ussl, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    // Sessions are kept per offer to the server: the client's early handshake (below)
    // takes the server's ALPN choice from the session, and a server resuming a session made with
    // another offer (http/1.1 alone last time, h2 now) may well choose otherwise.
    session_key_ = fmt::format("{}/{}/{}", upstream_address_, requested, fmt::join(c.alpn, ","));
    bool resuming = s_.sessions.prepare(ussl, session_key_);
    recorder_.install(ussl);
    // A server we hold a session with most likely resumes it: its certificate, and so the forgery,
    // are then last time's, and the client's handshake can run beside the server's instead of after
    // it (time to first byte). Both are checked once done; a change closes the client's connection
    // before any of its bytes went anywhere.
    // Forgeries are remembered per name and per kind of client: one whose schemes choose another
    // chain (choose_forgery, whatever the real key) must not get last time's.
    served_key_ = fmt::format("{}|{}|{}", requested, choice_text(core.hello(), "EC"), choice_text(core.hello(), "RSA"));
    if (resuming) last_ = s_.served_for(served_key_);
    early_ = last_.forged;
    early_protocol_ = early_ ? session_alpn(SSL_get0_session(ussl)) : std::string();
    // The session was made with this same offer; a server that chose nothing then (no ALPN) while
    // this client offers protocols is not taken for granted.
    if (early_ && !(early_protocol_.empty() ? c.alpn.empty()
                                            : std::find(c.alpn.begin(), c.alpn.end(), early_protocol_) != c.alpn.end()))
      early_ = nullptr;
    boost::system::error_code uec;
    bool up_expired = false;
    auto upstream_handshake = [&]() -> asio::awaitable<void> {
      auto deadline = cancel_at(upstream_, Deadline::after(s_.o.handshake_timeout));
      uec = co_await up_->handshake(false);
      up_expired = deadline.expired();
    };
    if (early_) {
      down_.emplace(client_, early_->ctx.get(), hello_.buffered());
      proxy::set_alpn_choice(down_->native_handle(),
                             proxy::client_choice(core.hello().alpn, early_protocol_, s_.o.http2));
      co_await (upstream_handshake() && client_handshake());
    } else {
      co_await upstream_handshake();
    }
    if (uec) {
      s_.sessions.forget(session_key_);
      co_return proxy::Event{
          proxy::event::UpstreamTlsFailed{up_expired ? std::string("timed out") : tls_error_words(uec)}};
    }
    X509* real_leaf = SSL_get0_peer_certificate(ussl);
    // A resumed session with the same real certificate as last time: it was verified for this name
    // when the session began (a session that failed is forgotten), and last time's forgery fits.
    if (SSL_session_reused(ussl) && SSL_get_verify_result(ussl) == X509_V_OK && last_.real && real_leaf &&
        X509_cmp(real_leaf, last_.real.get()) == 0) {
      forging_ = {last_.forged, proxy::ForgeSource::Memory};
      ++s_.reused;
    } else if (real_leaf) {
      real_ = pki::describe(real_leaf);
    }
    proxy::event::UpstreamTlsDone done{negotiated_alpn(ussl), "", SSL_session_reused(ussl) == 1};
    if (!forging_.forged && !s_.o.upstream_insecure) {
      done.verify_problem = check_upstream(recorder_, ussl, real_leaf, requested);
      if (!done.verify_problem.empty()) s_.sessions.forget(session_key_);
    }
    co_return proxy::Event{std::move(done)};
  }

  // start_client_tls forges the certificate and runs the client's handshake with it (or checks
  // the one that already ran beside the real server's).
  asio::awaitable<MaybeEvent> start_client_tls(const proxy::command::StartClientTls& c, const proxy::Core& core) {
    const auto& requested = core.requested();
    bool early_done = down_.has_value();
    if (!c.with_real_certificate) {  // a refusal inside a tunnel: a forgery for the name alone
      if (!early_done) {
        auto choice = choose(core.hello(), "EC");
        auto forging =
            s_.forger.forge(proxy::forged_names(nullptr, nullptr, requested, is_ip_literal(requested) ? requested : ""),
                            choice.key_type, choice.issuer);
        log_forging(requested, forging);
        down_.emplace(client_, forging.forged->ctx.get(), hello_.buffered());
        proxy::set_alpn_choice(down_->native_handle(), c.alpn);
        co_await client_handshake();
      }
      if (client_error_) co_return proxy::Event{client_refusal(requested)};
      co_return proxy::Event{proxy::event::ClientTlsDone{negotiated_alpn(down_->native_handle())}};
    }
    SSL* ussl = up_->native_handle();
    X509* real_leaf = SSL_get0_peer_certificate(ussl);
    if (!forging_.forged) {
      auto names = proxy::forged_names(real_ ? &*real_ : nullptr, real_leaf, requested,
                                       is_ip_literal(requested) ? requested : std::string());
      auto choice = choose(core.hello(), real_ ? real_->key_type : "EC");
      forging_ = s_.forger.forge(names, choice.key_type, choice.issuer);
      log_forging(requested, forging_);
      s_.remember(served_key_, forging_.forged, real_leaf);
    }
    if (early_done) {
      if (client_error_) co_return proxy::Event{client_refusal(requested)};
      if (forging_.forged != early_ || core.upstream_alpn() != early_protocol_)
        co_return proxy::Event{proxy::event::ClientTlsFailed{
            fmt::format("the real server {} changed its certificate or protocol since the last connection; closed "
                        "this one (the client may retry)",
                        core.host())}};
    } else {
      show_forgery(requested, real_, forging_);
      // Now the client, with the forged certificate, replaying its buffered ClientHello.
      down_.emplace(client_, forging_.forged->ctx.get(), hello_.buffered());
      proxy::set_alpn_choice(down_->native_handle(), c.alpn);
      co_await client_handshake();
      if (client_error_) co_return proxy::Event{client_refusal(requested)};
    }
    auto client_protocol = negotiated_alpn(down_->native_handle());
    const auto& protocol = core.upstream_alpn();
    legs_ = proxy::Legs{tls_version(down_->native_handle()), client_protocol, tls_version(ussl), protocol,
                        SSL_session_reused(ussl) == 1};
    co_return proxy::Event{proxy::event::ClientTlsDone{client_protocol}};
  }

  // relay moves the bytes once both ends are set, as the core chose.
  asio::awaitable<void> relay(const proxy::command::Relay& c, const proxy::Core& core) {
    namespace cmd = proxy::command;
    const auto& requested = core.requested();
    if (c.kind == cmd::RelayKind::Raw) {  // what the client sent so far goes first
      auto counts = co_await relay_raw(c.first_up + (hello_read_ ? hello_.buffered() : leftover_));
      relay_ended(requested, proxy::log_event::RelayEnd::PassedThrough, counts);
      co_return;
    }
    if (!c.tls) {  // a plain http:// request through an explicit proxy: forwarded, watched
      proxy::HttpObserver observer(peer_, requested, s_.o.body_cap, [this](proxy::Flow&& f) {
        f.scheme = "http";
        on_flow(std::move(f));
      });
      co_await relay_raw(c.first_up + leftover_, &observer);
      observer.closed(now_ms());
      co_return;
    }
    if (c.kind == cmd::RelayKind::Http) {
      auto counts = co_await relay_http(*down_, *up_, c.client_leg, c.upstream_leg, requested);
      relay_ended(requested, proxy::log_event::RelayEnd::Closed, counts);
      co_return;
    }
    std::optional<proxy::HttpObserver> observer;
    if (c.kind == cmd::RelayKind::Observed)
      observer.emplace(peer_, requested, s_.o.body_cap, [this](proxy::Flow&& f) { on_flow(std::move(f)); });
    auto counts = co_await relay_tls(*down_, *up_, observer ? &*observer : nullptr);
    if (observer) {
      observer->closed(now_ms());
      if (!observer->active() && !observer->why().empty())
        relay_ended(requested, proxy::log_event::RelayEnd::StoppedParsing, counts, observer->why());
    } else {
      relay_ended(requested, proxy::log_event::RelayEnd::Opaque, counts);
    }
  }

  // relay_ended tells how the relay for host ended and what it carried.
  void relay_ended(const std::string& host, proxy::log_event::RelayEnd end, const Counters& counts,
                   const std::string& why = {}) {
    s_.emit(proxy::log_event::ConnectionEnded{peer_, host, end, legs_, why, counts.up, counts.down});
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

  // choose picks the forged chain for this client and a real key of real_key_type.
  proxy::ForgeChoice choose(const proxy::ClientHelloInfo& info, const std::string& real_key_type) const {
    return proxy::choose_forgery(info.signature_schemes, info.certificate_schemes, real_key_type,
                                 s_.forger.ca_signature_scheme());
  }
  std::string choice_text(const proxy::ClientHelloInfo& info, const std::string& real_key_type) const {
    auto c = choose(info, real_key_type);
    return fmt::format("{}{}", c.key_type, static_cast<int>(c.issuer));
  }

  // client_failure classifies a failed handshake with the client (ec from TlsSocket).
  static proxy::ClientFailure client_failure(const boost::system::error_code& ec, bool expired) {
    proxy::ClientFailureFacts facts;
    facts.timed_out = expired;
    if (ec.category() == asio::error::get_ssl_category())
      facts.ssl_error = static_cast<unsigned long>(ec.value());
    else if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
      facts.closed = true;
    else
      facts.system_error = ec.message();
    return proxy::classify_client_failure(facts);
  }

  // client_refusal logs why the client's handshake with the forged certificate failed, by kind,
  // and gives the core the event (already logged: no text).
  proxy::event::ClientTlsFailed client_refusal(const std::string& requested) const {
    s_.emit(proxy::log_event::ClientRefused{peer_, requested, client_failure(client_error_, client_expired_)});
    return {};
  }

  // answer_502 reads the first request's head from an intercepted client and answers it with a
  // 502 page saying why.
  asio::awaitable<void> answer_502(TlsSocket& down, const std::string& why) {
    {  // the request's head, so the answer is not taken for a reply to nothing
      auto deadline = cancel_at(client_, Deadline::after(s_.o.handshake_timeout));
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

  Shared& s_;
  tcp::socket client_;
  tcp::socket upstream_;
  Watchdog dog_;
  std::string peer_;
  std::string upstream_address_;
  std::optional<proxy::Legs> legs_;  // TLS versions and ALPN of both legs, once both handshakes are done
  std::string leftover_;             // client bytes read after a proxy request's head
  proxy::ClientHelloReader hello_;
  bool hello_read_ = false;
  // The two TLS legs and what their handshakes left.
  std::optional<TlsSocket> up_, down_;
  tls::VerifyRecorder recorder_;
  std::string session_key_;
  std::string served_key_;                      // the name and the kind of client, for last time's forgery
  Shared::Served last_;                         // last time's forgery for this name, when resuming
  std::shared_ptr<const proxy::Forged> early_;  // the forgery the client's early handshake uses
  std::string early_protocol_;                  // the resumed session's protocol
  proxy::Forging forging_;
  std::optional<pki::CertInfo> real_;
  boost::system::error_code client_error_;
  bool client_expired_ = false;
};

}  // namespace

void run_proxy(const ProxyOptions& o, const pki::Ca& ca) {
  Shared shared(o, ca);
  // The HAR file is checked, and written empty, before the proxy listens; then kept complete on
  // disk about once a second, by a thread of its own (a write never holds up a connection).
  std::jthread har_flusher;
  if (!o.har_file.empty()) {
    shared.har =
        std::make_unique<proxy::HarWriter>(o.har_file, o.version, o.har_force, std::chrono::steady_clock::now());
    har_flusher = std::jthread([&shared](std::stop_token stop) {
      std::mutex m;
      std::condition_variable_any wake;
      std::string last_error;
      std::unique_lock lock(m);
      for (;;) {
        (void)wake.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
        if (stop.stop_requested()) return;
        try {
          (void)shared.har->flush_if_due(std::chrono::steady_clock::now());
          last_error.clear();
        } catch (const Failure& e) {
          if (e.what() != last_error) shared.emit(proxy::log_event::HarNotWritten{e.what()});
          last_error = e.what();
        }
      }
    });
  }
  Workers workers(o.threads);
  auto bound = workers.listen(o.listen, o.mode == proxy::Mode::Explicit ? 8080 : 8443);
  for (const auto& ep : bound) shared.listeners.push_back({ep.address().to_string(), ep.port()});
  shared.core.mode = o.mode;
  shared.core.upstream_port = o.upstream_port;
  if (shared.core.mode == proxy::Mode::Reverse) {
    auto t = connect::parse_target(o.upstream, 443);
    shared.core.upstream_host = t.host;
    shared.core.upstream_port = t.port;
  }
  shared.core.pass = o.pass;
  shared.core.listeners = shared.listeners;
  shared.core.upstream_insecure = o.upstream_insecure;
  shared.core.http2 = o.http2;
  WorkerHooks hooks;
  hooks.name = "proxy";
  hooks.event = [&](const ListenerEvent& e) { shared.emit(e); };
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
  shared.emit(proxy::log_event::ForgesCounted{stats, o.cert_cache_dir});
  if (shared.har) {
    har_flusher = {};  // stopped and joined: the last write is this one
    shared.har->flush();
    shared.emit(proxy::log_event::HarWritten{o.har_file, shared.har->entries()});
  }
}

}  // namespace tlslab::net
