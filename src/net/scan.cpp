#include "net/scan.hpp"

#include <fmt/format.h>
#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "scan/grade.hpp"
#include "scan/hello.hpp"
#include "scan/server_hello.hpp"
#include "scan/suites.hpp"
#include "tls/client_context.hpp"
#include "tls/handshake_report.hpp"
#include "tls/trace.hpp"
#include "tls/verify.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;
using scan::ServerAnswer;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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

// FullResult is what one OpenSSL handshake (plus an optional GET /) tells.
struct FullResult {
  bool ok = false;
  std::string error;
  tls::HandshakeReport report;
  tls::VerifyVerdict verdict;
  ossl::Ptr<SSL_SESSION> session;
  bool reused = false;
  std::string response;  // the first bytes of the HTTP response
};

struct FullSpec {
  int max_version = 0;  // 0: the highest
  bool no_ticket = false;
  SSL_SESSION* resume = nullptr;
  std::vector<std::string> alpn;
  bool http_get = false;
};

class Scanner {
 public:
  Scanner(const ScanOptions& o, scan::ScanReport& r, asio::io_context& io, tcp::endpoint ep)
      : o_(o), r_(r), io_(io), ep_(ep), limiter_(io.get_executor(), o.concurrency) {
    tls::ClientOptions t;
    t.tls_min = "1.0";  // see everything the server offers: security level 0
    t.insecure = true;
    t.cafile = o.cafile;
    t.capath = o.capath;
    client_ = tls::make_client_context(t);
    SSL_CTX_set_session_cache_mode(client_.ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_cipher_list(client_.ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
    ctx_ = std::make_unique<ssl::context>(client_.ctx.release());
  }

  // run is the whole scan: independent probes together, then those that depend on their results.
  asio::awaitable<void> run() {
    auto ex = co_await asio::this_coro::executor;
    int pending = 0;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    auto spawn = [&](asio::awaitable<void> task) {
      ++pending;
      asio::co_spawn(ex, std::move(task), [&](std::exception_ptr e) {
        if (e && !error_) error_ = e;
        if (--pending == 0) all_done.cancel();
      });
    };
    spawn(sslv2());
    for (auto v : {scan::kSsl3, scan::kTls10, scan::kTls11, scan::kTls12, scan::kTls13}) spawn(enumerate(v));
    for (auto g : scan::group_candidates()) spawn(group13(g));
    for (auto g : {0x001d, 0x0017, 0x0018, 0x0019, 0x001e}) spawn(group12(static_cast<std::uint16_t>(g)));
    for (auto s : scan::default_sigalgs()) spawn(sigalg(s, true)), spawn(sigalg(s, false));
    spawn(compression());
    spawn(main_handshake());
    spawn(alpn());
    co_await all_done.async_wait(use_tuple);
    if (error_) std::rethrow_exception(error_);
    spawn(fallback());
    spawn(resumption());
    if (pending) co_await all_done.async_wait(use_tuple);
    if (error_) std::rethrow_exception(error_);
    finish();
  }

 private:
  // probe sends one hello and returns the server's first answer (Incomplete when it said nothing).
  asio::awaitable<ServerAnswer> probe(std::string hello) {
    co_await limiter_.acquire();
    struct Release {
      Limiter& l;
      ~Release() { l.release(); }
    } release{limiter_};
    if (o_.delay_ms > 0) {
      asio::steady_timer pause(io_, std::chrono::milliseconds(o_.delay_ms));
      co_await pause.async_wait(use_tuple);
    }
    tcp::socket socket(io_);
    asio::steady_timer deadline(io_, deadline_after());
    count_connection();
    auto connected = co_await (socket.async_connect(ep_, use_tuple) || deadline.async_wait(use_tuple));
    if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) co_return ServerAnswer{};
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(hello), use_tuple);
    if (wec) co_return ServerAnswer{};
    std::string got;
    std::array<char, 4096> buf;
    ServerAnswer answer;
    while (answer.kind == ServerAnswer::Kind::Incomplete && got.size() < 65536) {
      auto read = co_await (socket.async_read_some(asio::buffer(buf), use_tuple) || deadline.async_wait(use_tuple));
      if (read.index() != 0) break;
      auto [ec, n] = std::get<0>(read);
      got.append(buf.data(), n);
      answer = scan::parse_server_answer(got);
      if (ec) break;
    }
    boost::system::error_code ignored;
    socket.close(ignored);
    co_return answer;
  }

  Clock::time_point deadline_after() const {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeout));
  }

  void count_connection() {
    ++r_.connections;
    if (o_.progress) o_.progress(r_.connections);
  }

  scan::HelloSpec base_spec(std::uint16_t version) const {
    scan::HelloSpec s;
    s.version = version;
    s.servername = sni_;
    s.groups = scan::default_groups();
    s.sigalgs = scan::default_sigalgs();
    if (version == scan::kSsl3) s.groups.clear();
    return s;
  }

  scan::HelloSpec spec13() const {
    auto s = base_spec(scan::kTls13);
    s.suites = scan::tls13_candidates();
    s.key_shares = {share_};
    return s;
  }

  // enumerate finds the suites a version accepts: offer all, note the choice, take it out, again.
  asio::awaitable<void> enumerate(std::uint16_t version) {
    scan::VersionSupport& vs = support_[version];
    vs.version = version;
    auto spec = version == scan::kTls13 ? spec13() : base_spec(version);
    std::vector<std::uint16_t> offered = version == scan::kTls13 ? scan::tls13_candidates() : scan::legacy_candidates();
    while (!offered.empty()) {
      spec.suites = offered;
      auto a = co_await probe(scan::build_client_hello(spec));
      if (!a.accepted() || a.version != version) break;
      if (vs.suites.empty()) first_answer_[version] = a;
      auto it = std::find(offered.begin(), offered.end(), a.suite);
      if (it == offered.end()) break;  // a suite we did not offer: stop rather than loop
      vs.suites.push_back(a.suite);
      offered.erase(it);
    }
    vs.supported = !vs.suites.empty();
    if (vs.suites.size() >= 2) {  // offered in reverse: a server that follows its own order ignores it
      spec.suites.assign(vs.suites.rbegin(), vs.suites.rend());
      auto a = co_await probe(scan::build_client_hello(spec));
      if (a.accepted()) vs.server_preference = a.suite == vs.suites.front();
    }
  }

  asio::awaitable<void> sslv2() {
    auto a = co_await probe(scan::build_sslv2_hello());
    auto& vs = support_[0x0002];
    vs.version = 0x0002;
    vs.supported = a.kind == ServerAnswer::Kind::Sslv2ServerHello;
  }

  // group13 offers one group with no key share: a server that has it asks for it (HRR).
  asio::awaitable<void> group13(std::uint16_t group) {
    auto spec = spec13();
    spec.groups = {group};
    spec.key_shares.clear();
    auto a = co_await probe(scan::build_client_hello(spec));
    if (a.accepted() && a.version == scan::kTls13 && a.group == group) groups_.insert(group);
  }

  // group12 offers only ECDHE suites and one curve: accepted means the curve is supported.
  asio::awaitable<void> group12(std::uint16_t group) {
    auto spec = base_spec(scan::kTls12);
    for (auto id : scan::legacy_candidates())
      if (scan::describe_suite(id).key_exchange.rfind("ECDHE", 0) == 0) spec.suites.push_back(id);
    spec.groups = {group};
    auto a = co_await probe(scan::build_client_hello(spec));
    if (a.accepted() && a.version == scan::kTls12 && scan::describe_suite(a.suite).key_exchange.rfind("ECDHE", 0) == 0)
      groups_.insert(group);
  }

  // sigalg offers one signature scheme (with suites that need a signature).
  asio::awaitable<void> sigalg(std::uint16_t scheme, bool tls13) {
    auto spec = tls13 ? spec13() : base_spec(scan::kTls12);
    if (!tls13)
      for (auto id : scan::legacy_candidates())
        if (scan::describe_suite(id).forward_secret) spec.suites.push_back(id);
    spec.sigalgs = {scheme};
    auto a = co_await probe(scan::build_client_hello(spec));
    if (a.kind == ServerAnswer::Kind::ServerHello && a.version == (tls13 ? scan::kTls13 : scan::kTls12))
      sigalgs_.insert(scheme);
  }

  asio::awaitable<void> compression() {
    auto spec = base_spec(scan::kTls12);
    spec.suites = scan::legacy_candidates();
    spec.compression = {1, 0};  // DEFLATE, then null
    auto a = co_await probe(scan::build_client_hello(spec));
    if (a.kind == ServerAnswer::Kind::ServerHello && a.version <= scan::kTls12) r_.compression = a.compression != 0;
  }

  // fallback sends a hello below the highest version with TLS_FALLBACK_SCSV (RFC 7507): a server
  // that honours it refuses with inappropriate_fallback.
  asio::awaitable<void> fallback() {
    std::vector<std::uint16_t> tls;
    for (auto v : {scan::kTls10, scan::kTls11, scan::kTls12, scan::kTls13})
      if (support_[v].supported) tls.push_back(v);
    if (tls.size() < 2) co_return;
    auto lower = tls[tls.size() - 2];
    auto spec = base_spec(lower);
    spec.suites = support_[lower].suites;
    spec.suites.push_back(scan::kFallbackScsv);
    auto a = co_await probe(scan::build_client_hello(spec));
    if (a.kind == ServerAnswer::Kind::Alert)
      r_.fallback_scsv = a.alert == 86;
    else if (a.accepted())
      r_.fallback_scsv = false;
  }

  // full runs one OpenSSL handshake (and GET / when asked).
  asio::awaitable<FullResult> full(FullSpec spec) {
    co_await limiter_.acquire();
    struct Release {
      Limiter& l;
      ~Release() { l.release(); }
    } release{limiter_};
    FullResult out;
    ssl::stream<tcp::socket> stream(io_, *ctx_);
    SSL* s = stream.native_handle();
    if (spec.max_version) SSL_set_max_proto_version(s, spec.max_version);
    if (spec.no_ticket) SSL_set_options(s, SSL_OP_NO_TICKET);
    if (!sni_.empty()) SSL_set_tlsext_host_name(s, sni_.c_str());
    SSL_set_tlsext_status_type(s, TLSEXT_STATUSTYPE_ocsp);
    if (spec.resume) SSL_set_session(s, spec.resume);
    if (!spec.alpn.empty()) {
      auto wire = tls::alpn_wire(spec.alpn);
      SSL_set_alpn_protos(s, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
    }
    tls::VerifyRecorder recorder;
    recorder.install(s);
    asio::steady_timer deadline(io_, deadline_after());
    count_connection();
    auto connected = co_await (stream.lowest_layer().async_connect(ep_, use_tuple) || deadline.async_wait(use_tuple));
    if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) {
      out.error = "could not connect";
      co_return out;
    }
    auto hs = co_await (stream.async_handshake(ssl::stream_base::client, use_tuple) || deadline.async_wait(use_tuple));
    if (hs.index() != 0) {
      out.error = "timed out during the handshake";
      co_return out;
    }
    if (auto [ec] = std::get<0>(hs); ec) {
      const char* reason = ec.category() == asio::error::get_ssl_category()
                               ? ERR_reason_error_string(static_cast<unsigned long>(ec.value()))
                               : nullptr;
      out.error = reason ? reason : ec.message();
      co_return out;
    }
    out.ok = true;
    out.reused = SSL_session_reused(s) == 1;
    out.report = tls::read_handshake(s);
    out.verdict = tls::make_verdict(recorder, out.report.peer_chain, SSL_get0_peer_certificate(s), verify_name_,
                                    !verify_name_.empty(), pki::now_epoch());
    // A request makes a TLS 1.3 server's tickets arrive before we take the session.
    std::string request = fmt::format(
        "{} / HTTP/1.1\r\nHost: {}\r\nUser-Agent: tlslab/scan\r\nConnection: close\r\n\r\n", "GET", host_header_);
    auto [wec, n] = co_await asio::async_write(stream, asio::buffer(request), use_tuple);
    std::array<char, 8192> buf;
    // The response only matters for HSTS; a server that does not speak HTTP gets two seconds.
    deadline.expires_at(std::min(deadline.expiry(), Clock::now() + std::chrono::seconds(2)));
    while (!wec && out.response.size() < 16384 && out.response.find("\r\n\r\n") == std::string::npos) {
      auto read = co_await (stream.async_read_some(asio::buffer(buf), use_tuple) || deadline.async_wait(use_tuple));
      if (read.index() != 0) break;
      auto [ec, got] = std::get<0>(read);
      out.response.append(buf.data(), got);
      if (ec) break;
    }
    out.session.reset(SSL_get1_session(s));
    // close_notify: a server frees the session of a connection closed without one (no resumption).
    co_await (stream.async_shutdown(use_tuple) || deadline.async_wait(use_tuple));
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
    co_return out;
  }

  asio::awaitable<void> main_handshake() {
    FullSpec spec;
    spec.alpn = {"http/1.1"};
    spec.http_get = true;
    auto res = co_await full(std::move(spec));
    r_.handshake_done = res.ok;
    r_.handshake_error = res.error;
    if (!res.ok) co_return;
    r_.chain = res.report.peer_chain;
    r_.verdict = res.verdict;
    r_.ocsp_stapling = res.report.ocsp_stapled;
    read_http(res.response);
    main_session_ = std::move(res.session);
    main_version_ = res.report.version;
  }

  void read_http(const std::string& response) {
    auto end = response.find("\r\n\r\n");
    if (response.rfind("HTTP/", 0) != 0) return;
    std::string head = response.substr(0, end);
    auto sp = head.find(' ');
    if (sp != std::string::npos) r_.http_status = std::atoi(head.c_str() + sp + 1);
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string::npos) {
      pos += 2;
      auto eol = head.find("\r\n", pos);
      std::string line = head.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (name != "strict-transport-security") continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      r_.hsts = value;
      std::string lower = value;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (auto m = lower.find("max-age="); m != std::string::npos)
        r_.hsts_max_age = std::atoll(lower.c_str() + m + 8 + (lower[m + 8] == '"' ? 1 : 0));
    }
  }

  // alpn offers the candidates, notes the server's choice, takes it out, again.
  asio::awaitable<void> alpn() {
    std::vector<std::string> offered = {"h2", "http/1.1", "http/1.0"};
    while (!offered.empty()) {
      FullSpec spec;
      spec.alpn = offered;
      auto res = co_await full(std::move(spec));
      if (!res.ok || res.report.alpn.empty()) break;
      auto it = std::find(offered.begin(), offered.end(), res.report.alpn);
      if (it == offered.end()) break;
      r_.alpn.push_back(res.report.alpn);
      offered.erase(it);
    }
  }

  // resumption: the main session again; then, below TLS 1.3, session IDs and tickets apart.
  asio::awaitable<void> resumption() {
    if (main_session_) {
      FullSpec spec;
      spec.resume = main_session_.get();
      auto again = co_await full(std::move(spec));
      if (main_version_ == "TLSv1.3") {
        r_.tls13_resumption = again.ok && again.reused;
        r_.max_early_data = SSL_SESSION_get_max_early_data(main_session_.get());
      }
    }
    int legacy = 0;
    for (auto v : {scan::kTls10, scan::kTls11, scan::kTls12})
      if (support_[v].supported) legacy = v;
    if (!legacy) {
      if (r_.tls13_resumption) r_.ticket_resumption = r_.tls13_resumption;
      co_return;
    }
    for (bool tickets : {false, true}) {
      FullSpec spec;
      spec.max_version = legacy;
      spec.no_ticket = !tickets;
      auto first = co_await full(spec);
      bool resumed = false;
      if (first.ok && first.session && (!tickets || SSL_SESSION_has_ticket(first.session.get()))) {
        spec.resume = first.session.get();
        auto second = co_await full(spec);
        resumed = second.ok && second.reused;
      }
      (tickets ? r_.ticket_resumption : r_.session_id_resumption) = resumed;
    }
  }

  void finish() {
    for (auto v : {std::uint16_t{0x0002}, scan::kSsl3, scan::kTls10, scan::kTls11, scan::kTls12, scan::kTls13}) {
      auto vs = support_[v];
      vs.version = v;
      vs.name = v == 0x0002 ? "SSLv2" : v == scan::kSsl3 ? "SSLv3" : tls::version_name(v);
      r_.versions.push_back(vs);
    }
    for (auto g : scan::group_candidates())
      if (groups_.count(g)) r_.groups.push_back(g);
    for (auto s : scan::default_sigalgs())
      if (sigalgs_.count(s)) r_.sigalgs.push_back(s);
    // Facts the ServerHello of the highest version up to TLS 1.2 shows (TLS 1.3 has them built in).
    for (auto v : {scan::kTls12, scan::kTls11, scan::kTls10, scan::kSsl3}) {
      auto it = first_answer_.find(v);
      if (it == first_answer_.end()) continue;
      r_.secure_renegotiation = it->second.has_extension(0xff01);
      r_.extended_master_secret = it->second.has_extension(0x0017);
      break;
    }
    if (!r_.compression && support_[scan::kTls13].supported) r_.compression = false;
    r_.grade = scan::grade(r_, pki::now_epoch());
  }

 public:
  std::string sni_, verify_name_, host_header_;
  scan::KeyShare share_ = scan::x25519_share();

 private:
  const ScanOptions& o_;
  scan::ScanReport& r_;
  asio::io_context& io_;
  tcp::endpoint ep_;
  Limiter limiter_;
  tls::ClientContext client_;
  std::unique_ptr<ssl::context> ctx_;
  std::map<std::uint16_t, scan::VersionSupport> support_;
  std::map<std::uint16_t, ServerAnswer> first_answer_;
  std::set<std::uint16_t> groups_, sigalgs_;
  ossl::Ptr<SSL_SESSION> main_session_;
  std::string main_version_;
  std::exception_ptr error_;
};

// reach resolves the route and makes one TCP connection, to fail early with connect's codes.
tcp::endpoint reach(const ScanOptions& o, scan::ScanReport& r) {
  auto rt = route(o.target, o.resolves, {});
  std::vector<tcp::endpoint> endpoints;
  asio::io_context io;
  if (!rt.addresses.empty()) {
    for (const auto& a : rt.addresses) endpoints.emplace_back(asio::ip::make_address(a), rt.port);
  } else {
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(rt.host, std::to_string(rt.port), ec);
    if (ec) throw Failure(Kind::Resolve, fmt::format("could not resolve host {}: {}", rt.host, ec.message()));
    for (const auto& e : results) endpoints.push_back(e.endpoint());
  }
  std::string errors;
  for (const auto& ep : endpoints) {
    tcp::socket socket(io);
    asio::steady_timer timer(io, std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout)));
    boost::system::error_code result = asio::error::timed_out;
    bool timed_out = false;
    socket.async_connect(ep, [&](boost::system::error_code ec) {
      result = ec;
      timer.cancel();
    });
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) timed_out = true, socket.close();
    });
    io.restart();
    io.run();
    ++r.connections;
    if (!result && !timed_out) {
      r.address = ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                                       : fmt::format("{}:{}", ep.address().to_string(), ep.port());
      return ep;
    }
    if (timed_out)
      throw Failure(Kind::Timeout, fmt::format("timed out connecting to {}:{} after {}s", ep.address().to_string(),
                                               ep.port(), o.timeout));
    errors +=
        fmt::format("{}{}:{}: {}", errors.empty() ? "" : "; ", ep.address().to_string(), ep.port(), result.message());
  }
  throw Failure(Kind::Connect, fmt::format("could not connect to {}", errors));
}

}  // namespace

scan::ScanReport run_scan(const ScanOptions& o) {
  auto start = Clock::now();
  scan::ScanReport report;
  report.host = o.servername.empty() ? o.target.host : o.servername;
  report.target = fmt::format("{}:{}", o.target.host, o.target.port);
  auto ep = reach(o, report);
  asio::io_context io;
  Scanner scanner(o, report, io, ep);
  scanner.verify_name_ = report.host;
  scanner.sni_ = tls::is_ip_literal(report.host) ? "" : report.host;
  scanner.host_header_ = host_header(o.target);
  std::exception_ptr error;
  asio::co_spawn(io, scanner.run(), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  report.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return report;
}

}  // namespace tlslab::net
