// The HTTP/2 legs of proxy::Exchange over http::H2Session: a server-role session facing the
// client (its streams are requests), a client-role session facing the server (its streams are
// the requests the proxy forwards). Received DATA is consumed (the sender's window reopened) only
// when the other leg took the bytes; outgoing bodies are queued in the session a little at a time
// (stream_queue_limit, leg_buffer), so a slow reader holds windows shut instead of filling memory.
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "http/h2_session.hpp"
#include "proxy/exchange_core.hpp"

namespace tlslab::proxy::detail {
namespace {

class H2Leg final : public Leg, http::H2Listener {
 public:
  H2Leg(Core& core, Side side)
      : Leg(core),
        side_(side),
        session_(side == Side::Client ? http::H2Session::Role::Server : http::H2Session::Role::Client, *this,
                 settings(core.options, side)) {}

  void receive(std::string_view bytes) override {
    if (closed_ || failed_) return;
    if (!session_.receive(bytes)) fail(session_.error());
  }

  void closed(bool clean) override {
    closed_ = true;
    std::string why = side_ == Side::Client
                          ? (clean ? "the client closed the connection" : "the client's connection was cut")
                          : (clean ? "the server closed the connection" : "the server's connection was cut");
    cut_mine(why, kCancel);
    if (side_ == Side::Upstream) core_.upstream_gone();
  }

  bool take_output(std::string& out) override { return session_.take_output(out); }
  [[nodiscard]] std::size_t backlog() const override { return session_.queued_total(); }
  [[nodiscard]] bool wants_data() const override { return !closed_ && !failed_ && session_.want_read(); }
  [[nodiscard]] bool done() const override {
    return closed_ || failed_ || (!session_.want_read() && !session_.want_write()) ||
           (shutdown_ && streams_.empty() && (side_ == Side::Upstream || session_.open_streams() == 0));
  }

  bool send_head(Txn& t, bool end) override {
    if (side_ == Side::Client) {
      if (!t.client_stream || !streams_.contains(t.client_stream)) return false;
      if (!session_.submit_response(t.client_stream, h2_response_block(t.response.head), end)) return false;
      return true;
    }
    if (closed_ || failed_ || core_.upstream_is_gone()) {
      core_.cut(t, Side::Upstream,
                Cut{"the server's connection is ending (GOAWAY) before this request was sent", kRefusedStream, 502});
      return false;
    }
    auto id = session_.submit_request(h2_request_block(t.request.head, core_.options.host), end);
    if (id < 0) {
      core_.cut(
          t, Side::Upstream,
          Cut{fmt::format("the request could not be sent to the server: {}", session_.error()), kRefusedStream, 502});
      return false;
    }
    t.upstream_stream = id;
    streams_[id] = &t;
    return true;
  }

  void send_interim(Txn& t, const HttpHead& head) override {
    if (side_ != Side::Client || head.status == 101 || !streams_.contains(t.client_stream)) return;
    (void)session_.submit_response(t.client_stream, h2_response_block(head), false);
  }

  std::size_t send_body(Txn& t, std::string_view bytes) override {
    auto id = stream_of(t);
    if (!id || closed_ || failed_) return 0;
    auto limit = stream_queue_limit(core_.options);
    auto queued = session_.queued(id), total = session_.queued_total();
    if (queued >= limit || total >= core_.options.leg_buffer) return 0;
    auto n = std::min({bytes.size(), limit - queued, core_.options.leg_buffer - total});
    session_.send_data(id, bytes.substr(0, n));
    return n;
  }

  void send_end(Txn& t) override {
    auto id = stream_of(t);
    if (!id || closed_ || failed_) return;
    const Half& half = side_ == Side::Client ? t.response : t.request;
    if (half.trailers.empty())
      session_.end_stream(id);
    else
      session_.send_trailers(id, h2_trailer_block(half.trailers));
  }

  void abort(Txn& t, const Cut& cut) override {
    auto id = stream_of(t);
    if (!id || closed_ || failed_) return;
    if (side_ == Side::Client && !t.response.head_sent && cut.reply && cut.code != kRefusedStream) {
      // The server failed as a whole (no stream to mirror): answer as a gateway.
      std::string body = fmt::format("tlslab proxy: {}\n", cut.why);
      http::H2Fields head = {{":status", std::to_string(cut.reply)},
                             {"content-type", "text/plain; charset=utf-8"},
                             {"content-length", std::to_string(body.size())}};
      if (session_.submit_response(id, head, false)) {
        session_.send_data(id, body);
        session_.end_stream(id);
        return;
      }
    }
    session_.reset(id, cut.code);
  }

  void consume(Txn& t, std::size_t n) override {
    auto id = side_ == Side::Client ? t.client_stream : t.upstream_stream;
    if (id > 0 && n && !closed_ && !failed_) session_.consume(id, n);
  }

  void forget(Txn& t) override {
    auto id = side_ == Side::Client ? t.client_stream : t.upstream_stream;
    auto it = streams_.find(id);
    if (it != streams_.end() && it->second == &t) streams_.erase(it);
  }

  void shutdown() override {
    if (shutdown_ || closed_ || failed_) return;
    shutdown_ = true;
    session_.goaway(kNoError);
  }

 private:
  static http::H2Settings settings(const ExchangeOptions& o, Side side) {
    http::H2Settings s;
    s.initial_window_size = o.stream_window;
    if (side == Side::Client) s.max_concurrent_streams = o.max_streams;
    return s;
  }

  std::int32_t stream_of(Txn& t) const {
    auto id = side_ == Side::Client ? t.client_stream : t.upstream_stream;
    auto it = streams_.find(id);
    return it != streams_.end() && it->second == &t ? id : 0;
  }

  Txn* txn(std::int32_t stream) {
    auto it = streams_.find(stream);
    return it == streams_.end() ? nullptr : it->second;
  }

  // The direction this leg receives.
  Dir in_dir() const { return side_ == Side::Client ? Dir::Request : Dir::Response; }
  const char* peer() const { return side_ == Side::Client ? "client" : "server"; }

  void fail(const std::string& why) {
    failed_ = true;
    core_.protocol_error(side_, why);
    cut_mine(fmt::format("the {}'s HTTP/2 connection failed: {}", peer(), why), kCancel);
  }

  // Cuts every exchange this leg carries (the connection is gone).
  void cut_mine(const std::string& why, std::uint32_t code) {
    auto copy = streams_;
    for (auto& [id, t] : copy)
      if (!t->finished || t->draining) core_.cut(*t, side_, Cut{why, code, side_ == Side::Upstream ? 502 : 0});
  }

  // H2Listener
  void on_headers(std::int32_t stream, http::H2Fields fields, bool end_stream) override {
    if (side_ == Side::Client) return on_request(stream, fields, end_stream);
    Txn* t = txn(stream);
    if (!t || t->finished) return;
    HttpHead head;
    std::string why;
    if (!head_from_h2(fields, false, head, why)) {
      session_.reset(stream, kProtocolError);
      return core_.cut(*t, Side::Upstream,
                       Cut{fmt::format("the server's response is malformed: {}", why), kProtocolError, 502});
    }
    if (head.status / 100 == 1) {
      if (head.status != 101) core_.interim(*t, head);
      return;
    }
    core_.head(*t, Dir::Response, std::move(head), end_stream);
  }

  void on_request(std::int32_t stream, const http::H2Fields& fields, bool end_stream) {
    HttpHead head;
    std::string why;
    bool ok = head_from_h2(fields, true, head, why);
    Txn& t = core_.open(stream, 20);
    streams_[stream] = &t;
    if (!ok) {
      // Record what can be read of it, then refuse the stream (RFC 9113 §8.1.1: malformed).
      for (const auto& f : fields) {
        if (f.name == ":method") head.method = f.value;
        if (f.name == ":path") head.target = f.value;
        if (f.name == ":authority") head.authority = f.value;
      }
      head.fields = headers_from_h2(fields);
      head.version = 20;
      return core_.refuse(t, std::move(head), Cut{fmt::format("malformed request: {}", why), kProtocolError});
    }
    if (head.method == "CONNECT")
      return core_.refuse(t, std::move(head), Cut{"CONNECT over HTTP/2 is not supported", kCancel, 501});
    if (core_.upstream_is_gone())
      return core_.refuse(t, std::move(head),
                          Cut{"the server's connection is ending: request refused", kRefusedStream});
    core_.head(t, Dir::Request, std::move(head), end_stream);
  }

  void on_trailers(std::int32_t stream, http::H2Fields fields) override {
    if (Txn* t = txn(stream)) core_.end(*t, in_dir(), headers_from_h2(fields));
  }

  void on_data(std::int32_t stream, std::string_view bytes) override {
    Txn* t = txn(stream);
    if (!t) {
      session_.consume(stream, bytes.size());  // a stream already cut: keep the connection's window open
      return;
    }
    core_.data(*t, in_dir(), bytes);
  }

  void on_end_stream(std::int32_t stream) override {
    if (Txn* t = txn(stream)) core_.end(*t, in_dir(), {});
  }

  void on_stream_closed(std::int32_t stream, std::uint32_t error_code, bool reset_by_peer) override {
    Txn* t = txn(stream);
    if (t && t->draining) core_.cut(*t, side_, Cut{});  // the client's stream ended: the flow goes out
    if (!t || t->finished) return;
    // A normal end of this leg's stream (both halves done here) while the other leg is still
    // taking the body: not a cut. The stream's received bytes are still consumed as they leave.
    // Nor is a server's RST_STREAM NO_ERROR after its whole response (RFC 9113 §8.1: it needs no
    // more of the request): the response still goes to the client, which is then told the same.
    bool ended = side_ == Side::Upstream ? t->response.ended : t->request.ended;
    if (error_code == kNoError && ended && (!reset_by_peer || side_ == Side::Upstream)) return;
    std::string why = reset_by_peer
                          ? fmt::format("stream reset by the {} ({})", peer(), http::h2_error_name(error_code))
                          : fmt::format("stream closed ({})", http::h2_error_name(error_code));
    // The upstream's code is passed on; a client's reset is a cancel for the server.
    std::uint32_t code = side_ == Side::Client || !error_code ? kCancel : error_code;
    if (side_ == Side::Upstream && error_code == kRefusedStream) why = "the server refused the stream (REFUSED_STREAM)";
    core_.cut(*t, side_, Cut{why, code});
  }

  void on_goaway(std::int32_t last_stream, std::uint32_t error_code) override {
    if (side_ == Side::Client) return;  // the client opens no new streams: nothing to do
    auto copy = streams_;
    for (auto& [id, t] : copy)
      if (id > last_stream && !t->finished)
        core_.cut(*t, Side::Upstream,
                  Cut{fmt::format("the server is going away (GOAWAY {}) and did not process this request",
                                  http::h2_error_name(error_code)),
                      kRefusedStream});
    core_.upstream_gone();
  }

  Side side_;
  http::H2Session session_;
  std::unordered_map<std::int32_t, Txn*> streams_;
  bool closed_ = false, failed_ = false, shutdown_ = false;
};

}  // namespace

std::unique_ptr<Leg> make_h2_leg(Core& core, Side side) { return std::make_unique<H2Leg>(core, side); }

}  // namespace tlslab::proxy::detail
