#include "proxy/exchange.hpp"

#include <fmt/format.h>

#include "proxy/exchange_core.hpp"

namespace tlslab::proxy {

namespace detail {

namespace {

std::string version_name(int version) {
  return version == 20 ? "HTTP/2.0" : fmt::format("HTTP/{}.{}", version / 10, version % 10);
}

void keep(std::string& stored, std::size_t cap, std::string_view bytes) {
  if (stored.size() < cap) stored.append(bytes.substr(0, cap - stored.size()));
}

// RFC 9113 §4.3's accounting of a header list: name, value and 32 bytes per field.
std::uint64_t h2_header_bytes(const Headers& fields) {
  std::uint64_t n = 0;
  for (const auto& [name, value] : fields) n += name.size() + value.size() + 32;
  return n;
}

}  // namespace

Core::Core(HttpProtocol client, HttpProtocol upstream, ExchangeOptions o, Exchange::Sink sink)
    : options(std::move(o)), sink_(std::move(sink)), client_h2_(client == HttpProtocol::Http2) {
  client_ = client == HttpProtocol::Http2 ? make_h2_leg(*this, Side::Client) : make_h1_client_leg(*this);
  upstream_ = upstream == HttpProtocol::Http2 ? make_h2_leg(*this, Side::Upstream) : make_h1_upstream_leg(*this);
}

Core::~Core() = default;

Txn& Core::open(std::int32_t client_stream, int version) {
  auto t = std::make_unique<Txn>();
  t->seq = next_seq_++;
  t->client_stream = client_stream;
  t->flow.client = options.client;
  t->flow.host = options.host;
  t->flow.scheme = options.scheme;
  t->flow.http_version = version_name(version);
  t->flow.stream_id = client_stream;
  t->flow.started_ms = now;
  auto& ref = *t;
  txns_.emplace(ref.seq, std::move(t));
  return ref;
}

void Core::head(Txn& t, Dir dir, HttpHead h, bool end) {
  if (t.finished) return;
  record(t, dir, std::move(h));
  Half& half = dir == Dir::Request ? t.request : t.response;
  if (end) {
    half.ended = true;
    if (half.length && *half.length != 0)
      return cut(t, std::nullopt,
                 Cut{fmt::format("the {} ended before its Content-Length ({} bytes)",
                                 dir == Dir::Request ? "request" : "response", *half.length),
                     kProtocolError, 502});
  }
  pump(t);
}

void Core::refuse(Txn& t, HttpHead h, const Cut& c) {
  record(t, Dir::Request, std::move(h));
  cut(t, Side::Upstream, c);  // nothing reached the upstream
}

void Core::record(Txn& t, Dir dir, HttpHead h) {
  Flow& f = t.flow;
  Half& half = dir == Dir::Request ? t.request : t.response;
  if (dir == Dir::Request) {
    f.method = h.method;
    f.target = h.target;
    f.authority = h.authority;
    if (!h.scheme.empty()) f.scheme = h.scheme;
    f.request_headers = h.fields;
    if (h.version == 20) f.request_header_bytes = h2_header_bytes(h.fields);
    half.length = h.content_length();
  } else {
    f.status = h.status;
    f.reason = h.reason;
    f.response_version = version_name(h.version);
    f.response_headers = h.fields;
    if (h.version == 20) f.response_header_bytes = h2_header_bytes(h.fields);
    if (f.response_start_ms == 0) f.response_start_ms = now;
    if (!no_response_body(t.request.head.method, h.status)) half.length = h.content_length();
  }
  half.head = std::move(h);
  half.head_received = true;
}

void Core::interim(Txn& t, const HttpHead& h) {
  if (t.finished || t.response.head_sent) return;
  if (t.flow.response_start_ms == 0) t.flow.response_start_ms = now;
  client_->send_interim(t, h);
}

void Core::data(Txn& t, Dir dir, std::string_view bytes) {
  Side from = dir == Dir::Request ? Side::Client : Side::Upstream;
  if (t.finished) {  // nobody waits for these bytes: keep the connection's window open
    if (t.draining && dir == Dir::Request) {
      t.flow.request_body_bytes += bytes.size();
      keep(t.flow.request_body, options.body_cap, bytes);
    }
    leg(from).consume(t, bytes.size());
    return;
  }
  Half& half = dir == Dir::Request ? t.request : t.response;
  half.received += bytes.size();
  if (dir == Dir::Request) {
    t.flow.request_body_bytes += bytes.size();
    keep(t.flow.request_body, options.body_cap, bytes);
  } else {
    t.flow.response_body_bytes += bytes.size();
    keep(t.flow.response_body, options.body_cap, bytes);
  }
  half.pending.append(bytes);
  if (half.length && half.received > *half.length) {
    // RFC 9113 §8.1.1: a body longer than its Content-Length is malformed.
    leg(from).abort(t, Cut{"", kProtocolError});
    return cut(t, from,
               Cut{fmt::format("the {} body is longer than its Content-Length ({} bytes)",
                               dir == Dir::Request ? "request" : "response", *half.length),
                   kCancel, 502});
  }
  pump(t);
}

void Core::end(Txn& t, Dir dir, Headers trailers) {
  if (t.finished) {
    if (t.draining && dir == Dir::Request) {
      if (!trailers.empty()) t.flow.request_trailers = std::move(trailers);
      t.draining = false;
      emit(t, true, "");
    }
    return;
  }
  Half& half = dir == Dir::Request ? t.request : t.response;
  Side from = dir == Dir::Request ? Side::Client : Side::Upstream;
  half.ended = true;
  if (!trailers.empty()) (dir == Dir::Request ? t.flow.request_trailers : t.flow.response_trailers) = trailers;
  half.trailers = std::move(trailers);
  if (half.length && half.received != *half.length) {
    leg(from).abort(t, Cut{"", kProtocolError});
    return cut(t, from,
               Cut{fmt::format("the {} body ended after {} of its {} bytes (Content-Length)",
                               dir == Dir::Request ? "request" : "response", half.received, *half.length),
                   kCancel, 502});
  }
  pump(t);
}

void Core::cut(Txn& t, std::optional<Side> from, const Cut& c) {
  if (t.finished) {
    if (t.draining && from != Side::Upstream) {  // the client's request ends here: the response was whole
      t.draining = false;
      emit(t, true, "");
    }
    return;
  }
  t.finished = true;  // first: an abort may report back
  if (from != Side::Client) client_->abort(t, c);
  if (from != Side::Upstream) upstream_->abort(t, c);
  emit(t, false, c.why);
}

void Core::protocol_error(Side side, const std::string& why) {
  if (error.empty()) error = fmt::format("{}: {}", side == Side::Client ? "client" : "server", why);
  if (side == Side::Upstream) upstream_gone();
}

void Core::upstream_gone() {
  if (upstream_gone_) return;
  upstream_gone_ = true;
  client_->shutdown();
}

void Core::pump(Txn& t) {
  if (t.finished) return;
  move(t, Dir::Request);
  if (t.finished) return;
  move(t, Dir::Response);
  if (t.finished || !t.response.end_sent) return;
  t.finished = true;
  if (!t.request.end_sent) {
    // The server answered before the whole request came (RFC 9113 §8.1: the client may be told
    // to stop with RST_STREAM NO_ERROR; an HTTP/1.1 connection is closed after the response).
    upstream_->abort(t, Cut{"", kCancel});
    // An HTTP/2 client is let finish its request, recorded and not forwarded: the rest of a form
    // (its password) is often still on its way. The flow goes out when the request ends.
    if (client_h2_ && !t.request.ended) {
      t.draining = true;
      return;
    }
    client_->abort(t, Cut{"", kNoError});
  }
  emit(t, true, "");
}

void Core::move(Txn& t, Dir dir) {
  Half& h = dir == Dir::Request ? t.request : t.response;
  Leg& to = dir == Dir::Request ? *upstream_ : *client_;
  Leg& from = dir == Dir::Request ? *client_ : *upstream_;
  if (!h.head_received || h.end_sent) return;
  if (!h.head_sent) {
    bool end_now = h.ended && h.pending.empty() && h.trailers.empty();
    if (!to.send_head(t, end_now) || t.finished) return;
    h.head_sent = true;
    if (end_now) return ended_sent(t, dir);
  }
  while (!h.pending.empty() && !t.finished) {
    auto n = to.send_body(t, h.pending.view());
    if (n == 0) break;
    h.pending.drop(n);
    from.consume(t, n);
  }
  if (!t.finished && h.pending.empty() && h.ended) {
    to.send_end(t);
    ended_sent(t, dir);
  }
}

void Core::ended_sent(Txn& t, Dir dir) {
  if (dir == Dir::Request) {
    t.request.end_sent = true;
    if (t.flow.request_done_ms == 0) t.flow.request_done_ms = now;
  } else {
    t.response.end_sent = true;
    if (t.flow.response_done_ms == 0) t.flow.response_done_ms = now;
  }
}

void Core::emit(Txn& t, bool complete, const std::string& why) {
  if (t.flow_sent) return;
  t.flow_sent = true;
  t.flow.complete = complete;
  t.flow.error = why;
  if (!complete && t.flow.response_start_ms != 0 && t.flow.response_done_ms == 0) t.flow.response_done_ms = now;
  if (sink_) sink_(std::move(t.flow));
}

bool Core::sweep() {
  bool any = false;
  for (auto it = txns_.begin(); it != txns_.end();) {
    Txn& t = *it->second;
    if (!t.finished || t.draining) {
      ++it;
      continue;
    }
    // Bytes nobody will take: give the senders their window back.
    if (!t.request.pending.empty()) client_->consume(t, t.request.pending.size());
    if (!t.response.pending.empty()) upstream_->consume(t, t.response.pending.size());
    t.request.pending.clear();
    t.response.pending.clear();
    client_->forget(t);
    upstream_->forget(t);
    it = txns_.erase(it);
    any = true;
  }
  return any;
}

void Core::settle() {
  for (int round = 0; round < 10000; ++round) {
    for (auto& [seq, t] : txns_) pump(*t);
    bool changed = sweep();
    changed |= client_->poll();
    changed |= upstream_->poll();
    if (!changed) break;
  }
  if (txns_.empty() && client_->done()) upstream_->shutdown();
  if (txns_.empty() && (upstream_gone_ || upstream_->done())) {
    upstream_gone_ = true;
    client_->shutdown();
  }
}

std::size_t Core::buffered() const {
  std::size_t n = client_->backlog() + upstream_->backlog();
  for (const auto& [seq, t] : txns_) n += t->request.pending.size() + t->response.pending.size();
  return n;
}

}  // namespace detail

struct Exchange::Impl {
  detail::Core core;
  Impl(HttpProtocol c, HttpProtocol u, ExchangeOptions o, Sink s) : core(c, u, std::move(o), std::move(s)) {}
};

Exchange::Exchange(HttpProtocol client_leg, HttpProtocol upstream_leg, ExchangeOptions options, Sink on_flow)
    : impl_(std::make_unique<Impl>(client_leg, upstream_leg, std::move(options), std::move(on_flow))) {
  impl_->core.settle();
}

Exchange::~Exchange() = default;

void Exchange::client_data(std::string_view bytes, double now_ms) {
  auto& c = impl_->core;
  c.now = now_ms;
  c.leg(detail::Side::Client).receive(bytes);
  c.settle();
}

void Exchange::upstream_data(std::string_view bytes, double now_ms) {
  auto& c = impl_->core;
  c.now = now_ms;
  c.leg(detail::Side::Upstream).receive(bytes);
  c.settle();
}

void Exchange::client_closed(bool clean, double now_ms) {
  auto& c = impl_->core;
  c.now = now_ms;
  c.leg(detail::Side::Client).closed(clean);
  c.settle();
}

void Exchange::upstream_closed(bool clean, double now_ms) {
  auto& c = impl_->core;
  c.now = now_ms;
  c.leg(detail::Side::Upstream).closed(clean);
  c.settle();
}

bool Exchange::take_client_output(std::string& out) {
  auto& c = impl_->core;
  c.settle();
  bool any = c.leg(detail::Side::Client).take_output(out);
  c.settle();  // room was made: move what waited (its window updates go to the other leg)
  return any;
}

bool Exchange::take_upstream_output(std::string& out) {
  auto& c = impl_->core;
  c.settle();
  bool any = c.leg(detail::Side::Upstream).take_output(out);
  c.settle();
  return any;
}

bool Exchange::wants_client_data() const {
  const auto& c = impl_->core;
  return c.leg(detail::Side::Client).wants_data() && c.leg(detail::Side::Upstream).backlog() <= c.options.leg_buffer;
}

bool Exchange::wants_upstream_data() const {
  const auto& c = impl_->core;
  return c.leg(detail::Side::Upstream).wants_data() && c.leg(detail::Side::Client).backlog() <= c.options.leg_buffer;
}

bool Exchange::client_done() const { return impl_->core.leg(detail::Side::Client).done(); }
bool Exchange::upstream_done() const { return impl_->core.leg(detail::Side::Upstream).done(); }
bool Exchange::finished() const { return client_done() && upstream_done(); }
const std::string& Exchange::error() const { return impl_->core.error; }
std::size_t Exchange::buffered() const { return impl_->core.buffered(); }

}  // namespace tlslab::proxy
