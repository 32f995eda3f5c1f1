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
#include <optional>
#include <set>
#include <utility>

#include "base/address.hpp"
#include "scan/grade.hpp"
#include "scan/hello.hpp"
#include "scan/http_probe.hpp"
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

// The curves a TLS 1.2 ECDHE ServerKeyExchange can name: x25519, secp256r1, secp384r1, secp521r1, x448.
const std::vector<std::uint16_t> kTls12Curves = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e};

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
  int min_version = 0, max_version = 0;  // 0: the context's
  bool no_ticket = false;
  SSL_SESSION* resume = nullptr;
  std::vector<std::string> alpn;
  std::string sigalgs;    // OpenSSL's list syntax; empty: the default
  bool http_get = false;  // send GET / and keep the response's head
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

// remove_one takes the first occurrence of value out of list.
template <class T>
void remove_one(std::vector<T>& list, const T& value) {
  if (auto it = std::find(list.begin(), list.end(), value); it != list.end()) list.erase(it);
}

// contains says whether value is in list.
template <class T>
bool contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// narrow finds every choice a server makes from offered, in the order it makes them: ask offers a
// list and returns what the server chose from it (nothing: it refused); the choice is taken out and
// the rest offered again, until the server refuses or chooses something that was not offered.
template <class T, class Ask>
asio::awaitable<std::vector<T>> narrow(std::vector<T> offered, Ask ask) {
  std::vector<T> chosen;
  while (!offered.empty()) {
    std::optional<T> choice = co_await ask(offered);
    if (!choice || !contains(offered, *choice)) break;
    chosen.push_back(*choice);
    remove_one(offered, *choice);
  }
  co_return chosen;
}

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

  // run is the whole scan. Every chain of dependent probes starts at once, the longest first (the
  // limiter serves in order), so the scan takes about as long as its longest chain.
  asio::awaitable<void> run() {
    co_await speaks_tls();
    auto ex = co_await asio::this_coro::executor;
    int pending = 0;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    auto spawn = [&](asio::awaitable<void> task) {
      ++pending;
      ++tasks_;
      asio::co_spawn(ex, std::move(task), [&](std::exception_ptr e) {
        if (e && !error_) error_ = e;
        ++tasks_done_;
        report_progress();
        if (--pending == 0) all_done.cancel();
      });
    };
    spawn(versions());
    spawn(groups13());
    spawn(groups12());
    spawn(sigalgs12());
    spawn(sigalgs13());
    spawn(main_handshake());
    spawn(alpn());
    spawn(legacy_resumption(false));
    spawn(legacy_resumption(true));
    spawn(sslv2());
    spawn(compression());
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
    asio::steady_timer deadline(io_, deadline_after());
    auto connected = co_await (socket.async_connect(ep_, use_tuple) || deadline.async_wait(use_tuple));
    if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) co_return ServerAnswer{};
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
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
      answer = scan::parse_server_answer(got, through_key_exchange);
      if (ec) break;
    }
    // The flight ended early (closed, too long, too slow): the ServerHello alone still tells.
    if (answer.kind == ServerAnswer::Kind::Incomplete && through_key_exchange) answer = scan::parse_server_answer(got);
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
      asio::steady_timer deadline(io_, deadline_after());
      count_connection();
      auto connected = co_await (socket.async_connect(ep_, use_tuple) || deadline.async_wait(use_tuple));
      if (connected.index() != 0)
        throw Failure(Kind::Timeout, fmt::format("timed out connecting to {} after {}s", r_.address, o_.timeout));
      if (auto [ec] = std::get<0>(connected); ec)
        throw Failure(Kind::Connect, fmt::format("could not connect to {}: {}", r_.address, ec.message()));
      auto [wec, written] = co_await asio::async_write(socket, asio::buffer(hello), use_tuple);
      std::string got;
      std::array<char, 4096> buf;
      ServerAnswer answer;
      bool closed = static_cast<bool>(wec), silent = false;
      while (!closed && answer.kind == ServerAnswer::Kind::Incomplete && got.size() < 65536) {
        auto read = co_await (socket.async_read_some(asio::buffer(buf), use_tuple) || deadline.async_wait(use_tuple));
        if (read.index() != 0) {
          silent = true;
          break;
        }
        auto [ec, n] = std::get<0>(read);
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

  Clock::time_point deadline_after() const {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeout));
  }

  void count_connection() {
    ++r_.connections;
    report_progress();
  }

  void report_progress() {
    if (o_.progress) o_.progress(r_.connections, tasks_done_, tasks_);
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

  // versions enumerates every version's suites at once, then tries TLS_FALLBACK_SCSV, which needs
  // to know them all.
  asio::awaitable<void> versions() {
    co_await (enumerate(scan::kTls12) && enumerate(scan::kTls13) && enumerate(scan::kTls11) &&
              enumerate(scan::kTls10) && enumerate(scan::kSsl3));
    co_await fallback();
  }

  // enumerate finds the suites a version accepts: offer all, note the choice, take it out, again.
  asio::awaitable<void> enumerate(std::uint16_t version) {
    scan::VersionSupport& vs = support_[version];
    vs.version = version;
    auto spec = version == scan::kTls13 ? spec13() : base_spec(version);
    auto candidates = version == scan::kTls13 ? scan::tls13_candidates() : scan::legacy_candidates();
    vs.suites = co_await narrow(
        candidates, [&](const std::vector<std::uint16_t>& offered) -> asio::awaitable<std::optional<std::uint16_t>> {
          spec.suites = offered;
          auto a = co_await probe(scan::build_client_hello(spec));
          if (!a.accepted() || a.version != version) co_return std::nullopt;
          first_answer_.try_emplace(version, a);
          co_return a.suite;
        });
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

  // groups13 offers the groups with no key share: the server asks for the one it wants in a
  // HelloRetryRequest. Take it out and ask again, until none is left that it accepts.
  asio::awaitable<void> groups13() {
    auto spec = spec13();
    spec.key_shares.clear();
    auto found = co_await narrow(
        scan::group_candidates(),
        [&](const std::vector<std::uint16_t>& offered) -> asio::awaitable<std::optional<std::uint16_t>> {
          spec.groups = offered;
          auto a = co_await probe(scan::build_client_hello(spec));
          if (!a.accepted() || a.version != scan::kTls13) co_return std::nullopt;
          co_return a.group;
        });
    groups_.insert(found.begin(), found.end());
  }

  // groups12 offers ECDHE suites and the curves; the ServerKeyExchange names the one chosen.
  asio::awaitable<void> groups12() {
    auto spec = base_spec(scan::kTls12);
    spec.suites = scan::ecdhe_candidates();
    auto found = co_await narrow(
        kTls12Curves, [&](const std::vector<std::uint16_t>& offered) -> asio::awaitable<std::optional<std::uint16_t>> {
          spec.groups = offered;
          auto a = co_await probe(scan::build_client_hello(spec), true);
          if (a.kind != ServerAnswer::Kind::ServerHello || a.version != scan::kTls12) co_return std::nullopt;
          co_return a.group;
        });
    groups_.insert(found.begin(), found.end());
  }

  // sigalgs12 offers the schemes with signed suites; the ServerKeyExchange names the one used.
  asio::awaitable<void> sigalgs12() {
    auto spec = base_spec(scan::kTls12);
    spec.suites = scan::signed_candidates();
    auto found = co_await narrow(
        scan::default_sigalgs(),
        [&](const std::vector<std::uint16_t>& offered) -> asio::awaitable<std::optional<std::uint16_t>> {
          spec.sigalgs = offered;
          auto a = co_await probe(scan::build_client_hello(spec), true);
          if (a.kind != ServerAnswer::Kind::ServerHello || a.version != scan::kTls12) co_return std::nullopt;
          co_return a.signature_scheme;
        });
    sigalgs_.insert(found.begin(), found.end());
  }

  // sigalgs13: TLS 1.3 encrypts the CertificateVerify, so each round is a full handshake that
  // offers the schemes left; the one the server signed with comes out.
  asio::awaitable<void> sigalgs13() {
    std::vector<std::uint16_t> candidates;
    for (auto id : scan::default_sigalgs())
      if (scan::tls13_signature_scheme(id)) candidates.push_back(id);
    auto found = co_await narrow(
        candidates, [&](const std::vector<std::uint16_t>& offered) -> asio::awaitable<std::optional<std::uint16_t>> {
          FullSpec spec;
          spec.min_version = spec.max_version = TLS1_3_VERSION;
          for (auto id : offered) spec.sigalgs += (spec.sigalgs.empty() ? "" : ":") + tls::signature_scheme_name(id);
          auto res = co_await full(std::move(spec));
          if (res.ok)
            for (auto id : offered)
              if (tls::signature_scheme_name(id) == res.report.signature_scheme) co_return id;
          co_return std::nullopt;
        });
    sigalgs_.insert(found.begin(), found.end());
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
    auto slot = co_await open_slot();
    FullResult out;
    ssl::stream<tcp::socket> stream(io_, *ctx_);
    SSL* s = stream.native_handle();
    if (spec.min_version) SSL_set_min_proto_version(s, spec.min_version);
    if (spec.max_version) SSL_set_max_proto_version(s, spec.max_version);
    if (spec.no_ticket) SSL_set_options(s, SSL_OP_NO_TICKET);
    if (!sni_.empty()) SSL_set_tlsext_host_name(s, sni_.c_str());
    SSL_set_tlsext_status_type(s, TLSEXT_STATUSTYPE_ocsp);
    if (spec.resume) SSL_set_session(s, spec.resume);
    if (!spec.alpn.empty()) {
      auto wire = tls::alpn_wire(spec.alpn);
      SSL_set_alpn_protos(s, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
    }
    if (!spec.sigalgs.empty() && SSL_set1_sigalgs_list(s, spec.sigalgs.c_str()) != 1) {
      ERR_clear_error();
      out.error = "signature algorithms not available in this OpenSSL: " + spec.sigalgs;
      co_return out;
    }
    tls::VerifyRecorder recorder;
    recorder.install(s);
    asio::steady_timer deadline(io_, deadline_after());
    auto connected = co_await (stream.lowest_layer().async_connect(ep_, use_tuple) || deadline.async_wait(use_tuple));
    if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) {
      out.error = "could not connect";
      co_return out;
    }
    boost::system::error_code ignored;
    stream.lowest_layer().set_option(tcp::no_delay(true), ignored);
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
    if (spec.http_get) {
      // The request also makes a TLS 1.3 server's tickets arrive before we take the session.
      std::string request = scan::probe_request(host_header_);
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
    }
    out.session.reset(SSL_get1_session(s));
    // close_notify: a server frees the session of a connection closed without one (no resumption).
    co_await (stream.async_shutdown(use_tuple) || deadline.async_wait(use_tuple));
    stream.lowest_layer().close(ignored);
    co_return out;
  }

  // main_handshake: the chain, its verification, OCSP, HSTS; then the session again (TLS 1.3).
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
    auto head = scan::read_http_head(res.response);
    r_.http_status = head.status;
    r_.hsts = head.hsts;
    r_.hsts_max_age = head.hsts_max_age;
    if (res.report.version != tls::TlsVersion::Tls1_3 || !res.session) co_return;
    r_.max_early_data = SSL_SESSION_get_max_early_data(res.session.get());
    FullSpec again;
    again.resume = res.session.get();
    auto second = co_await full(std::move(again));
    r_.tls13_resumption = second.ok && second.reused;
  }

  // alpn offers the candidates, notes the server's choice, takes it out, again.
  asio::awaitable<void> alpn() {
    std::vector<std::string> candidates = {"h2", "http/1.1", "http/1.0"};
    r_.alpn = co_await narrow(
        candidates, [&](const std::vector<std::string>& offered) -> asio::awaitable<std::optional<std::string>> {
          FullSpec spec;
          spec.alpn = offered;
          auto res = co_await full(std::move(spec));
          if (!res.ok) co_return std::nullopt;
          co_return res.report.alpn;
        });
  }

  // legacy_resumption: below TLS 1.3 (the highest version the server has there), a session by
  // its ID with tickets off, or by its ticket; kept until finish() knows whether TLS <= 1.2 is
  // offered at all.
  asio::awaitable<void> legacy_resumption(bool tickets) {
    FullSpec spec;
    spec.max_version = TLS1_2_VERSION;
    spec.no_ticket = !tickets;
    auto first = co_await full(spec);
    bool resumed = false;
    if (first.ok && first.session && (!tickets || SSL_SESSION_has_ticket(first.session.get()))) {
      spec.resume = first.session.get();
      auto second = co_await full(spec);
      resumed = second.ok && second.reused;
    }
    (tickets ? legacy_ticket_ : legacy_session_id_) = resumed;
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
    bool legacy =
        support_[scan::kTls10].supported || support_[scan::kTls11].supported || support_[scan::kTls12].supported;
    if (legacy) {
      r_.session_id_resumption = legacy_session_id_;
      r_.ticket_resumption = legacy_ticket_;
    } else if (r_.tls13_resumption.value_or(false)) {
      r_.ticket_resumption = true;  // TLS 1.3 resumes by tickets only
    }
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
  bool legacy_session_id_ = false, legacy_ticket_ = false;
  int tasks_ = 0, tasks_done_ = 0;  // groups of probes started and finished (for progress)
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
  scanner.sni_ = is_ip_literal(report.host) ? "" : report.host;
  scanner.host_header_ = host_header(o.target);
  std::exception_ptr error;
  asio::co_spawn(io, scanner.run(), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  report.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return report;
}

}  // namespace tlslab::net
