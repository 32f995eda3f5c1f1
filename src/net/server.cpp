#include "net/server.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "base/failure.hpp"
#include "http/h2_server.hpp"
#include "http/site.hpp"
#include "net/tls_io.hpp"
#include "net/tls_socket.hpp"
#include "net/workers.hpp"
#include "tls/negotiated.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A small file goes out with the response header in one write; a larger one in pieces.
constexpr std::uint64_t kSmallFile = 64 * 1024;
constexpr std::size_t kFilePiece = 256 * 1024;
// After an error response, what the client still sends is read and dropped (at most this much,
// for at most kLingerTime): closing with unread bytes makes the kernel send a reset, which can
// destroy the response before the client reads it (RFC 9112 section 9.6).
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr std::chrono::milliseconds kLingerTime{2000};

// The two clock formats every request needs, made once a second per thread.
struct Now {
  std::time_t second = -1;
  std::string http;  // Date header: "Sat, 28 Nov 2026 21:08:04 GMT"
  std::string clf;   // access log: "28/Nov/2026:21:08:04 +0000"
};

const Now& now() {
  thread_local Now cached;
  auto t = std::time(nullptr);
  if (t != cached.second) {
    cached.second = t;
    cached.http = http::http_date(t);
    std::tm tm{};
    gmtime_r(&t, &tm);
    cached.clf = fmt::format("{:%d/%b/%Y:%H:%M:%S} +0000", tm);
  }
  return cached;
}

std::string seconds_text(std::chrono::milliseconds d) { return fmt::format("{:g} s", d.count() / 1000.0); }

// closed says whether ec is the client going away (rather than a protocol error).
bool closed(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message;
}

class Session;

struct Shared {
  const ServeOptions& options;
  std::atomic<std::shared_ptr<tls::ServerContexts>> contexts;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::optional<http::StaticRoot> root;
  // Per worker, touched only on that worker's thread: open sessions, small files served.
  std::vector<std::unordered_set<Session*>> sessions;
  std::vector<http::FileCache> file_caches;

  Shared(const ServeOptions& o, std::shared_ptr<tls::ServerContexts> c) : options(o), contexts(std::move(c)) {
    if (!o.root.empty()) root.emplace(o.root);
  }

  // log_error writes one line about a client to the error log (stderr).
  void log_error(const std::string& peer, const std::string& what) const {
    if (options.log_json)
      Workers::write_line(2, nlohmann::json{{"time", now().clf}, {"client", peer}, {"error", what}}.dump());
    else
      Workers::write_line(2, fmt::format("tlslab serve: {}: {}", peer, what));
  }
};

// Session is one client connection: TLS detection and handshake, then HTTP/1.1 keep-alive, or
// HTTP/2 when ALPN chose h2 (serve_h2: an http::H2Server decides, the session moves its bytes).
//
// One timer per connection enforces the current deadline: each step (handshake, waiting for a
// request, reading it, writing the response) sets a deadline, and when it passes the timer
// cancels the socket's pending wait, so the step ends with timed_out_ set and the connection can
// still answer 408. A later deadline costs only a store: the timer re-arms when it fires.
class Session : public std::enable_shared_from_this<Session>, http::H2Responder {
 public:
  Session(unsigned worker, Shared& shared, tcp::socket socket, const tcp::endpoint& peer,
          std::shared_ptr<tls::ServerContexts> contexts)
      : worker_(worker),
        shared_(shared),
        contexts_(std::move(contexts)),
        socket_(std::move(socket)),
        tls_(socket_, contexts_->default_context()),
        timer_(socket_.get_executor()),
        buffer_(shared.options.limits.max_header_bytes + std::size_t{16 * 1024}) {
    error_code ec;
    peer_ = peer.address().to_string();
    socket_.set_option(tcp::no_delay(true), ec);
  }

  asio::awaitable<void> run();

  // close sends close_notify if it can go at once (nobody waits for the client's: for HTTP the end
  // of the connection carries no meaning) and closes the socket.
  void close() {
    tls_.close_notify();
    error_code ignored;
    socket_.close(ignored);
  }

  // stop_if_idle ends the connection if it is waiting for a request (SIGINT/SIGTERM).
  void stop_if_idle() {
    if (!idle_) return;
    stop_ = true;
    error_code ignored;
    socket_.cancel(ignored);
  }

 private:
  using Parser = bhttp::request_parser<bhttp::string_body>;

  asio::awaitable<bool> handshake();
  asio::awaitable<bool> serve_one();
  asio::awaitable<void> serve_h2();
  http::Reply reply_to(const http::Request& req);
  // H2Responder
  http::Reply respond(const http::Request& req) override { return reply_to(req); }
  void responded(const http::Request& req, unsigned status, std::uint64_t bytes) override {
    access_log(req, status, bytes);
  }
  void note(const std::string& line) override { shared_.log_error(peer_, line); }
  std::string_view date() override { return now().http; }
  asio::awaitable<IoResult> read_more();
  asio::awaitable<error_code> parse(Parser& parser, bool header_only);
  asio::awaitable<void> failed_request(const Parser& parser, boost::system::error_code ec, bool header);
  asio::awaitable<bool> send(const http::Request& req, http::Reply& reply, bool keep_alive);
  asio::awaitable<bool> send_file(http::FileReply& file, std::uint64_t& sent, bool last);
  // write writes bytes; last: they end the connection, and the close_notify goes in the same
  // TCP segment.
  asio::awaitable<error_code> write(std::string_view bytes, bool last);
  asio::awaitable<void> linger();
  const nlohmann::json& facts(const http::Request& req);
  const tls::ConnectionFacts& tls_facts();
  void access_log(const http::Request& req, unsigned status, std::uint64_t bytes);

  void expire_in(std::chrono::milliseconds d);
  void expire_at(SteadyClock::time_point when);
  void arm();
  void on_timer();

  unsigned worker_;
  Shared& shared_;
  std::shared_ptr<tls::ServerContexts> contexts_;  // the servername callback points into them
  tcp::socket socket_;                             // accepted non-blocking (net::Workers)
  TlsSocket tls_;                                  // on socket_
  asio::steady_timer timer_;
  SteadyClock::time_point deadline_{};
  SteadyClock::time_point armed_ = SteadyClock::time_point::max();  // when the timer fires
  bool timed_out_ = false;
  bool ended_ = false;
  beast::flat_buffer buffer_;  // received, not yet parsed
  std::string out_;            // the response being written
  std::string peer_;
  bool idle_ = false;  // waiting for a request
  bool first_ = true;  // no request yet
  bool stop_ = false;  // stop_if_idle ended it
  std::optional<nlohmann::json> facts_;
  std::optional<tls::ConnectionFacts> tls_facts_;
};

void Session::expire_in(std::chrono::milliseconds d) { expire_at(SteadyClock::now() + d); }

void Session::expire_at(SteadyClock::time_point when) {
  deadline_ = when;
  timed_out_ = false;
  if (deadline_ < armed_) {
    armed_ = deadline_;
    timer_.expires_at(deadline_);  // cancels the wait for the later time
    arm();
  }
}

void Session::arm() {
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->on_timer();
  });
}

void Session::on_timer() {
  if (ended_) return;
  if (SteadyClock::now() < deadline_) {  // the deadline moved on since the timer was set
    armed_ = deadline_;
    timer_.expires_at(deadline_);
    arm();
    return;
  }
  armed_ = SteadyClock::time_point::max();
  timed_out_ = true;
  error_code ignored;
  socket_.cancel(ignored);
}

asio::awaitable<void> Session::run() {
  ++shared_.connections;
  shared_.sessions[worker_].insert(this);
  struct Guard {
    Session* s;
    ~Guard() {
      s->ended_ = true;
      s->timer_.cancel();
      s->close();
      s->shared_.sessions[s->worker_].erase(s);
      --s->shared_.connections;
    }
  } guard{this};
  bool open = co_await handshake();
  // ALPN read directly: the connection's facts cost more, and HTTP/1.1 needs them only for pages.
  if (open && tls::selected_alpn(tls_.native_handle()) == "h2") {
    co_await serve_h2();
    co_return;
  }
  while (open) open = co_await serve_one();
}

// serve_h2 runs the connection's HTTP/2: write what the H2Server has to send, then read what the
// client sends (or wait for the next deadline), until the server is done. One loop, as for
// HTTP/1.1: a client that does not read while it writes is one whose writes the write timeout
// ends.
asio::awaitable<void> Session::serve_h2() {
  const auto& limits = shared_.options.limits;
  http::H2ServerOptions o;
  o.max_streams = limits.max_streams;
  o.max_header_bytes = limits.max_header_bytes;
  o.max_body_bytes = limits.max_body_bytes;
  o.header_timeout = limits.header_timeout;
  o.idle_timeout = limits.idle_timeout;
  o.request_timeout = limits.request_timeout;
  o.write_timeout = limits.write_timeout;
  http::H2Server h2(o, *this, SteadyClock::now());
  std::string out;
  bool stopping = false;
  for (;;) {
    if (!stopping && (stop_ || shared_.stopping)) {
      stopping = true;
      h2.shutdown();
    }
    out.clear();
    while (h2.take_output(out, 64 * 1024)) {
      expire_in(limits.write_timeout);
      auto ec = co_await tls_.write_all(out.data(), out.size());
      if (ec) {
        if (timed_out_)
          shared_.log_error(peer_, fmt::format("response not taken in {}; closed", seconds_text(limits.write_timeout)));
        co_return;
      }
      out.clear();
    }
    if (out.capacity() > kSmallFile * 2) std::string().swap(out);
    if (h2.done()) {
      if (h2.error().empty()) co_return;
      // A connection error: the GOAWAY is out; what the client still sends is dropped for a
      // while, or the kernel's reset could destroy the GOAWAY before the client reads it.
      shared_.log_error(peer_, h2.error());
      co_await linger();
      co_return;
    }
    expire_at(h2.next_deadline());
    idle_ = true;
    auto r = co_await read_more();
    idle_ = false;
    if (r.ec) {
      if (timed_out_) {
        h2.expire(SteadyClock::now());
        continue;
      }
      if (stop_ && r.ec == asio::error::operation_aborted) continue;
      if (!closed(r.ec)) shared_.log_error(peer_, "HTTP/2: " + tls_error_words(r.ec));
      co_return;
    }
    auto data = buffer_.data();
    bool ok = h2.receive(std::string_view(static_cast<const char*>(data.data()), data.size()), SteadyClock::now());
    buffer_.consume(buffer_.size());
    if (!ok) stopping = true;  // the GOAWAY goes out, then done
  }
}

asio::awaitable<bool> Session::handshake() {
  const auto& limits = shared_.options.limits;
  expire_in(limits.handshake_timeout);
  // The client's first bytes go into the request buffer (allocated for the request anyway) and
  // from there to OpenSSL: a ClientHello usually arrives whole, in this one read.
  auto into = buffer_.prepare(4096);
  auto [pec, n] = co_await receive(socket_, into);
  auto start = std::string_view(static_cast<const char*>(into.data()), n);
  if (pec || n == 0) {
    shared_.log_error(peer_, timed_out_
                                 ? fmt::format("sent nothing in {}; closed", seconds_text(limits.handshake_timeout))
                             : pec ? "connection failed before the TLS handshake: " + tls_error_words(pec)
                                   : "closed the connection without sending anything");
    co_return false;
  }
  // As nginx does: tell a plain-HTTP client in its own language. Anything else goes to OpenSSL, which
  // answers as its s_server would: a TLS record, an SSLv2-format ClientHello (still sent by some
  // scanners), an alert for a record out of place, nothing for bytes that are not TLS at all.
  auto method_end = start.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  if (method_end >= 3 && (method_end == std::string_view::npos || start[method_end] == ' ')) {
    static constexpr std::string_view reply =
        "HTTP/1.1 400 Bad Request\r\nServer: tlslab\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        "Content-Length: 49\r\n\r\nThis is an HTTPS port: use https:// to reach it.\n";
    co_await send_all(socket_, asio::buffer(reply));
    shared_.log_error(peer_, "plain HTTP request on the TLS port; answered 400");
    co_await linger();
    co_return false;
  }
  tls_.unread(start);
  auto ec = co_await tls_.handshake(true);
  if (ec) {
    bool sslv2 = (start[0] & 0x80) != 0 && start.size() > 2 && start[2] == 1;  // RFC 5246 appendix E.2
    shared_.log_error(peer_, timed_out_         ? fmt::format("TLS handshake not complete in {}; closed",
                                                              seconds_text(limits.handshake_timeout))
                             : closed(ec)       ? "closed the connection during the TLS handshake"
                             : sslv2            ? "SSLv2-format ClientHello refused: " + tls_error_words(ec)
                             : start[0] != 0x16 ? fmt::format("not TLS (the first bytes are no TLS record; OpenSSL "
                                                              "said: {}); closed",
                                                              tls_error_words(ec))
                                                : "TLS handshake failed: " + tls_error_words(ec));
    co_return false;
  }
  co_return true;
}

asio::awaitable<IoResult> Session::read_more() {
  auto room = buffer_.max_size() - buffer_.size();
  if (room == 0) co_return IoResult{bhttp::error::header_limit, 0};
  auto want = std::min(room, std::clamp<std::size_t>(buffer_.capacity() - buffer_.size(), 2048, 16 * 1024));
  auto into = buffer_.prepare(want);
  auto r = co_await tls_.read_some(static_cast<char*>(into.data()), into.size());
  buffer_.commit(r.bytes);
  co_return r;
}

// parse feeds what was received to parser, reading more until the header (header_only) or the
// whole request is in; the error otherwise (the client's end, a timeout, a parse error).
asio::awaitable<error_code> Session::parse(Parser& parser, bool header_only) {
  bool deadline_set = false;
  for (;;) {
    if (header_only ? parser.is_header_done() : parser.is_done()) co_return error_code{};
    if (buffer_.size()) {
      error_code ec;
      buffer_.consume(parser.put(buffer_.data(), ec));
      if (!ec) continue;
      if (ec != bhttp::error::need_more) co_return ec;
    }
    if (!deadline_set) {  // set only when a read must wait: most requests arrive whole
      const auto& limits = shared_.options.limits;
      expire_in(header_only ? limits.header_timeout : limits.request_timeout);
      deadline_set = true;
    }
    auto r = co_await read_more();
    if (r.ec) co_return r.ec;
  }
}

asio::awaitable<bool> Session::serve_one() {
  const auto& limits = shared_.options.limits;
  Parser parser;
  parser.header_limit(limits.max_header_bytes);
  parser.body_limit(limits.max_body_bytes);
  if (buffer_.size() == 0) {
    // Wait for a request: the first one within the header timeout, a next one within the idle one.
    if (stop_ || shared_.stopping) co_return false;
    if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();  // an idle connection keeps small buffers
    expire_in(first_ ? limits.header_timeout : limits.idle_timeout);
    idle_ = true;
    auto r = co_await read_more();
    idle_ = false;
    if (r.ec) {
      if (stop_) co_return false;
      if (timed_out_ && first_)
        shared_.log_error(peer_, fmt::format("sent no request in {}; closed", seconds_text(limits.header_timeout)));
      else if (!timed_out_ && !closed(r.ec))
        shared_.log_error(peer_, "waiting for a request: " + tls_error_words(r.ec));
      co_return false;  // a keep-alive connection that idles out or closes is no error
    }
  }
  // (GCC 12 mishandles co_await in conditions and in branches that hold temporaries: the
  // coroutine code here keeps to plain statements.)
  auto ec = co_await parse(parser, true);
  bool header = ec.failed();
  if (!header) ec = co_await parse(parser, false);
  if (ec) {
    co_await failed_request(parser, ec, header);
    co_return false;
  }
  auto& req = parser.get();
  http::Reply reply = reply_to(req);
  first_ = false;
  bool keep = req.keep_alive() && !shared_.stopping;
  bool ok = co_await send(req, reply, keep);
  if (out_.capacity() > kSmallFile * 2) std::string().swap(out_);
  co_return ok&& keep;
}

// failed_request answers a request that could not be read whole, as HTTP says (413, 431, 408,
// 400), and logs why, or that the client went away; the connection ends either way.
asio::awaitable<void> Session::failed_request(const Parser& parser, error_code ec, bool header) {
  const auto& limits = shared_.options.limits;
  std::optional<http::Reply> reply;
  std::string why;
  if (ec == bhttp::error::header_limit) {
    reply = http::error_reply(431, fmt::format("the request header is larger than {} bytes", limits.max_header_bytes));
    why = fmt::format("request header larger than {} bytes; answered 431", limits.max_header_bytes);
  } else if (ec == bhttp::error::body_limit) {
    reply = http::error_reply(413, fmt::format("the request body is larger than {} bytes", limits.max_body_bytes));
    why = fmt::format("request body larger than {} bytes; answered 413", limits.max_body_bytes);
  } else if (timed_out_) {
    reply = http::error_reply(408);
    why = fmt::format("request {} not complete in {}; answered 408", header ? "header" : "body",
                      seconds_text(header ? limits.header_timeout : limits.request_timeout));
  } else if (closed(ec)) {
    why = fmt::format("closed the connection in the middle of a request {}", header ? "header" : "body");
  } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    reply = http::error_reply(400, "malformed request: " + ec.message());
    why = "malformed request (" + ec.message() + "); answered 400";
  } else {
    why = "reading a request: " + tls_error_words(ec);
  }
  shared_.log_error(peer_, why);
  if (!reply) co_return;
  // An error response on a connection about to close; then what the client still sends is dropped.
  bool sent = co_await send(parser.get(), *reply, false);
  if (sent) co_await linger();
}

asio::awaitable<void> Session::linger() {
  expire_in(kLingerTime);
  tls_.close_notify();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> sink;
  for (std::size_t dropped = 0; dropped < kLingerBytes;) {
    auto r = co_await receive(socket_, asio::buffer(sink));
    if (r.ec || r.bytes == 0) break;
    dropped += r.bytes;
  }
}

asio::awaitable<bool> Session::send(const http::Request& req, http::Reply& reply, bool keep_alive) {
  bool head = req.method() == bhttp::verb::head;
  out_.clear();
  http::append_response_head(out_, reply, req.version() == 10 ? 10 : 11, keep_alive, now().http);
  expire_in(shared_.options.limits.write_timeout);
  bool no_body = head || reply.status == 304 || reply.status == 204;
  auto length = no_body ? 0 : reply.content_length();
  std::uint64_t sent = 0;
  bool ok = true;
  if (no_body || !reply.file) {
    bool whole = no_body || length <= 16 * 1024;
    if (!no_body && whole) out_ += reply.body;  // one write, one TLS record for a small page
    auto ec = co_await write(out_, whole && !keep_alive);
    if (!ec && !whole) ec = co_await tls_.write_all(reply.body.data(), reply.body.size());
    ok = !ec;
    if (ok) sent = length;
  } else {
    ok = co_await send_file(*reply.file, sent, !keep_alive);
  }
  access_log(req, reply.status, sent);
  if (!ok && !timed_out_)
    shared_.log_error(
        peer_, fmt::format("closed the connection during the response ({} of {} body bytes sent)", sent, length));
  else if (!ok)
    shared_.log_error(
        peer_, fmt::format("response not taken in {}; closed", seconds_text(shared_.options.limits.write_timeout)));
  co_return ok;
}

// send_file writes the response header in out_ and then the file's bytes; sent counts the body
// bytes written.
asio::awaitable<error_code> Session::write(std::string_view bytes, bool last) {
  if (last) co_return co_await tls_.write_last(bytes.data(), bytes.size());
  co_return co_await tls_.write_all(bytes.data(), bytes.size());
}

asio::awaitable<bool> Session::send_file(http::FileReply& file, std::uint64_t& sent, bool last) {
  auto read_at = [fd = file.fd.get()](char* into, std::size_t n, std::uint64_t offset) {
    std::size_t got = 0;
    while (got < n) {
      auto r = ::pread(fd, into + got, n - got, static_cast<off_t>(offset + got));
      if (r <= 0) return false;  // the file shrank under us: the client sees a short body
      got += static_cast<std::size_t>(r);
    }
    return true;
  };
  if (file.data || file.length <= kSmallFile) {  // header and body in one write
    if (file.data) {                             // from the file cache
      out_.append(*file.data, file.offset, file.length);
    } else {
      auto head = out_.size();
      out_.resize(head + file.length);
      if (!read_at(out_.data() + head, file.length, file.offset)) co_return false;
    }
    if (co_await write(out_, last)) co_return false;
    sent = file.length;
    co_return true;
  }
  auto ec = co_await write(out_, false);
  if (ec) co_return false;
  std::unique_ptr<char[]> piece(new char[kFilePiece]);
  for (std::uint64_t left = file.length; left;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kFilePiece));
    if (!read_at(piece.get(), n, file.offset + sent)) co_return false;
    expire_in(shared_.options.limits.write_timeout);
    ec = co_await tls_.write_all(piece.get(), n);
    if (ec) co_return false;
    sent += n;
    left -= n;
  }
  co_return true;
}

http::Reply Session::reply_to(const http::Request& req) {
  return http::site_reply(req, shared_.root ? &*shared_.root : nullptr, shared_.options.echo,
                          &shared_.file_caches[worker_], [&]() -> const nlohmann::json& { return facts(req); });
}

const tls::ConnectionFacts& Session::tls_facts() {
  if (!tls_facts_) tls_facts_ = tls::connection_facts(tls_.native_handle());
  return *tls_facts_;
}

// facts describes the connection for the built-in pages; the TLS part is read once, the request
// part (HTTP version, User-Agent) updated when it changes.
const nlohmann::json& Session::facts(const http::Request& req) {
  auto ua_field = req.find(bhttp::field::user_agent);
  auto ua = ua_field == req.end() ? nlohmann::json(nullptr) : nlohmann::json(std::string(ua_field->value()));
  auto version = fmt::format("HTTP/{}.{}", req.version() / 10, req.version() % 10);
  // The protocol as ALPN names it.
  auto protocol = req.version() == 20 ? "h2" : req.version() == 10 ? "http/1.0" : "http/1.1";
  if (!facts_) {
    const auto& f = tls_facts();
    auto str_or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    facts_ = nlohmann::json{
        {"tls_version", f.version},
        {"cipher_suite", f.cipher_iana},
        {"cipher_suite_openssl", f.cipher_openssl},
        {"cipher_bits", f.cipher_bits},
        {"group", str_or_null(f.group)},
        {"signature_scheme", str_or_null(f.signature_scheme)},
        {"sni", str_or_null(f.sni)},
        {"alpn", str_or_null(f.alpn)},
        {"resumed", f.resumed},
        {"client_certificate", str_or_null(f.client_certificate)},
        {"client_certificate_verified", f.client_certificate_verified},
        {"client_address", peer_},
    };
  }
  (*facts_)["http_version"] = std::move(version);
  (*facts_)["protocol"] = protocol;
  (*facts_)["user_agent"] = std::move(ua);
  return *facts_;
}

void Session::access_log(const http::Request& req, unsigned status, std::uint64_t bytes) {
  if (!shared_.options.access_log) return;
  const auto& tls = tls_facts();
  auto field = [&](bhttp::field f) {
    auto it = req.find(f);
    return it == req.end() ? std::string_view("-") : std::string_view(it->value());
  };
  if (shared_.options.log_json) {
    Workers::write_line(
        1,
        nlohmann::json{{"time", now().clf},
                       {"client", peer_},
                       {"method", std::string(req.method_string())},
                       {"target", std::string(req.target())},
                       {"status", status},
                       {"bytes", bytes},
                       {"referer", std::string(field(bhttp::field::referer))},
                       {"user_agent", std::string(field(bhttp::field::user_agent))},
                       {"protocol", fmt::format("HTTP/{}.{}", req.version() / 10, req.version() % 10)},
                       {"sni", tls.sni},
                       {"tls_version", tls.version},
                       {"cipher", tls.cipher_iana},
                       {"resumed", tls.resumed},
                       {"client_certificate", tls.client_certificate.empty() ? nlohmann::json(nullptr)
                                                                             : nlohmann::json(tls.client_certificate)}}
            .dump());
    return;
  }
  // Combined log format (the request line's protocol is nginx's $server_protocol: HTTP/2.0 for
  // HTTP/2), then the TLS version, the cipher suite and the client certificate's subject.
  Workers::write_line(
      1, fmt::format("{} - - [{}] \"{} {} HTTP/{}.{}\" {} {} \"{}\" \"{}\" {} {}{}", peer_, now().clf,
                     req.method_string(), req.target(), req.version() / 10, req.version() % 10, status, bytes,
                     field(bhttp::field::referer), field(bhttp::field::user_agent), tls.version, tls.cipher_iana,
                     tls.client_certificate.empty() ? "" : fmt::format(" \"{}\"", tls.client_certificate)));
}

}  // namespace

void run_server(const ServeOptions& options, std::shared_ptr<tls::ServerContexts> contexts) {
  Workers workers(options.threads);
  workers.listen(options.listen, 4433);
  Shared shared(options, std::move(contexts));
  shared.sessions.resize(workers.size());
  shared.file_caches.resize(workers.size());
  WorkerHooks hooks;
  hooks.name = "serve";
  hooks.accept = [&](tcp::socket socket, const tcp::endpoint& peer, unsigned index) {
    std::shared_ptr<Session> session;
    try {
      session = std::make_shared<Session>(index, shared, std::move(socket), peer, shared.contexts.load());
    } catch (const std::exception& e) {
      Workers::write_line(2, fmt::format("tlslab serve: cannot take a connection: {}", e.what()));
      return;
    }
    asio::co_spawn(
        workers.io(index), [session]() -> asio::awaitable<void> { co_await session->run(); },
        [](const std::exception_ptr& e) {
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& x) {
            Workers::write_line(2, fmt::format("tlslab serve: connection ended by an error: {}", x.what()));
          }
        });
  };
  hooks.stop = [&](unsigned index) {
    shared.stopping = true;
    // stop_if_idle may end a session, which removes itself from the set: iterate over a copy.
    std::vector<Session*> open(shared.sessions[index].begin(), shared.sessions[index].end());
    for (auto* s : open) s->stop_if_idle();
  };
  hooks.reload = [&] {
    if (!options.reload) return;
    try {
      shared.contexts.store(options.reload());
      Workers::write_line(2, "tlslab serve: SIGHUP: certificates reloaded; open connections keep theirs");
    } catch (const Failure& f) {
      Workers::write_line(
          2, fmt::format("tlslab serve: SIGHUP: reload failed, keeping the old certificates: {}", f.what()));
    }
  };
  hooks.open_connections = [&] { return shared.connections.load(); };
  hooks.max_connections = options.limits.max_connections;
  hooks.grace = options.limits.grace;
  hooks.ready = options.on_ready;
  workers.run(hooks);
}

}  // namespace tlslab::net
