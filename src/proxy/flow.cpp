#include "proxy/flow.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <optional>

#include "base/text.hpp"
#include "http/streaming_parser.hpp"

namespace tlslab::proxy {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

std::string find_header(const Headers& headers, std::string_view name) {
  auto l = ascii_lower(name);
  for (const auto& [n, v] : headers)
    if (ascii_lower(n) == l) return v;
  return {};
}

// Messages share this parser; `request` picks which half of a Flow it fills.
template <bool isRequest>
class Parser : public http::StreamingParser<isRequest> {
 public:
  Parser(Flow*& flow, std::size_t cap) : flow_(flow), cap_(cap) {}

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                       beast::error_code&) override {
    flow_->method = std::string(method);
    flow_->target = std::string(target);
    flow_->http_version = fmt::format("HTTP/{}.{}", version / 10, version % 10);
  }
  void on_response_impl(int code, beast::string_view reason, int version, beast::error_code&) override {
    flow_->status = code;
    flow_->reason = std::string(reason);
    flow_->response_version = fmt::format("HTTP/{}.{}", version / 10, version % 10);
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
    (isRequest ? flow_->request_headers : flow_->response_headers).emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_bytes(std::string_view body) override {
    auto& stored = isRequest ? flow_->request_body : flow_->response_body;
    auto& count = isRequest ? flow_->request_body_bytes : flow_->response_body_bytes;
    count += body.size();
    if (stored.size() < cap_) stored.append(body.data(), std::min(body.size(), cap_ - stored.size()));
  }

  Flow*& flow_;
  std::size_t cap_;
};

}  // namespace

std::string Flow::url() const {
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) return target;
  auto h = authority.empty() ? request_header("Host") : authority;
  return fmt::format("{}://{}{}", scheme, h.empty() ? host : h, target);
}

std::string Flow::request_header(std::string_view name) const { return find_header(request_headers, name); }
std::string Flow::response_header(std::string_view name) const { return find_header(response_headers, name); }

struct HttpObserver::Impl {
  std::string client, host;
  std::size_t cap;
  Sink sink;
  std::deque<Flow> waiting;  // requests sent, responses not finished (pipelining)
  Flow* req_flow = nullptr;  // the flow the request parser fills
  Flow* resp_flow = nullptr;
  std::optional<Parser<true>> req;
  std::optional<Parser<false>> resp;
  std::string req_pending, resp_pending;
  bool active = true;
  std::string why;

  Impl(std::string c, std::string h, std::size_t cap_, Sink s)
      : client(std::move(c)), host(std::move(h)), cap(cap_), sink(std::move(s)) {}

  void stop(std::string reason) {
    if (!active) return;
    active = false;
    why = std::move(reason);
  }

  template <class P>
  static void configure(P& p) {
    p.eager(true);
    p.header_limit(256 * 1024);
    p.body_limit(boost::none);
  }

  void new_request(double now) {
    waiting.emplace_back();
    Flow& f = waiting.back();
    f.client = client;
    f.host = host;
    f.started_ms = now;
    req_flow = &f;
    req.emplace(req_flow, cap);
    configure(*req);
  }

  // feed runs bytes through a parser; returns false when the bytes stopped being HTTP/1.1.
  template <class P>
  bool feed(P& parser, std::string& pending, std::string_view bytes, std::size_t& used_total) {
    pending.append(bytes);
    std::string_view rest = pending;
    used_total = 0;
    while (!rest.empty() && !parser.is_done()) {
      beast::error_code ec;
      auto used = parser.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      used_total += used;
      if (ec == bhttp::error::need_more) break;
      if (ec) return false;
      if (used == 0) break;
    }
    pending = std::string(rest);
    return true;
  }

  void client_bytes(std::string_view bytes, double now) {
    while (active && !bytes.empty()) {
      if (!req) new_request(now);
      std::size_t used = 0;
      bool was_header = req->is_header_done();
      if (!feed(*req, req_pending, bytes, used)) return stop("the client's bytes are not an HTTP/1.1 request");
      if (!was_header && req->is_header_done()) req_flow->request_header_bytes = used;
      bytes = {};
      if (req->is_done()) {
        req_flow->request_done_ms = now;
        if (req_flow->method == "CONNECT" || ascii_lower(req_flow->request_header("Upgrade")) == "websocket") {
          // After the response the connection carries another protocol: watch no further.
        }
        req.reset();
        if (!req_pending.empty()) {
          bytes = req_pending;  // pipelined: the next request starts in what is left
          std::string copy(bytes);
          req_pending.clear();
          client_bytes(copy, now);
          return;
        }
      }
    }
  }

  void server_bytes(std::string_view bytes, double now) {
    while (active && !bytes.empty()) {
      if (!resp) {
        if (waiting.empty()) return stop("the server sent bytes before any request");
        resp_flow = &waiting.front();
        resp.emplace(resp_flow, cap);
        configure(*resp);
        resp->skip(resp_flow->method == "HEAD");
        resp_flow->response_start_ms = now;
      }
      std::size_t used = 0;
      bool was_header = resp->is_header_done();
      if (!feed(*resp, resp_pending, bytes, used)) return stop("the server's bytes are not an HTTP/1.1 response");
      if (!was_header && resp->is_header_done()) {
        resp_flow->response_header_bytes = used;
        if (resp_flow->status == 101 || (resp_flow->method == "CONNECT" && resp_flow->status / 100 == 2)) {
          finish(now, true);
          return stop(resp_flow ? "switched protocols" : "switched protocols (upgrade)");
        }
        if (resp_flow->status / 100 == 1) {  // 100 Continue: the real response follows
          resp_flow->response_headers.clear();
          resp.emplace(resp_flow, cap);
          configure(*resp);
        }
      }
      bytes = {};
      if (resp && resp->is_done()) {
        finish(now, true);
        if (!resp_pending.empty()) {
          std::string copy = std::move(resp_pending);
          resp_pending.clear();
          server_bytes(copy, now);
          return;
        }
      }
    }
  }

  void finish(double now, bool complete) {
    if (waiting.empty()) return;
    Flow f = std::move(waiting.front());
    waiting.pop_front();
    f.response_done_ms = now;
    f.complete = complete;
    if (!complete && f.status / 100 == 1 && f.status != 101) {  // only an interim answer (100 Continue) came
      f.error = fmt::format("the connection ended after {} {}, before a response", f.status, f.reason);
      f.status = 0;
      f.reason.clear();
      f.response_start_ms = 0;
    }
    if (!complete && f.error.empty())
      f.error = f.request_done_ms == 0 ? "the connection ended before the request was complete"
                : f.status == 0        ? "the connection ended before a response"
                                       : "the connection ended before the response was complete";
    resp.reset();
    resp_flow = nullptr;
    if (waiting.empty() && req) {
      // The request parser points into the deque element we moved: none is left, so restart.
      req.reset();
    }
    sink(std::move(f));
  }

  void closed(double now) {
    if (resp && resp_flow) {
      beast::error_code ec = bhttp::error::partial_message;
      // A body delimited by the end of the connection ends here. (A parser that got nothing yet,
      // the one after a 100 Continue, has no message to end: Beast asserts on that.)
      if (resp->got_some()) ec = {}, resp->put_eof(ec);
      finish(now, !ec);
    }
    while (!waiting.empty()) {
      if (waiting.front().method.empty()) {
        waiting.pop_front();
        continue;
      }
      finish(now, false);
    }
  }
};

HttpObserver::HttpObserver(std::string client, std::string host, std::size_t body_cap, Sink on_flow)
    : impl_(std::make_unique<Impl>(std::move(client), std::move(host), body_cap, std::move(on_flow))) {}
HttpObserver::~HttpObserver() = default;
void HttpObserver::client_bytes(std::string_view bytes, double now_ms) { impl_->client_bytes(bytes, now_ms); }
void HttpObserver::server_bytes(std::string_view bytes, double now_ms) { impl_->server_bytes(bytes, now_ms); }
void HttpObserver::closed(double now_ms) { impl_->closed(now_ms); }
bool HttpObserver::active() const { return impl_->active; }
const std::string& HttpObserver::why() const { return impl_->why; }

}  // namespace tlslab::proxy
