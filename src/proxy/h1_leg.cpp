// The HTTP/1.1 legs of proxy::Exchange: the client leg reads requests and writes responses, the
// upstream leg writes requests and reads responses, one exchange at a time on each connection.
// Messages are parsed with Beast's basic_parser (bodies streamed, chunked or not) and heads
// written with Beast's field serializer (proxy/translate.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <deque>

#include "http/streaming_parser.hpp"
#include "proxy/exchange_core.hpp"

namespace tlslab::proxy::detail {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class ParserEvents {
 public:
  virtual ~ParserEvents() = default;
  virtual void on_head(HttpHead& head) = 0;
  virtual void on_body(std::string_view bytes) = 0;
  virtual void on_finish(Headers trailers) = 0;
};

// H1Parser streams one message to its events: the head when the header is complete, body bytes as
// they come, then the end with the trailers (fields after a chunked body).
template <bool isRequest>
class H1Parser : public http::StreamingParser<isRequest> {
 public:
  explicit H1Parser(ParserEvents& events) : events_(events) {
    this->header_limit(64 * 1024);
    this->body_limit(boost::none);
  }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                       beast::error_code&) override {
    head_.method = std::string(method);
    head_.target = std::string(target);
    head_.version = version;
  }
  void on_response_impl(int code, beast::string_view reason, int version, beast::error_code&) override {
    head_.status = code;
    head_.reason = std::string(reason);
    head_.version = version;
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
    (header_done_ ? trailers_ : head_.fields).emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(beast::error_code&) override {
    header_done_ = true;
    events_.on_head(head_);
  }
  void on_body_bytes(std::string_view bytes) override { events_.on_body(bytes); }
  void on_finish_impl(beast::error_code&) override { events_.on_finish(std::move(trailers_)); }

  ParserEvents& events_;
  HttpHead head_;
  Headers trailers_;
  bool header_done_ = false;
};

// put runs bytes through a parser: how many it used; ec is need_more when it wants more.
template <class P>
std::size_t put(P& parser, std::string_view bytes, beast::error_code& ec) {
  ec = {};
  if (bytes.empty()) return 0;
  return parser.put(boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
}

std::string plain_reply(int status, const std::string& why) {
  HttpHead head;
  head.status = status;
  std::string body = fmt::format("tlslab proxy: {}\n", why.empty() ? "no response" : why);
  head.fields = {{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Length", std::to_string(body.size())}};
  Framing framing;
  return h1_response_head(head, true, false, true, true, framing) + body;
}

// The client leg: one request at a time; a pipelined request waits, unparsed, until the response
// to the one before it is written.
class H1ClientLeg final : public Leg, public ParserEvents {
 public:
  explicit H1ClientLeg(Core& core) : Leg(core) {}

  void receive(std::string_view bytes) override {
    if (closed_ || broken_) return;
    in_.append(bytes);
    parse();
  }

  void closed(bool clean) override {
    closed_ = true;
    if (txn_ && !txn_->finished)
      core_.cut(*txn_, Side::Client,
                Cut{clean ? "the client closed the connection" : "the client's connection was cut", kCancel});
  }

  bool take_output(std::string& out) override {
    if (out_.empty()) return false;
    out.append(out_);
    out_.clear();
    return true;
  }
  [[nodiscard]] std::size_t backlog() const override { return out_.size(); }

  [[nodiscard]] bool wants_data() const override {
    if (closed_ || broken_) return false;
    if (txn_) return !txn_->finished && !txn_->request.ended && txn_->request.pending.empty();
    return !closing_;
  }
  [[nodiscard]] bool done() const override { return closed_ || broken_ || (closing_ && !txn_); }

  bool send_head(Txn& t, bool end) override {
    if (&t != txn_ || broken_) return false;
    bool no_body = no_response_body(t.request.head.method, t.response.head.status);
    out_ += h1_response_head(t.response.head, !end, no_body, version_ >= 11, closing_, framing_);
    if (framing_ == Framing::UntilClose) closing_ = true;
    return true;
  }

  void send_interim(Txn& t, const HttpHead& head) override {
    // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client; 101 is not relayed (Upgrade is dropped).
    if (&t != txn_ || version_ < 11 || head.status == 101) return;
    Framing framing;
    out_ += h1_response_head(head, false, true, true, false, framing);
  }

  std::size_t send_body(Txn& t, std::string_view bytes) override {
    if (&t != txn_ || broken_) return 0;
    if (framing_ == Framing::None) return bytes.size();  // a HEAD response, 204, 304: no body on the wire
    auto limit = core_.options.leg_buffer;
    std::size_t n = std::min(bytes.size(), out_.size() < limit ? limit - out_.size() : 0);
    if (n == 0) return 0;
    if (framing_ == Framing::Chunked)
      out_ += h1_chunk(bytes.substr(0, n));
    else
      out_.append(bytes.substr(0, n));
    return n;
  }

  void send_end(Txn& t) override {
    if (&t != txn_ || broken_) return;
    if (framing_ == Framing::Chunked) out_ += h1_last_chunk(t.response.trailers);
  }

  void abort(Txn& t, const Cut& cut) override {
    if (&t != txn_) return;
    if (cut.code == kNoError && cut.why.empty()) {
      closing_ = true;  // the response is complete; the rest of the request is not read
    } else if (!t.response.head_sent) {
      out_ += plain_reply(cut.reply ? cut.reply : 502, cut.why);
      closing_ = true;
    } else {
      broken_ = true;  // the response began: closing is the only way to say it was cut
    }
  }

  void consume(Txn&, std::size_t) override {}

  void forget(Txn& t) override {
    if (&t != txn_) return;
    txn_ = nullptr;
    if (parser_ && !parser_->is_done()) closing_ = true;  // the request was cut while it came in
    parser_.reset();
  }

  bool poll() override {
    if (txn_ || in_.empty() || closing_ || broken_ || closed_) return false;
    auto before = in_.size();
    parse();
    return in_.size() != before || txn_;
  }

  void shutdown() override { closing_ = true; }

 private:
  void parse() {
    while (!in_.empty() && !broken_ && !closed_) {
      if (txn_ && (txn_->finished || txn_->request.ended || !txn_->request.pending.empty())) return;
      if (!txn_ && closing_) return;
      if (!parser_) parser_.emplace(*this);
      parser_->eager(parser_->is_header_done());
      bool had_header = parser_->is_header_done();
      beast::error_code ec;
      auto used = put(*parser_, in_.view(), ec);
      in_.drop(used);
      if (!had_header && parser_->is_header_done() && txn_) txn_->flow.request_header_bytes = used;
      if (ec == bhttp::error::need_more) {
        if (used == 0) return;
        continue;
      }
      if (ec) return bad_request(ec);
      if (parser_->is_done()) parser_.reset();
      if (used == 0) return;
    }
  }

  void bad_request(const beast::error_code& ec) {
    auto why = fmt::format("the client's request is not valid HTTP/1.1 ({})", ec.message());
    core_.protocol_error(Side::Client, why);
    parser_.reset();
    in_.clear();
    if (txn_ && txn_->request.head_received) {
      core_.cut(*txn_, Side::Client, Cut{why, kCancel});
      broken_ = true;
    } else {
      out_ += plain_reply(400, why);
      closing_ = true;
    }
  }

  void on_head(HttpHead& head) override {
    Txn& t = core_.open(0, head.version);
    txn_ = &t;
    version_ = head.version;
    if (!parser_->keep_alive()) closing_ = true;  // Connection: close, or HTTP/1.0 without keep-alive
    has_body_ = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    if (head.method == "CONNECT") {
      core_.refuse(t, std::move(head), Cut{"CONNECT inside an intercepted connection is not supported", kCancel, 501});
      closing_ = true;
      return;
    }
    core_.head(t, Dir::Request, std::move(head), !has_body_);
  }
  void on_body(std::string_view bytes) override {
    if (txn_) core_.data(*txn_, Dir::Request, bytes);
  }
  void on_finish(Headers trailers) override {
    if (txn_ && has_body_) core_.end(*txn_, Dir::Request, std::move(trailers));
  }

  std::optional<H1Parser<true>> parser_;
  ByteQueue in_;
  std::string out_;
  Txn* txn_ = nullptr;  // the exchange in progress
  int version_ = 11;
  bool has_body_ = false;
  Framing framing_ = Framing::None;  // of the response being written
  bool closed_ = false, closing_ = false, broken_ = false;
};

// The upstream leg: one request on the connection at a time; the others wait in order.
//
// Limitation: HTTP/1.1 cannot multiplex, so the streams of an HTTP/2 client that reach an
// HTTP/1.1 server are served one after the other over the one upstream connection, and a stream
// waiting in the queue holds the client's window (its body stays unacknowledged). A request that
// is cut while it is being sent or answered cannot be cancelled in HTTP/1.1: the connection is
// closed, and the requests still queued are refused (REFUSED_STREAM to an HTTP/2 client, which may
// retry them on a new connection).
class H1UpstreamLeg final : public Leg, public ParserEvents {
 public:
  explicit H1UpstreamLeg(Core& core) : Leg(core) {}

  void receive(std::string_view bytes) override {
    if (closed_ || broken_) return;
    in_.append(bytes);
    parse();
  }

  void closed(bool clean) override {
    (void)clean;
    closed_ = true;
    if (active_ && !active_->finished && parser_ && parser_->is_header_done() && !parser_->is_done()) {
      beast::error_code ec;
      parser_->put_eof(ec);  // a body that runs until the connection closes ends here
    }
    if (active_ && !active_->finished && !active_->response.ended) {
      bool began = active_->response.head_received;
      core_.cut(*active_, Side::Upstream,
                Cut{began ? "the server closed the connection before the response ended"
                          : "the server closed the connection before responding",
                    kInternalError, 502});
    }
    refuse_queue();
  }

  bool take_output(std::string& out) override {
    if (out_.empty()) return false;
    out.append(out_);
    out_.clear();
    return true;
  }
  [[nodiscard]] std::size_t backlog() const override { return out_.size(); }

  [[nodiscard]] bool wants_data() const override {
    return !closed_ && !broken_ && !(active_ && !active_->response.pending.empty());
  }
  [[nodiscard]] bool done() const override {
    return closed_ || broken_ || (last_ && !active_) || (shutdown_ && !active_ && queue_.empty());
  }

  bool send_head(Txn& t, bool end) override {
    if (closed_ || broken_ || last_) {
      core_.cut(t, Side::Upstream,
                Cut{"the server's connection closed before this request was sent", kRefusedStream, 502});
      return false;
    }
    if (active_ && active_ != &t) {
      if (std::find(queue_.begin(), queue_.end(), &t) == queue_.end()) queue_.push_back(&t);
      return false;
    }
    std::erase(queue_, &t);
    active_ = &t;
    out_ += h1_request_head(t.request.head, !end, core_.options.host, framing_);
    new_parser();
    return true;
  }

  void send_interim(Txn&, const HttpHead&) override {}

  std::size_t send_body(Txn& t, std::string_view bytes) override {
    if (&t != active_ || broken_ || closed_) return 0;
    if (framing_ == Framing::None) return bytes.size();
    auto limit = core_.options.leg_buffer;
    std::size_t n = std::min(bytes.size(), out_.size() < limit ? limit - out_.size() : 0);
    if (n == 0) return 0;
    if (framing_ == Framing::Chunked)
      out_ += h1_chunk(bytes.substr(0, n));
    else
      out_.append(bytes.substr(0, n));
    return n;
  }

  void send_end(Txn& t) override {
    // Trailers need chunked framing; after a Content-Length body they are dropped.
    if (&t == active_ && framing_ == Framing::Chunked) out_ += h1_last_chunk(t.request.trailers);
  }

  void abort(Txn& t, const Cut&) override {
    std::erase(queue_, &t);
    if (&t == active_ && !(t.request.end_sent && t.response.ended)) broken_ = true;
  }

  void consume(Txn&, std::size_t) override {}

  void forget(Txn& t) override {
    std::erase(queue_, &t);
    if (&t != active_) return;
    active_ = nullptr;
    parser_.reset();
    if (!in_.empty() && !broken_) {
      core_.protocol_error(Side::Upstream, "the server sent bytes after its response");
      broken_ = true;
    }
  }

  bool poll() override {
    bool any = false;
    if ((closed_ || broken_ || last_) && !gone_) {
      gone_ = true;
      core_.upstream_gone();
      any = true;
    }
    if (closed_ || broken_ || last_) return refuse_queue() || any;
    if (!active_ && !queue_.empty()) {
      Txn* next = queue_.front();
      queue_.pop_front();
      core_.pump(*next);
      return true;
    }
    if (active_ && !in_.empty() && active_->response.pending.empty()) {
      auto before = in_.size();
      parse();
      return in_.size() != before;
    }
    return any;
  }

  void shutdown() override { shutdown_ = true; }

 private:
  bool refuse_queue() {
    bool any = !queue_.empty();
    while (!queue_.empty()) {
      Txn* t = queue_.front();
      queue_.pop_front();
      core_.cut(*t, Side::Upstream,
                Cut{"the server's connection closed before this request was sent", kRefusedStream, 502});
    }
    return any;
  }

  void new_parser() {
    parser_.emplace(*this);
    parser_->skip(active_->request.head.method == "HEAD");
    interim_ = false;
  }

  void parse() {
    while (!in_.empty() && !broken_) {
      if (!active_ || !parser_ || parser_->is_done()) {
        if (active_ && parser_ && parser_->is_done()) return;  // the rest is judged once the exchange ends
        core_.protocol_error(Side::Upstream, "the server sent bytes with no request outstanding");
        broken_ = true;
        return;
      }
      if (!active_->response.pending.empty() || active_->finished) return;  // until the client leg takes them
      parser_->eager(parser_->is_header_done());
      bool had_header = parser_->is_header_done();
      beast::error_code ec;
      auto used = put(*parser_, in_.view(), ec);
      in_.drop(used);
      if (!had_header && parser_->is_header_done()) active_->flow.response_header_bytes += used;
      if (ec == bhttp::error::need_more) {
        if (used == 0) return;
        continue;
      }
      if (ec) {
        auto why = fmt::format("the server's response is not valid HTTP/1.1 ({})", ec.message());
        core_.protocol_error(Side::Upstream, why);
        broken_ = true;
        if (!active_->finished) core_.cut(*active_, Side::Upstream, Cut{why, kInternalError, 502});
        return;
      }
      if (parser_->is_done() && interim_) new_parser();  // the final response follows a 1xx
      if (broken_ || used == 0) return;
    }
  }

  void on_head(HttpHead& head) override {
    if (!active_ || active_->finished) return;
    if (head.status == 101) {
      broken_ = true;
      core_.cut(*active_, Side::Upstream,
                Cut{"the server switched protocols (101), which is not relayed here", kInternalError, 502});
      return;
    }
    if (head.status / 100 == 1) {
      interim_ = true;
      core_.interim(*active_, head);
      return;
    }
    if (!parser_->keep_alive()) {
      last_ = true;  // the server closes after this response: no request can follow
      gone_ = true;
      core_.upstream_gone();
    }
    has_body_ = !no_response_body(active_->request.head.method, head.status) &&
                (parser_->chunked() || parser_->content_length().value_or(1) > 0);
    core_.head(*active_, Dir::Response, std::move(head), !has_body_);
  }
  void on_body(std::string_view bytes) override {
    if (active_) core_.data(*active_, Dir::Response, bytes);
  }
  void on_finish(Headers trailers) override {
    if (active_ && !interim_ && has_body_) core_.end(*active_, Dir::Response, std::move(trailers));
  }

  std::deque<Txn*> queue_;
  Txn* active_ = nullptr;
  std::optional<H1Parser<false>> parser_;
  ByteQueue in_;
  std::string out_;
  Framing framing_ = Framing::None;  // of the request being written
  bool interim_ = false, has_body_ = false;
  bool closed_ = false, broken_ = false, shutdown_ = false, last_ = false, gone_ = false;
};

}  // namespace

std::unique_ptr<Leg> make_h1_client_leg(Core& core) { return std::make_unique<H1ClientLeg>(core); }
std::unique_ptr<Leg> make_h1_upstream_leg(Core& core) { return std::make_unique<H1UpstreamLeg>(core); }

}  // namespace tlslab::proxy::detail
