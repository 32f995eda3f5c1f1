#include "net/server.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_set>

#include "base/failure.hpp"
#include "http/site.hpp"
#include "net/target.hpp"
#include "tls/verify.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Stream = beast::ssl_stream<beast::tcp_stream>;

// One configuration of certificates, with the Asio wrapper its streams are built from.
struct Certs {
  std::shared_ptr<tls::ServerContexts> contexts;
  asio::ssl::context asio_ctx;
  explicit Certs(std::shared_ptr<tls::ServerContexts> c)
      : contexts(std::move(c)), asio_ctx((SSL_CTX_up_ref(contexts->default_context()), contexts->default_context())) {}
};

std::string now_clf() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%d/%b/%Y:%H:%M:%S} +0000", tm);
}

// Log writes whole lines with one write(2) each, so lines from several threads never mix.
void write_line(int fd, std::string line) {
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left) {
    auto n = ::write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string error_words(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return reason;
  }
  if (ec == asio::ssl::error::stream_truncated) return "closed without close_notify";
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

bool quiet_close(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted || ec == asio::error::broken_pipe;
}

struct Shared {
  const ServeOptions& options;
  std::atomic<std::shared_ptr<Certs>> certs;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::optional<http::StaticRoot> root;
  Shared(const ServeOptions& o, std::shared_ptr<Certs> c) : options(o), certs(std::move(c)) {
    if (!o.root.empty()) root.emplace(o.root);
  }

  void log_error(const std::string& peer, const std::string& what) const {
    if (options.log_json)
      write_line(2, nlohmann::json{{"time", now_clf()}, {"client", peer}, {"error", what}}.dump());
    else
      write_line(2, fmt::format("tlslab serve: {}: {}", peer, what));
  }
};

class Worker;

// Session is one client connection: TLS detection and handshake, then HTTP/1.1 keep-alive.
class Session {
 public:
  Session(Worker& worker, Shared& shared, tcp::socket socket, std::shared_ptr<Certs> certs);
  asio::awaitable<void> run();
  void close_if_idle() {
    if (idle_) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(stream_).socket().close(ignored);
    }
  }

 private:
  asio::awaitable<bool> handshake();
  asio::awaitable<bool> serve_one();
  asio::awaitable<bool> send(const http::Request& req, http::Reply& reply, bool keep_alive);
  nlohmann::json& facts(const http::Request& req);
  void access_log(const http::Request& req, unsigned status, std::uint64_t bytes);

  Worker& worker_;
  Shared& shared_;
  std::shared_ptr<Certs> certs_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string peer_;
  bool idle_ = false;
  std::optional<nlohmann::json> facts_;
  tls::ConnectionFacts tls_facts_;
  bool have_tls_facts_ = false;
};

class Worker {
 public:
  Worker(Shared& shared) : shared_(shared), io_(1) {}
  asio::io_context& io() { return io_; }

  void listen(const tcp::endpoint& ep) {
    tcp::acceptor acceptor(io_);
    boost::system::error_code ec;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      if (ep.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw Failure(Kind::Connect, fmt::format("cannot listen on {}: {}", endpoint_string(ep), ec.message()));
    acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(acceptor)));
  }

  static std::string endpoint_string(const tcp::endpoint& ep) {
    return ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                                : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }

  std::vector<tcp::endpoint> local_endpoints() const {
    std::vector<tcp::endpoint> out;
    for (const auto& a : acceptors_) out.push_back(a->local_endpoint());
    return out;
  }

  void start() {
    for (auto& a : acceptors_) asio::co_spawn(io_, accept_loop(*a), asio::detached);
  }

  // stop closes the acceptors and every idle keep-alive connection; busy ones finish their request.
  void stop() {
    asio::post(io_, [this] {
      for (auto& a : acceptors_) {
        boost::system::error_code ignored;
        a->close(ignored);
      }
      for (auto* s : sessions_) s->close_if_idle();
    });
  }

  void add(Session* s) { sessions_.insert(s); }
  void remove(Session* s) { sessions_.erase(s); }

 private:
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    asio::steady_timer backoff(io_);
    bool warned = false;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || shared_.stopping) co_return;
        // Out of file descriptors and the like: say so once, wait a little, go on.
        if (!warned) shared_.log_error("listener", "accept failed: " + ec.message());
        warned = true;
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(use_tuple);
        continue;
      }
      if (shared_.connections.load() >= shared_.options.limits.max_connections) {
        if (!warned)
          shared_.log_error("listener", fmt::format("more than {} connections; refusing new ones",
                                                    shared_.options.limits.max_connections));
        warned = true;
        continue;  // the socket closes as it goes out of scope
      }
      warned = false;
      auto session = std::make_shared<Session>(*this, shared_, std::move(socket), shared_.certs.load());
      asio::co_spawn(
          io_, [session]() -> asio::awaitable<void> { co_await session->run(); }, asio::detached);
    }
  }

  Shared& shared_;
  asio::io_context io_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::unordered_set<Session*> sessions_;
};

Session::Session(Worker& worker, Shared& shared, tcp::socket socket, std::shared_ptr<Certs> certs)
    : worker_(worker), shared_(shared), certs_(std::move(certs)), stream_(std::move(socket), certs_->asio_ctx) {
  boost::system::error_code ec;
  auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string();
  beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
}

asio::awaitable<void> Session::run() {
  ++shared_.connections;
  worker_.add(this);
  struct Guard {
    Session* s;
    ~Guard() {
      s->worker_.remove(s);
      --s->shared_.connections;
    }
  } guard{this};
  if (!co_await handshake()) co_return;
  while (co_await serve_one()) {
  }
  // A polite close: send close_notify, do not wait long for the client's.
  auto& tcp_layer = beast::get_lowest_layer(stream_);
  tcp_layer.expires_after(std::chrono::seconds(1));
  co_await stream_.async_shutdown(use_tuple);
  boost::system::error_code ignored;
  tcp_layer.socket().close(ignored);
}

asio::awaitable<bool> Session::handshake() {
  const auto& limits = shared_.options.limits;
  auto& tcp_layer = beast::get_lowest_layer(stream_);
  tcp_layer.expires_after(limits.handshake_timeout);
  auto [dec, is_tls] = co_await beast::async_detect_ssl(tcp_layer, buffer_, use_tuple);
  if (dec) {
    if (!quiet_close(dec) || buffer_.size()) shared_.log_error(peer_, "no TLS ClientHello: " + error_words(dec));
    co_return false;
  }
  if (!is_tls) {
    auto first = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    bool http = first.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") > 2 && first.size() >= 3;
    if (http) {
      // As nginx does: tell a plain-HTTP client in its own language.
      static const std::string reply =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 51\r\n\r\n"
          "This is an HTTPS port: use https:// to reach it.\r\n\r\n";
      co_await asio::async_write(tcp_layer.socket(), asio::buffer(reply), use_tuple);
      shared_.log_error(peer_, "plain HTTP request on the TLS port; answered 400");
    } else {
      shared_.log_error(peer_, "not TLS (the first bytes are no ClientHello); closed");
    }
    co_return false;
  }
  auto [ec, used] = co_await stream_.async_handshake(asio::ssl::stream_base::server, buffer_.data(), use_tuple);
  if (ec) {
    shared_.log_error(peer_, "TLS handshake failed: " + error_words(ec));
    co_return false;
  }
  buffer_.consume(used);
  co_return true;
}

nlohmann::json& Session::facts(const http::Request& req) {
  if (!have_tls_facts_) {
    tls_facts_ = tls::connection_facts(stream_.native_handle());
    have_tls_facts_ = true;
  }
  const auto& f = tls_facts_;
  auto str_or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  auto ua = req.find(bhttp::field::user_agent);
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
      {"http_version", fmt::format("HTTP/{}.{}", req.version() / 10, req.version() % 10)},
      {"user_agent", ua == req.end() ? nlohmann::json(nullptr) : nlohmann::json(std::string(ua->value()))},
  };
  return *facts_;
}

void Session::access_log(const http::Request& req, unsigned status, std::uint64_t bytes) {
  if (!shared_.options.access_log) return;
  if (!have_tls_facts_) {
    tls_facts_ = tls::connection_facts(stream_.native_handle());
    have_tls_facts_ = true;
  }
  auto field = [&](bhttp::field f) {
    auto it = req.find(f);
    return it == req.end() ? std::string("-") : std::string(it->value());
  };
  if (shared_.options.log_json) {
    write_line(1, nlohmann::json{{"time", now_clf()},
                                 {"client", peer_},
                                 {"method", std::string(req.method_string())},
                                 {"target", std::string(req.target())},
                                 {"status", status},
                                 {"bytes", bytes},
                                 {"referer", field(bhttp::field::referer)},
                                 {"user_agent", field(bhttp::field::user_agent)},
                                 {"sni", tls_facts_.sni},
                                 {"tls_version", tls_facts_.version},
                                 {"cipher", tls_facts_.cipher_iana},
                                 {"resumed", tls_facts_.resumed}}
                      .dump());
    return;
  }
  write_line(1, fmt::format("{} - - [{}] \"{} {} HTTP/{}.{}\" {} {} \"{}\" \"{}\" {} {}", peer_, now_clf(),
                            std::string(req.method_string()), std::string(req.target()), req.version() / 10,
                            req.version() % 10, status, bytes, field(bhttp::field::referer),
                            field(bhttp::field::user_agent), tls_facts_.version, tls_facts_.cipher_iana));
}

asio::awaitable<bool> Session::serve_one() {
  const auto& limits = shared_.options.limits;
  auto& tcp_layer = beast::get_lowest_layer(stream_);
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(limits.max_header_bytes);
  parser.body_limit(limits.max_body_bytes);
  bool first = !facts_.has_value() && !have_tls_facts_;
  tcp_layer.expires_after(first ? limits.header_timeout : limits.idle_timeout);
  idle_ = buffer_.size() == 0;
  if (shared_.stopping && idle_) co_return false;
  auto [hec, hn] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
  idle_ = false;
  if (hec) {
    if (hec == bhttp::error::header_limit) {
      auto reply = http::error_reply(431, "request header larger than the limit");
      co_await send(parser.get(), reply, false);
    } else if (hec == beast::error::timeout && parser.got_some()) {
      auto reply = http::error_reply(408);
      co_await send(parser.get(), reply, false);
      shared_.log_error(peer_, "request header not complete in time; answered 408");
    } else if (!quiet_close(hec) && hec != beast::error::timeout) {
      auto reply = http::error_reply(400, "malformed request: " + hec.message());
      co_await send(parser.get(), reply, false);
      shared_.log_error(peer_, "malformed request: " + hec.message());
    }
    co_return false;
  }
  tcp_layer.expires_after(limits.request_timeout);
  auto [bec, bn] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
  auto& req = parser.get();
  if (bec) {
    if (bec == bhttp::error::body_limit) {
      auto reply = http::error_reply(413, fmt::format("request body larger than {} bytes", limits.max_body_bytes));
      co_await send(req, reply, false);
    } else if (bec == beast::error::timeout) {
      auto reply = http::error_reply(408);
      co_await send(req, reply, false);
    }
    co_return false;
  }
  http::Reply reply;
  if (shared_.options.echo)
    reply = http::echo_reply(req);
  else if (shared_.root)
    reply = shared_.root->reply(req);
  else
    reply = http::builtin_reply(req, facts(req));
  bool keep = req.keep_alive() && !shared_.stopping;
  bool ok = co_await send(req, reply, keep);
  // Give memory back between requests: an idle connection keeps only small buffers.
  if (buffer_.size() == 0 && buffer_.capacity() > 4096) buffer_.shrink_to_fit();
  co_return ok&& keep;
}

asio::awaitable<bool> Session::send(const http::Request& req, http::Reply& reply, bool keep_alive) {
  auto& tcp_layer = beast::get_lowest_layer(stream_);
  const auto& limits = shared_.options.limits;
  bool head = req.method() == bhttp::verb::head;
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), req.version() ? req.version() : 11};
  res.set(bhttp::field::server, "tlslab");
  res.set(bhttp::field::date, http::http_date(std::time(nullptr)));
  if (reply.status != 304) res.set(bhttp::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  std::uint64_t length = reply.content_length();
  bool stream_file = reply.file && !head && length > 0;
  if (!reply.file && !head) res.body() = std::move(reply.body);
  if (reply.status != 304 && reply.status != 204) res.content_length(length);
  tcp_layer.expires_after(limits.write_timeout);
  if (stream_file || head || reply.file) {
    bhttp::response_serializer<bhttp::string_body> sr(res);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
    if (ec) co_return false;
  } else {
    auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
    if (ec) co_return false;
  }
  std::uint64_t sent = stream_file ? 0 : (head ? 0 : length);
  if (stream_file) {
    int fd = reply.file->fd.get();
    std::unique_ptr<char[]> chunk(new char[256 * 1024]);
    std::uint64_t offset = reply.file->offset, left = length;
    bool ok = true;
    while (left) {
      auto want = static_cast<size_t>(std::min<std::uint64_t>(left, 256 * 1024));
      auto got = ::pread(fd, chunk.get(), want, static_cast<off_t>(offset));
      if (got <= 0) {
        ok = false;  // the file shrank under us: the client sees a short body and a closed connection
        break;
      }
      tcp_layer.expires_after(limits.write_timeout);
      auto [ec, n] =
          co_await asio::async_write(stream_, asio::buffer(chunk.get(), static_cast<size_t>(got)), use_tuple);
      if (ec) {
        ok = false;
        break;
      }
      offset += static_cast<std::uint64_t>(got);
      left -= static_cast<std::uint64_t>(got);
      sent += static_cast<std::uint64_t>(got);
    }
    access_log(req, reply.status, sent);
    co_return ok;
  }
  access_log(req, reply.status, sent);
  co_return true;
}

std::vector<tcp::endpoint> parse_listen(const std::vector<std::string>& listen) {
  std::vector<tcp::endpoint> out;
  for (const auto& text : listen) {
    auto t = parse_target(text, 4433);
    boost::system::error_code ec;
    auto host = t.host == "localhost" ? std::string("127.0.0.1") : t.host == "*" ? std::string("0.0.0.0") : t.host;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) throw Failure(Kind::Usage, fmt::format("--listen '{}': '{}' is not an IP address", text, t.host));
    out.emplace_back(addr, t.port);
  }
  return out;
}

}  // namespace

void run_server(const ServeOptions& options, std::shared_ptr<tls::ServerContexts> contexts) {
  auto endpoints = parse_listen(options.listen);
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  Shared shared(options, std::make_shared<Certs>(std::move(contexts)));
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>(shared));
  // The first worker binds (resolving port 0 to a real port); the others share its port.
  for (auto& ep : endpoints) workers.front()->listen(ep);
  auto bound = workers.front()->local_endpoints();
  for (size_t i = 1; i < workers.size(); ++i)
    for (auto& ep : bound) workers[i]->listen(ep);
  std::vector<std::string> addresses;
  for (auto& ep : bound) addresses.push_back(Worker::endpoint_string(ep));

  asio::io_context control;
  asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer grace(control);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        try {
          if (options.reload) {
            shared.certs.store(std::make_shared<Certs>(options.reload()));
            write_line(2, "tlslab serve: SIGHUP: certificates reloaded; open connections keep theirs");
          }
        } catch (const Failure& f) {
          write_line(2, fmt::format("tlslab serve: SIGHUP: reload failed, keeping the old certificates: {}", f.what()));
        }
        wait_signal();
        return;
      }
      write_line(2, fmt::format("tlslab serve: {}: no new connections; finishing {} open one{} (at most {} ms)",
                                signo == SIGINT ? "SIGINT" : "SIGTERM", shared.connections.load(),
                                shared.connections.load() == 1 ? "" : "s", options.limits.grace.count()));
      shared.stopping = true;
      for (auto& w : workers) w->stop();
      grace.expires_after(options.limits.grace);
      grace.async_wait([&](boost::system::error_code gec) {
        if (gec) return;
        for (auto& w : workers) w->io().stop();
      });
      signals.async_wait([&](boost::system::error_code, int) {  // a second signal: stop now
        for (auto& w : workers) w->io().stop();
      });
    });
  };
  wait_signal();

  for (auto& w : workers) w->start();
  if (options.on_ready) options.on_ready(addresses, threads);
  std::vector<std::thread> pool;
  std::atomic<unsigned> running{threads};
  for (auto& w : workers) {
    pool.emplace_back([&, worker = w.get()] {
      worker->io().run();
      if (--running == 0)
        asio::post(control, [&] {
          grace.cancel();
          signals.cancel();
        });
    });
  }
  control.run();
  for (auto& t : pool) t.join();
}

}  // namespace tlslab::net
