#include "net/server.hpp"

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
#include <unordered_set>

#include "base/failure.hpp"
#include "http/site.hpp"
#include "net/tls_io.hpp"
#include "net/tls_socket.hpp"
#include "net/workers.hpp"
#include "serve/facts.hpp"
#include "serve/h2_server.hpp"
#include "serve/policy.hpp"
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

// The time every request needs, as the Date header shows it, made once a second per thread.
struct Now {
  std::time_t second = -1;
  std::string http;  // "Sat, 28 Nov 2026 21:08:04 GMT"
};

const Now& now() {
  thread_local Now cached;
  auto t = std::time(nullptr);
  if (t != cached.second) {
    cached.second = t;
    cached.http = http::http_date(t);
  }
  return cached;
}

// closed says whether ec is the client going away (rather than a protocol error).
bool closed(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message;
}

// ending says how a step that failed with ec ended, for serve's policy.
serve::End ending(const error_code& ec, bool timed_out) {
  return timed_out ? serve::End::TimedOut : closed(ec) ? serve::End::Closed : serve::End::Failed;
}

// read_failure says why a request could not be read whole.
serve::ReadFailure read_failure(const error_code& ec, bool timed_out) {
  using serve::ReadFailure;
  if (ec == bhttp::error::header_limit) return ReadFailure::HeaderTooLarge;
  if (ec == bhttp::error::body_limit) return ReadFailure::BodyTooLarge;
  if (timed_out) return ReadFailure::TimedOut;
  if (closed(ec)) return ReadFailure::Closed;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) return ReadFailure::Malformed;
  return ReadFailure::Failed;
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

  // log_error tells the error log something about a client.
  void log_error(std::string_view peer, std::string_view what) const {
    options.log->client_error({.time = std::time(nullptr), .client = peer, .what = what});
  }
};

// Session is one client connection: TLS detection and handshake, then HTTP/1.1 keep-alive, or
// HTTP/2 when ALPN chose h2 (serve_h2: a serve::H2Server decides, the session moves its bytes).
//
// One timer per connection enforces the current deadline, which serve::ConnectionTimer keeps: each
// step (handshake, waiting for a request, reading it, writing the response) sets a deadline, and
// when it passes the timer cancels the socket's pending wait, so the step ends timed out and the
// connection can still answer 408. A later deadline costs only a store: the timer re-arms when it
// fires.
class Session : public std::enable_shared_from_this<Session>, serve::H2Responder {
 public:
  Session(unsigned worker, Shared& shared, tcp::socket socket, const tcp::endpoint& peer,
          std::shared_ptr<tls::ServerContexts> contexts)
      : worker_(worker),
        shared_(shared),
        contexts_(std::move(contexts)),
        socket_(std::move(socket)),
        tls_(socket_, contexts_->default_context()),
        timer_(socket_.get_executor()),
        deadline_(shared.options.limits),
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
  void log_error(std::string_view what) const { shared_.log_error(peer_, what); }
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
  const tls::ConnectionFacts& tls_facts();
  void access_log(const http::Request& req, unsigned status, std::uint64_t bytes);

  // follow sets the timer to the deadline when a step of deadline_ says so (it moved earlier).
  void follow(bool set);
  void arm();
  void on_timer();

  unsigned worker_;
  Shared& shared_;
  std::shared_ptr<tls::ServerContexts> contexts_;  // the servername callback points into them
  tcp::socket socket_;                             // accepted non-blocking (net::Workers)
  TlsSocket tls_;                                  // on socket_
  asio::steady_timer timer_;
  serve::ConnectionTimer deadline_;  // the deadline timer_ enforces
  bool ended_ = false;
  beast::flat_buffer buffer_;  // received, not yet parsed
  std::string out_;            // the response being written
  std::string peer_;
  bool idle_ = false;  // waiting for a request
  bool stop_ = false;  // stop_if_idle ended it
  serve::PageFacts facts_;
  std::optional<tls::ConnectionFacts> tls_facts_;
};

void Session::follow(bool set) {
  if (!set) return;
  timer_.expires_at(deadline_.deadline());  // cancels the wait for the later time
  arm();
}

void Session::arm() {
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->on_timer();
  });
}

void Session::on_timer() {
  if (ended_) return;
  if (deadline_.fired(SteadyClock::now()) == serve::ConnectionTimer::Fired::Rearm) {
    timer_.expires_at(deadline_.deadline());
    arm();
    return;
  }
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
  serve::H2Server h2(limits, *this, SteadyClock::now());
  std::string out;
  bool stopping = false;
  for (;;) {
    if (!stopping && (stop_ || shared_.stopping)) {
      stopping = true;
      h2.shutdown();
    }
    out.clear();
    while (h2.take_output(out, 64 * 1024)) {
      follow(deadline_.write(SteadyClock::now()));
      auto ec = co_await tls_.write_all(out.data(), out.size());
      if (ec) {
        if (deadline_.timed_out()) log_error(serve::response_failure(serve::End::TimedOut, 0, 0, limits));
        co_return;
      }
      out.clear();
    }
    if (out.capacity() > kSmallFile * 2) std::string().swap(out);
    if (h2.done()) {
      if (h2.error().empty()) co_return;
      // A connection error: the GOAWAY is out; what the client still sends is dropped for a
      // while, or the kernel's reset could destroy the GOAWAY before the client reads it.
      log_error(h2.error());
      co_await linger();
      co_return;
    }
    follow(deadline_.until(h2.next_deadline()));
    idle_ = true;
    auto r = co_await read_more();
    idle_ = false;
    if (r.ec) {
      if (deadline_.timed_out()) {
        h2.expire(SteadyClock::now());
        continue;
      }
      if (stop_ && r.ec == asio::error::operation_aborted) continue;
      if (auto why = serve::http2_read_failure(ending(r.ec, false), tls_error_words(r.ec))) log_error(*why);
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
  follow(deadline_.handshake(SteadyClock::now()));
  // The client's first bytes go into the request buffer (allocated for the request anyway) and
  // from there to OpenSSL: a ClientHello usually arrives whole, in this one read.
  auto into = buffer_.prepare(4096);
  auto [pec, n] = co_await receive(socket_, into);
  auto start = std::string_view(static_cast<const char*>(into.data()), n);
  if (pec || n == 0) {
    auto end = deadline_.timed_out() ? serve::End::TimedOut : pec ? serve::End::Failed : serve::End::Closed;
    log_error(serve::first_read_failure(end, limits, pec ? tls_error_words(pec) : std::string()));
    co_return false;
  }
  // As nginx does: tell a plain-HTTP client in its own language. Anything else goes to OpenSSL, which
  // answers as its s_server would: a TLS record, an SSLv2-format ClientHello (still sent by some
  // scanners), an alert for a record out of place, nothing for bytes that are not TLS at all.
  if (serve::looks_like_plain_http(start)) {
    co_await send_all(socket_, asio::buffer(serve::kPlainHttpReply));
    log_error(serve::kPlainHttpNote);
    co_await linger();
    co_return false;
  }
  tls_.unread(start);
  auto ec = co_await tls_.handshake(true);
  if (ec) {
    auto end = ending(ec, deadline_.timed_out());
    log_error(serve::handshake_failure(end, start, limits, end == serve::End::Failed ? tls_error_words(ec) : ""));
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
  for (;;) {
    if (header_only ? parser.is_header_done() : parser.is_done()) co_return error_code{};
    if (buffer_.size()) {
      error_code ec;
      buffer_.consume(parser.put(buffer_.data(), ec));
      if (!ec) continue;
      if (ec != bhttp::error::need_more) co_return ec;
    }
    // The deadline is set only when a read must wait (most requests arrive whole), by the first one.
    follow(deadline_.read(header_only ? serve::Phase::Header : serve::Phase::Body, SteadyClock::now()));
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
    follow(deadline_.wait_for_request(SteadyClock::now()));
    idle_ = true;
    auto r = co_await read_more();
    idle_ = false;
    if (r.ec) {
      if (stop_) co_return false;
      auto end = ending(r.ec, deadline_.timed_out());
      auto why = serve::wait_failure(end, deadline_.first(), limits,
                                     end == serve::End::Failed ? tls_error_words(r.ec) : std::string());
      if (why) log_error(*why);
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
  deadline_.answered();
  bool keep = serve::keep_alive(req.keep_alive(), shared_.stopping);
  bool ok = co_await send(req, reply, keep);
  if (out_.capacity() > kSmallFile * 2) std::string().swap(out_);
  co_return ok&& keep;
}

// failed_request answers a request that could not be read whole, as HTTP says (413, 431, 408,
// 400), and logs why, or that the client went away; the connection ends either way.
asio::awaitable<void> Session::failed_request(const Parser& parser, error_code ec, bool header) {
  auto why = read_failure(ec, deadline_.timed_out());
  auto words = why == serve::ReadFailure::Malformed ? ec.message()
               : why == serve::ReadFailure::Failed  ? tls_error_words(ec)
                                                    : std::string();
  auto refusal = serve::refuse(why, header, shared_.options.limits, words);
  log_error(refusal.note);
  if (!refusal.reply) co_return;
  // An error response on a connection about to close; then what the client still sends is dropped.
  bool sent = co_await send(parser.get(), *refusal.reply, false);
  if (sent) co_await linger();
}

asio::awaitable<void> Session::linger() {
  follow(deadline_.linger(SteadyClock::now()));
  tls_.close_notify();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> sink;
  for (std::size_t dropped = 0; dropped < serve::kLingerBytes;) {
    auto r = co_await receive(socket_, asio::buffer(sink));
    if (r.ec || r.bytes == 0) break;
    dropped += r.bytes;
  }
}

asio::awaitable<bool> Session::send(const http::Request& req, http::Reply& reply, bool keep_alive) {
  bool head = req.method() == bhttp::verb::head;
  out_.clear();
  http::append_response_head(out_, reply, req.version() == 10 ? 10 : 11, keep_alive, now().http);
  follow(deadline_.write(SteadyClock::now()));
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
  if (!ok)
    log_error(serve::response_failure(deadline_.timed_out() ? serve::End::TimedOut : serve::End::Closed, sent, length,
                                      shared_.options.limits));
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
    follow(deadline_.write(SteadyClock::now()));
    ec = co_await tls_.write_all(piece.get(), n);
    if (ec) co_return false;
    sent += n;
    left -= n;
  }
  co_return true;
}

http::Reply Session::reply_to(const http::Request& req) {
  return http::site_reply(req, shared_.root ? &*shared_.root : nullptr, shared_.options.echo,
                          &shared_.file_caches[worker_], [&]() -> const nlohmann::json& {
                            return facts_.describe([this]() -> const tls::ConnectionFacts& { return tls_facts(); },
                                                   peer_, req);
                          });
}

const tls::ConnectionFacts& Session::tls_facts() {
  if (!tls_facts_) tls_facts_ = tls::connection_facts(tls_.native_handle());
  return *tls_facts_;
}

void Session::access_log(const http::Request& req, unsigned status, std::uint64_t bytes) {
  if (!shared_.options.access_log) return;
  auto field = [&](bhttp::field f) -> std::optional<std::string_view> {
    auto it = req.find(f);
    if (it == req.end()) return std::nullopt;
    return std::string_view(it->value());
  };
  shared_.options.log->access({.time = std::time(nullptr),
                               .client = peer_,
                               .method = req.method_string(),
                               .target = req.target(),
                               .version = req.version(),
                               .status = status,
                               .bytes = bytes,
                               .referer = field(bhttp::field::referer),
                               .user_agent = field(bhttp::field::user_agent),
                               .tls = &tls_facts()});
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
  hooks.event = [&](const ListenerEvent& e) {
    if (options.log) options.log->listener(e);
  };
  hooks.accept = [&](tcp::socket socket, const tcp::endpoint& peer, unsigned index) {
    std::shared_ptr<Session> session;
    try {
      session = std::make_shared<Session>(index, shared, std::move(socket), peer, shared.contexts.load());
    } catch (const std::exception& e) {
      options.log->notice({serve::Notice::Kind::CannotTakeConnection, e.what()});
      return;
    }
    asio::co_spawn(
        workers.io(index), [session]() -> asio::awaitable<void> { co_await session->run(); },
        [log = options.log](const std::exception_ptr& e) {
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& x) {
            log->notice({serve::Notice::Kind::ConnectionEndedByError, x.what()});
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
      options.log->notice({serve::Notice::Kind::Reloaded, {}});
    } catch (const Failure& f) {
      options.log->notice({serve::Notice::Kind::ReloadFailed, f.what()});
    }
  };
  hooks.open_connections = [&] { return shared.connections.load(); };
  hooks.max_connections = options.limits.max_connections;
  hooks.grace = options.limits.grace;
  hooks.ready = options.on_ready;
  workers.run(hooks);
}

}  // namespace tlslab::net
