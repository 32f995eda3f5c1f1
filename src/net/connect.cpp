#include "net/connect.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/err.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>

#include "base/files.hpp"
#include "http/auth.hpp"
#include "http/h2_client_exchange.hpp"
#include "http/tunnel.hpp"
#include "net/coro.hpp"
#include "net/deadline.hpp"
#include "net/tls_io.hpp"
#include "net/transport.hpp"
#include "tls/client_context.hpp"
#include "tls/failure.hpp"

namespace tlslab::net {
namespace ssl = boost::asio::ssl;
using connect::authority;
using connect::ConnectFailure;
using connect::ConnectReport;
using connect::Route;
using connect::Target;
using connect::TunnelReport;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// ssl_reason returns OpenSSL's words for an error from Asio's SSL layer.
std::string ssl_reason(const boost::system::error_code& ec) {
  if (ec == ssl::error::stream_truncated) return "the connection was " + tls_error_words(ec);
  if (ec == asio::error::eof || ec == asio::error::connection_reset) return "the server closed the connection";
  return tls_error_words(ec);
}

// handshake_hint says what a failure from Asio's SSL layer means for the user ("" when nothing
// more can be said than OpenSSL's reason).
std::string_view handshake_hint(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category())
    return tls::describe_tls_failure(static_cast<unsigned long>(ec.value())).hint;
  if (ec == ssl::error::stream_truncated || ec == asio::error::eof || ec == asio::error::connection_reset)
    return tls::tls_failure_hint(tls::TlsFailureKind::Closed);
  return "";
}

class Session {
 public:
  Session(const ConnectOptions& options, ConnectReport& report, asio::io_context& io, ssl::context& ctx)
      : o_(options),
        r_(report),
        dialer_(io.get_executor()),
        stream_(io, ctx),
        watchdog_(io.get_executor()),
        wait_timer_(io),
        signals_(io) {
    // Opened before any I/O: a bad -o path fails fast, before a request reaches the server.
    if (o_.request && !o_.output_file.empty()) file_ = std::make_unique<AtomicFile>(o_.output_file);
  }

  asio::awaitable<void> run() {
    start_ = Clock::now();
    arm_deadline(true);
    watch_interrupt();
    if (o_.proxy) {
      // TCP goes to the proxy, --resolve mapping its name; --connect-to changes what CONNECT asks for.
      auto destination = route(o_.target, {}, o_.connect_tos);
      r_.route = route(Target{o_.proxy->host, o_.proxy->port, "", false, {}, ""}, o_.resolves, {});
      r_.tunnel = TunnelReport{authority(o_.proxy->host, o_.proxy->port), authority(destination.host, destination.port),
                               o_.proxy->user.has_value()};
    } else {
      r_.route = route(o_.target, o_.resolves, o_.connect_tos);
    }
    progress();
    co_await connect_tcp();
    if (r_.failure) co_return;
    progress();
    if (o_.proxy) {
      co_await open_tunnel();
      if (r_.failure) co_return;
      progress();
    }
    if (o_.pause)
      o_.pause("tcp", fmt::format("TCP connected to {} in {:.1f} ms", r_.connected_address, r_.timings.tcp_ms));
    co_await handshake();
    if (r_.failure) co_return;
    arm_deadline(false);
    if (!r_.verdict.ok() && !o_.tls.insecure) {
      fail(Kind::Verify, verify_message());
      co_return;
    }
    // --cert-status holds even with --insecure, as in curl.
    if (r_.verdict.ocsp && !r_.verdict.ocsp->ok) {
      fail(Kind::CertStatus, fmt::format("certificate status (--cert-status): {}", r_.verdict.ocsp->reason));
      co_return;
    }
    r_.trace_at_handshake = r_.trace.size();
    if (o_.on_handshake) o_.on_handshake(r_);
    if (o_.pause) o_.pause("tls", "TLS handshake done");
    if (o_.request) co_await exchange();
    close();
  }

  // The message callback: OpenSSL hands over each protocol message in plaintext.
  static void on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL*, void* arg) {
    auto* self = static_cast<Session*>(arg);
    std::string_view bytes(static_cast<const char*>(buf), len);
    if (content_type == SSL3_RT_HANDSHAKE && !bytes.empty() && !write_p) {
      auto type = static_cast<unsigned char>(bytes[0]);
      if (type == SSL3_MT_CERTIFICATE_REQUEST) self->r_.handshake.client_certificate_requested = true;
      if (type == SSL3_MT_NEWSESSION_TICKET) {
        self->r_.handshake.session_ticket = true;
        self->wait_timer_.cancel();  // the server accepted us: no need to wait for an alert
      }
    }
    if (content_type == SSL3_RT_ALERT && !write_p) self->wait_timer_.cancel();
    if (self->o_.trace && (content_type == SSL3_RT_HANDSHAKE || content_type == SSL3_RT_ALERT ||
                           content_type == SSL3_RT_CHANGE_CIPHER_SPEC)) {
      auto msg = self->tracer_.decode(write_p ? tls::Direction::Sent : tls::Direction::Received, content_type, bytes);
      if (!msg.type.empty()) self->r_.trace.push_back(std::move(msg));
    }
  }

 private:
  void fail(Kind kind, std::string message) {
    if (!r_.failure) r_.failure = ConnectFailure{kind, std::move(message)};
  }

  void progress() {
    if (o_.on_progress) o_.on_progress(r_);
  }

  // stop ends the connection from outside the coroutine (a deadline, Ctrl-C): the socket is
  // closed, so the pending operation fails, and stopped() turns that into a failure naming the
  // step it interrupted. The first cause wins.
  void stop(Kind kind, std::string why) {
    if (stop_) return;
    stop_ = Stop{kind, std::move(why)};
    dialer_.stop();
    wait_timer_.cancel();
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
  }

  // stopped records the failure for a stop() that ended step ("during the TLS handshake") and
  // returns true; false when nothing stopped the connection.
  bool stopped(std::string_view step) {
    if (!stop_) return false;
    auto after = ms_since(start_);
    if (stop_->kind == Kind::Timeout)
      fail(Kind::Timeout, fmt::format("timed out {} ({} reached after {:.0f} ms)", step, stop_->why, after));
    else
      fail(stop_->kind, fmt::format("interrupted {} ({} after {:.0f} ms)", step, stop_->why, after));
    return true;
  }

  // arm_deadline sets the watchdog: during connection setup the nearer of the connect timeout
  // (--connect-timeout, or default_connect_timeout) and --max-time, afterwards --max-time alone.
  // The limits were checked by the caller: finite, and small enough for the clock.
  void arm_deadline(bool connecting) {
    std::optional<double> seconds;
    std::string which;
    if (o_.max_time) seconds = *o_.max_time, which = fmt::format("--max-time {}s", *o_.max_time);
    if (connecting) {
      double limit = o_.connect_timeout.value_or(default_connect_timeout);
      if (!seconds || limit < *seconds) {
        seconds = limit;
        which = o_.connect_timeout ? fmt::format("--connect-timeout {}s", limit)
                                   : fmt::format("the default connect timeout of {}s, see --connect-timeout", limit);
      }
    }
    auto deadline = seconds ? Deadline::after_seconds(*seconds, start_) : Deadline::never();
    watchdog_.arm(deadline, [this, which] { stop(Kind::Timeout, which); });
  }

  void watch_interrupt() {
    if (!o_.interruptible) return;
    signals_.add(SIGINT);
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (!ec) stop(Kind::Interrupt, "Ctrl-C");
    });
  }

  // connect_tcp resolves the route (unless it holds addresses) and connects to the first address
  // that answers; the watchdog, not a deadline of its own, limits it (stop() ends it).
  asio::awaitable<void> connect_tcp() {
    const auto& route = r_.route;
    const char* family = o_.ip_family == IpFamily::V4 ? "IPv4" : "IPv6";
    const char* flag = o_.ip_family == IpFamily::V4 ? "-4" : "-6";
    std::string what = o_.proxy ? "the proxy " + route.host : route.host;
    DialOptions how;
    if (o_.ip_family != IpFamily::Any) how.family = o_.ip_family == IpFamily::V4 ? tcp::v4() : tcp::v6();
    how.on_resolved = [this](const Dialed& d) {
      for (const auto& ep : d.addresses) r_.addresses.push_back(ep.address().to_string());
      r_.timings.resolve_ms = d.resolve_ms;
      progress();
    };
    auto d = co_await dialer_.connect_any(stream_.next_layer(), route, Deadline::never(), how);
    using Outcome = Dialed::Outcome;
    switch (d.outcome) {
      case Outcome::Connected:
        r_.tcp_connected = true;
        r_.connected_address = d.connected_address;
        r_.local_address = d.local_address;
        r_.timings.tcp_ms = d.connect_ms;
        co_return;
      case Outcome::NoAddress: {
        // curl's answers: an address of the other family is a failed connect (exit 7); a --resolve
        // entry without one of the family, a name that did not resolve (exit 6).
        auto kind = route.via == connect::RouteVia::Literal ? Kind::Connect
                    : o_.proxy                              ? Kind::ProxyResolve
                                                            : Kind::Resolve;
        auto given = route.via == connect::RouteVia::Literal
                         ? fmt::format("{} is not an {} address", route.host, family)
                         : fmt::format("{} gives only {}", to_string(route.via), fmt::join(route.addresses, ", "));
        fail(kind, fmt::format("no {} address to connect to for {} ({}): {}", family, what, flag, given));
        co_return;
      }
      case Outcome::ResolveFailed: {
        auto kind = o_.proxy ? Kind::ProxyResolve : Kind::Resolve;
        auto only = o_.ip_family == IpFamily::Any ? std::string()
                                                  : fmt::format(" (looking for {} addresses only, {})", family, flag);
        fail(kind, fmt::format("could not resolve {}{}: {}", o_.proxy ? what : "host " + what, only,
                               d.resolve_error.message()));
        co_return;
      }
      case Outcome::TimedOut:
      case Outcome::Stopped:
        stopped(d.attempts.empty() ? fmt::format("resolving the host name {}", what)
                                   : fmt::format("connecting to {}", format_endpoint(d.attempts.back().endpoint)));
        co_return;
      case Outcome::ConnectFailed:
        break;
    }
    std::string proxy = o_.proxy ? "the proxy " : "";
    if (d.addresses.size() == 1)
      fail(Kind::Connect, fmt::format("could not connect to {}{}", proxy, d.failures()));
    else
      fail(Kind::Connect,
           fmt::format("could not connect to {}{} port {}: {}", proxy, route.host, route.port, d.failures()));
  }

  // open_tunnel asks the proxy to CONNECT to the destination and reads its reply (RFC 9110
  // section 9.3.6); a 2xx reply opens the tunnel the TLS handshake then runs through.
  asio::awaitable<void> open_tunnel() {
    auto& tunnel = *r_.tunnel;
    auto& socket = stream_.next_layer();
    auto credentials = o_.proxy->user ? http::basic_credentials(*o_.proxy->user, o_.proxy->password) : std::string();
    auto request = http::connect_request(tunnel.authority, o_.user_agent, credentials);
    auto t0 = Clock::now();
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
    if (wec) {
      if (!stopped(fmt::format("sending CONNECT to the proxy {}", tunnel.proxy)))
        fail(Kind::Receive, fmt::format("sending CONNECT to the proxy {} failed: {}", tunnel.proxy, wec.message()));
      co_return;
    }
    http::TunnelReplyReader reader;
    std::array<char, 4096> buf;
    try {
      while (!reader.done()) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
        std::string_view data(buf.data(), n);
        std::size_t used = reader.feed(data);
        // A refusal's body is not read; bytes after a 2xx reply would be the server's, too early.
        if (reader.done() && used < n && reader.reply().established()) {
          fail(Kind::Receive, fmt::format("the proxy {} sent {} bytes after its reply to CONNECT, before the TLS "
                                          "handshake began",
                                          tunnel.proxy, n - used));
          co_return;
        }
        if (ec && !reader.done()) {
          if (stopped(fmt::format("waiting for the proxy {} to answer CONNECT", tunnel.proxy))) co_return;
          fail(Kind::Receive,
               ec == asio::error::eof
                   ? fmt::format("the proxy {} closed the connection without answering CONNECT {}", tunnel.proxy,
                                 tunnel.authority)
                   : fmt::format("reading the proxy {}'s reply to CONNECT failed: {}", tunnel.proxy, ec.message()));
          co_return;
        }
      }
    } catch (const Failure& f) {
      fail(f.kind(), fmt::format("{} ({})", f.what(), tunnel.proxy));
      co_return;
    }
    const auto& reply = reader.reply();
    tunnel.replied = true;
    tunnel.status = reply.status;
    tunnel.reason = reply.reason;
    tunnel.version = reply.version;
    tunnel.ms = ms_since(t0);
    // curl's exit code for a refused tunnel: 56.
    if (!reply.established())
      fail(Kind::Receive, http::refusal_text(reply, tunnel.proxy, tunnel.authority, tunnel.credentials));
  }

  asio::awaitable<void> handshake() {
    SSL* ssl = stream_.native_handle();
    const auto& t = o_.tls;
    if (!t.servername.empty() && SSL_set_tlsext_host_name(ssl, t.servername.c_str()) != 1)
      throw Failure(Kind::Usage, fmt::format("--servername '{}' cannot be sent as SNI", t.servername));
    recorder_.install(ssl);
    if (t.cert_status) SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    SSL_set_msg_callback(ssl, &Session::on_message);
    SSL_set_msg_callback_arg(ssl, this);
    auto t0 = Clock::now();
    auto [ec] = co_await stream_.async_handshake(ssl::stream_base::client, use_tuple);
    r_.timings.tls_ms = ms_since(t0);
    if (ec) {
      if (stopped("during the TLS handshake")) co_return;
      fail(Kind::Handshake,
           fmt::format("TLS handshake with {} failed: {}{}", r_.connected_address, ssl_reason(ec), handshake_hint(ec)));
      co_return;
    }
    r_.handshake_done = true;
    bool requested = r_.handshake.client_certificate_requested, ticket = r_.handshake.session_ticket;
    r_.handshake = tls::read_handshake(ssl);
    r_.handshake.client_certificate_requested = requested;
    r_.handshake.session_ticket = ticket;
    if (!requested) r_.handshake.client_certificate.clear();
    auto now = pki::now_epoch();
    r_.verdict = tls::make_verdict(recorder_, r_.handshake.peer_chain, SSL_get0_peer_certificate(ssl), t.verify_name,
                                   t.check_hostname, now);
    if (t.cert_status) r_.verdict.ocsp = check_status(ssl);
    if (r_.trust.kind != tls::TrustStoreKind::File && !r_.handshake.verified_chain.empty() && r_.verdict.chain_ok) {
      STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
      r_.anchor_file = tls::find_hashed_file(r_.trust.path, sk_X509_value(chain, sk_X509_num(chain) - 1));
    }
    // A TLS 1.3 server sends its session tickets after the handshake, and judges a client
    // certificate then too (RFC 8446 sections 4.6.1, 4.4.2.4): read what follows the handshake
    // for a moment, until a ticket or an alert, so the report (text and JSON alike, with or
    // without a request) holds what the server sent. Not after a failed verification: nothing
    // more is read from a server we do not trust.
    bool status_ok = !r_.verdict.ocsp || r_.verdict.ocsp->ok;
    if (SSL_version(ssl) == TLS1_3_VERSION && !ticket && (r_.verdict.ok() || o_.tls.insecure) && status_ok)
      co_await await_post_handshake(requested);
  }

  // check_status judges the stapled OCSP response (--cert-status) about the server's certificate.
  // Its issuer is the next certificate of the verified chain, or else one the server sent.
  tls::OcspVerdict check_status(SSL* ssl) {
    const unsigned char* der = nullptr;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
    X509* leaf = SSL_get0_peer_certificate(ssl);
    STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
    X509* issuer = nullptr;
    if (STACK_OF(X509)* verified = SSL_get0_verified_chain(ssl); verified && sk_X509_num(verified) > 1)
      issuer = sk_X509_value(verified, 1);
    for (int i = 0; !issuer && leaf && sent && i < sk_X509_num(sent); ++i)
      if (X509_check_issued(sk_X509_value(sent, i), leaf) == X509_V_OK) issuer = sk_X509_value(sent, i);
    std::string_view bytes = der && len > 0
                                 ? std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len))
                                 : std::string_view();
    return tls::check_ocsp(bytes, leaf, issuer, sent, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), pki::now_epoch());
  }

  // await_post_handshake reads until a session ticket or an alert arrives (on_message cancels
  // wait_timer_), data arrives (kept in early_ for the response), or a short wait ends: the
  // tickets come one round trip after our Finished, and a server that sends none costs this wait.
  asio::awaitable<void> await_post_handshake(bool certificate_requested) {
    auto wait = Deadline::after(std::chrono::milliseconds(certificate_requested ? 500 : 200));
    auto result = co_await within(wait_timer_, wait, stream_.async_read_some(asio::buffer(early_), use_tuple));
    if (stopped("waiting for the server's messages after the TLS handshake")) co_return;
    if (!result) co_return;
    auto [ec, n] = *result;
    early_len_ = n;
    // A closed connection is for the request to find out; only a verdict on our certificate is
    // a failure here.
    if (ec && certificate_requested) fail_rejected(ec);
  }

  // A TLS 1.3 server judges our client certificate after our side of the handshake is done; its
  // verdict (an alert) arrives with the first read, whether that read waits for it or for the
  // response (RFC 8446 section 4.4.2.4). It is still the handshake that failed.
  bool rejected_after_handshake(const boost::system::error_code& ec) const {
    return r_.handshake.client_certificate_requested && r_.handshake.version == tls::TlsVersion::Tls1_3 &&
           ec.category() == asio::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) >= SSL_AD_REASON_OFFSET;
  }

  void fail_rejected(const boost::system::error_code& ec) {
    fail(Kind::Handshake, fmt::format("the server rejected the connection after the handshake: {}{}", ssl_reason(ec),
                                      handshake_hint(ec)));
  }

  std::string verify_message() const {
    const auto& v = r_.verdict;
    if (!v.problems.empty()) {
      const auto& p = v.problems.front();
      return fmt::format("certificate verification failed at depth {} ({}): {}", p.depth, p.subject, p.reason);
    }
    return fmt::format("hostname check failed: {}", v.hostname.reason);
  }

  // send_output writes what the exchange has to send; false (the failure recorded) when it fails.
  asio::awaitable<bool> send_output(http::ClientExchange& x) {
    std::string out;
    if (!x.take_output(out)) co_return true;
    auto [ec, written] = co_await asio::async_write(stream_, asio::buffer(out), use_tuple);
    if (!ec) co_return true;
    // Once the response is complete, what is left to send (window updates, a closing GOAWAY) may
    // meet a server that has closed already: that is the end, not a failure.
    if (x.done()) co_return false;
    if (!stopped("sending the request"))
      fail(Kind::Receive, fmt::format("sending the request failed: {}", ssl_reason(ec)));
    co_return false;
  }

  asio::awaitable<void> exchange() {
    const http::ClientExchange* seen = nullptr;
    auto refused = [&] { return o_.fail_on_http_error && seen->status() >= 400; };
    auto sink = [&](std::string_view data) {
      if (refused()) return;  // --fail: the error page goes nowhere
      if (file_)
        file_->write(data);
      else if (o_.body_sink)
        o_.body_sink(data);
    };
    // The protocol the server chose: HTTP/2 for "h2", else HTTP/1.1 (no ALPN, or one we offered
    // with --alpn that is not HTTP: the request is sent as HTTP/1.1, as before ALPN).
    auto exchange = r_.handshake.alpn == "h2"
                        ? http::make_h2_exchange(*o_.request, sink, o_.max_filesize, o_.head_request, o_.trace)
                        : http::make_http1_exchange(*o_.request, sink, o_.max_filesize, o_.head_request);
    auto& x = *exchange;
    seen = &x;
    if (!co_await send_output(x)) co_return;
    auto t0 = Clock::now();
    bool first = true;
    try {
      if (early_len_) x.feed(std::string_view(early_.data(), early_len_));
      std::array<char, 16384> buf;
      for (;;) {
        if (!co_await send_output(x)) break;  // acknowledgements, the rest of a body, a closing GOAWAY
        if (x.done() || (x.header_done() && refused())) break;
        auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
        if (first && n) r_.timings.first_byte_ms = ms_since(t0), first = false;
        if (n) x.feed(std::string_view(buf.data(), n));
        if (ec) {
          if (stopped(x.header_done()
                          ? fmt::format("reading the response body ({} bytes received)", x.info().body_bytes)
                          : std::string("waiting for the response headers")))
            break;
          if (first && rejected_after_handshake(ec)) {
            fail_rejected(ec);
            break;
          }
          if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
            x.finish_eof();
            break;
          }
          fail(Kind::Receive, fmt::format("reading the response failed: {}{}", ssl_reason(ec), handshake_hint(ec)));
          break;
        }
      }
    } catch (const Failure& f) {
      fail(f.kind(), f.what());
    }
    x.take_frames(r_.http2_frames);
    if (x.header_done()) r_.response = x.info();  // no section for a response that never came
    if (r_.response && refused())
      fail(Kind::HttpStatus, r_.response->reason.empty()
                                 ? fmt::format("the server answered {}", r_.response->status)
                                 : fmt::format("the server answered {} {}", r_.response->status, r_.response->reason));
    if (!r_.failure && x.done() && file_) {
      try {
        file_->commit();
        r_.saved_to = o_.output_file;
      } catch (const Failure& f) {
        fail(f.kind(), f.what());
      }
    }
  }

  void close() {
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    watchdog_.disarm();
    signals_.cancel(ignored);
  }

 public:
  void finish() {
    r_.timings.total_ms = ms_since(start_);
    close();
  }

 private:
  const ConnectOptions& o_;
  ConnectReport& r_;
  Dialer dialer_;
  ssl::stream<tcp::socket> stream_;
  Alarm watchdog_;  // the connection's time limit (arm_deadline)
  asio::steady_timer wait_timer_;
  asio::signal_set signals_;
  Clock::time_point start_;
  struct Stop {
    Kind kind;
    std::string why;  // "--max-time 2s", "Ctrl-C"
  };
  std::optional<Stop> stop_;
  tls::VerifyRecorder recorder_;
  tls::Tracer tracer_;
  std::unique_ptr<AtomicFile> file_;  // -o: made visible only when the whole body arrived
  std::array<char, 16384> early_{};
  std::size_t early_len_ = 0;
};

}  // namespace

ConnectReport run_connect(const ConnectOptions& options) {
  ConnectReport report;
  report.target = options.target;
  report.host_unicode = options.host_unicode;
  report.verification_enforced = !options.tls.insecure;
  auto client = tls::make_client_context(options.tls);
  report.trust = client.trust;
  report.lowered_security = client.lowered_security;
  report.crl_file = options.tls.crlfile;
  report.crls = client.crls;
  if (options.show_ca) report.anchors = tls::list_anchors(client.trust);
  ssl::context ctx(client.ctx.release());  // Asio takes ownership
  asio::io_context io;
  Session session(options, report, io, ctx);
  std::exception_ptr error;
  asio::co_spawn(io, session.run(), [&](std::exception_ptr e) {
    error = e;
    session.finish();
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return report;
}

}  // namespace tlslab::net
