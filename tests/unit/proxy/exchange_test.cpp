// proxy::Exchange playbooks: a fake client and a fake server — http::H2Session instances for
// HTTP/2, Beast parsers over raw bytes for HTTP/1.1 — wired to the Exchange by a small driver that
// does what the executor does (read while wants_*_data, take output only once the last write was
// read), without sockets.
#include "proxy/exchange.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "http/h2_session.hpp"
#include "proxy/translate.hpp"

namespace tlslab::proxy {
namespace {

namespace bhttp = boost::beast::http;
using http::H2Fields;
using http::H2Session;
using ::testing::HasSubstr;

constexpr std::uint32_t kCancel = 8, kRefusedStream = 7;

char pattern(std::uint64_t i) { return static_cast<char>((i * 2654435761u) >> 13 ^ i); }
std::string pattern_bytes(std::uint64_t from, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = pattern(from + i);
  return s;
}
[[maybe_unused]] bool is_pattern(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] != pattern(i)) return false;
  return true;
}

std::string field(const H2Fields& fields, std::string_view name) {
  for (const auto& f : fields)
    if (f.name == name) return f.value;
  return {};
}

// Peer is what sits at the far end of a leg.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual void receive(std::string_view bytes) = 0;  // from the exchange
  virtual bool produce(std::string& out) = 0;        // to the exchange
  virtual void tick() {}
};

// ---- HTTP/2 peers -------------------------------------------------------------------------------

struct H2Stream {
  H2Fields head;
  std::vector<H2Fields> interim;
  std::string data;
  std::uint64_t data_bytes = 0;
  bool data_is_pattern = true;
  H2Fields trailers;
  bool end = false, closed = false, reset_by_peer = false;
  std::uint32_t code = 0;
  std::size_t unconsumed = 0;
  // What this end still sends on the stream: a pattern body of `to_send` bytes, then the end.
  std::uint64_t to_send = 0, sent = 0;
  bool sending = false;
  H2Fields send_trailers;
};

class H2Peer : public Peer, public http::H2Listener {
 public:
  H2Peer(H2Session::Role role, http::H2Settings s = {}) : session(role, *this, s) {}

  void receive(std::string_view bytes) override { ok = session.receive(bytes) && ok; }
  bool produce(std::string& out) override {
    tick();
    return session.take_output(out, 64 * 1024);
  }
  void tick() override {
    for (auto& [id, s] : streams) {
      auto n = std::min<std::size_t>(s.unconsumed, read_rate);
      if (n) {
        session.consume(id, n);
        s.unconsumed -= n;
      }
      if (s.sending && !s.closed) {
        while (s.sent < s.to_send && session.queued(id) < 64 * 1024) {
          auto k = std::min<std::uint64_t>(16 * 1024, s.to_send - s.sent);
          session.send_data(id, pattern_bytes(s.sent, k));
          s.sent += k;
        }
        if (s.sent == s.to_send) {
          s.sending = false;
          if (s.send_trailers.empty())
            session.end_stream(id);
          else
            session.send_trailers(id, s.send_trailers);
        }
      }
    }
  }

  // Client role: a request with a pattern body of body bytes (none: end with the head).
  std::int32_t request(H2Fields fields, std::uint64_t body = 0, H2Fields trailers = {}) {
    bool end = body == 0 && trailers.empty();
    auto id = session.submit_request(fields, end);
    auto& s = streams[id];
    s.to_send = body;
    s.sending = !end;
    s.send_trailers = std::move(trailers);
    return id;
  }
  // Server role: a response.
  void respond(std::int32_t id, H2Fields fields, std::uint64_t body = 0, H2Fields trailers = {}) {
    bool end = body == 0 && trailers.empty();
    session.submit_response(id, fields, end);
    auto& s = streams[id];
    s.to_send = body;
    s.sending = !end;
    s.send_trailers = std::move(trailers);
  }

  void on_headers(std::int32_t id, H2Fields fields, bool end_stream) override {
    auto& s = streams[id];
    auto status = field(fields, ":status");
    if (!status.empty() && status[0] == '1') {
      s.interim.push_back(std::move(fields));
      return;
    }
    s.head = std::move(fields);
    if (end_stream) s.end = true;
    if (on_head) on_head(*this, id);
    if (end_stream && on_end) on_end(*this, id);
  }
  void on_trailers(std::int32_t id, H2Fields fields) override {
    auto& s = streams[id];
    s.trailers = std::move(fields);
    s.end = true;
    if (on_end) on_end(*this, id);
  }
  void on_data(std::int32_t id, std::string_view bytes) override {
    auto& s = streams[id];
    for (std::size_t i = 0; i < bytes.size() && s.data_is_pattern; ++i)
      if (bytes[i] != pattern(s.data_bytes + i)) s.data_is_pattern = false;
    s.data_bytes += bytes.size();
    if (s.data.size() < keep) s.data.append(bytes.substr(0, keep - s.data.size()));
    s.unconsumed += bytes.size();
    if (read_rate == SIZE_MAX) tick();
  }
  void on_end_stream(std::int32_t id) override {
    streams[id].end = true;
    if (on_end) on_end(*this, id);
  }
  void on_stream_closed(std::int32_t id, std::uint32_t code, bool by_peer) override {
    auto& s = streams[id];
    s.closed = true;
    s.code = code;
    s.reset_by_peer = by_peer;
  }
  void on_goaway(std::int32_t last, std::uint32_t code) override { goaway = std::pair(last, code); }

  H2Session session;
  std::map<std::int32_t, H2Stream> streams;
  std::size_t read_rate = SIZE_MAX;  // body bytes consumed per round: the window reopens that slowly
  std::size_t keep = 1 << 20;        // body bytes kept per stream
  std::function<void(H2Peer&, std::int32_t)> on_head, on_end;
  std::optional<std::pair<std::int32_t, std::uint32_t>> goaway;
  bool ok = true;
};

[[maybe_unused]] H2Fields get(std::string path, std::string method = "GET") {
  return {{":method", method}, {":scheme", "https"}, {":authority", "www.bank32.com"}, {":path", path}};
}

// ---- HTTP/1.1 peers -----------------------------------------------------------------------------

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// A server answering each request with the bytes its handler returns ("" : no answer yet).
class H1Server : public Peer {
 public:
  using Handler = std::function<std::string(const Request&)>;
  explicit H1Server(Handler h) : handler(std::move(h)) {}
  void receive(std::string_view bytes) override {
    in.append(bytes);
    while (!in.empty()) {
      if (!parser) {
        parser.emplace();
        parser->body_limit(boost::none);
        parser->eager(true);
      }
      boost::beast::error_code ec;
      auto used = parser->put(boost::asio::buffer(in.data(), in.size()), ec);
      in.erase(0, used);
      if (ec == bhttp::error::need_more) break;
      ASSERT_FALSE(ec) << ec.message();
      if (!parser->is_done()) break;
      requests.push_back(parser->release());
      parser.reset();
      out += handler(requests.back());
    }
  }
  bool produce(std::string& o) override {
    if (out.empty()) return false;
    o.append(out);
    out.clear();
    return true;
  }
  Handler handler;
  std::vector<Request> requests;
  std::string in, out;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
};

// A client sending raw bytes and reading the responses (methods: to know a HEAD's has no body).
class H1Client : public Peer {
 public:
  void send(std::string bytes, std::string method = "GET") {
    out += bytes;
    methods.push_back(std::move(method));
  }
  void receive(std::string_view bytes) override {
    raw.append(bytes);
    in.append(bytes);
    while (!in.empty() && !methods.empty()) {
      if (!parser) {
        parser.emplace();
        parser->body_limit(boost::none);
        parser->eager(true);
        parser->skip(methods.front() == "HEAD");
      }
      boost::beast::error_code ec;
      auto used = parser->put(boost::asio::buffer(in.data(), in.size()), ec);
      in.erase(0, used);
      if (ec == bhttp::error::need_more) break;
      ASSERT_FALSE(ec) << ec.message();
      if (!parser->is_done()) break;
      auto r = parser->release();
      parser.reset();
      if (r.result_int() / 100 == 1) {
        interim.push_back(std::move(r));
        continue;
      }
      responses.push_back(std::move(r));
      methods.pop_front();
    }
  }
  bool produce(std::string& o) override {
    if (out.empty()) return false;
    auto n = std::min<std::size_t>(out.size(), 256 * 1024);
    o.append(out, 0, n);
    out.erase(0, n);
    return true;
  }
  std::string out, in, raw;
  std::deque<std::string> methods;
  std::vector<Response> responses, interim;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
};

// ---- the driver ---------------------------------------------------------------------------------

// One direction of one connection: what was written and not yet read.
struct Wire {
  std::string bytes;
  std::size_t off = 0;
  [[nodiscard]] std::size_t left() const { return bytes.size() - off; }
  std::string_view read(std::size_t max) {
    auto n = std::min(max, left());
    std::string_view v(bytes.data() + off, n);
    off += n;
    return v;
  }
  void compact() {
    if (off == bytes.size()) bytes.clear(), off = 0;
  }
};

struct Driver {
  Driver(HttpProtocol c, HttpProtocol u, Peer& client_peer, Peer& server_peer, ExchangeOptions o = defaults())
      : x(c, u, o, [this](Flow&& f) { flows.push_back(std::move(f)); }), client(client_peer), server(server_peer) {}

  static ExchangeOptions defaults() {
    ExchangeOptions o;
    o.client = "127.0.0.1:50312";
    o.host = "www.bank32.com";
    return o;
  }

  // run moves bytes until nothing moves. Reads from the exchange's legs are at most *_rate bytes
  // per round (a slow reader); the exchange's output is taken only once the last was read (as the
  // executor waits for its write).
  void run(int max_rounds = 1000000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool moved = false;
      now += 1;
      // peers -> exchange
      moved |= feed(client, to_x_client, true);
      moved |= feed(server, to_x_upstream, false);
      // exchange -> peers
      moved |= deliver(true);
      moved |= deliver(false);
      client.tick();
      server.tick();
      max_buffered = std::max(max_buffered, x.buffered());
      if (!moved && ++idle > 3) return;
      if (moved) idle = 0;
    }
    ADD_FAILURE() << "the exchange did not settle";
  }

  bool feed(Peer& peer, Wire& wire, bool client_side) {
    if (wire.left() == 0) {
      wire.compact();
      peer.produce(wire.bytes);
    }
    bool moved = false;
    while (wire.left() && (client_side ? x.wants_client_data() : x.wants_upstream_data())) {
      auto chunk = wire.read(16 * 1024);
      if (client_side)
        x.client_data(chunk, now);
      else
        x.upstream_data(chunk, now);
      moved = true;
    }
    return moved;
  }

  bool deliver(bool client_side) {
    Wire& w = client_side ? from_x_client : from_x_upstream;
    bool moved = false;
    if (w.left() == 0) {
      w.compact();
      if (client_side ? x.take_client_output(w.bytes) : x.take_upstream_output(w.bytes)) {
        max_write = std::max(max_write, w.left());
        moved = true;
      }
    }
    if (w.left()) {
      auto chunk = w.read(client_side ? client_rate : upstream_rate);
      (client_side ? client : server).receive(chunk);
      moved = true;
    }
    return moved;
  }

  Exchange x;
  Peer& client;
  Peer& server;
  std::vector<Flow> flows;
  Wire to_x_client, to_x_upstream, from_x_client, from_x_upstream;
  std::size_t client_rate = SIZE_MAX, upstream_rate = SIZE_MAX;
  std::size_t max_buffered = 0, max_write = 0;
  double now = 1000;
  int idle = 0;
};

std::string ok_response(std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

void expect_times(const Flow& f) {
  EXPECT_GT(f.started_ms, 0);
  for (double t : {f.request_done_ms, f.response_start_ms, f.response_done_ms})
    EXPECT_TRUE(t == 0 || t >= f.started_ms);
  if (f.response_done_ms) {
    EXPECT_GE(f.response_done_ms, f.response_start_ms);
  }
}

// ---- translation --------------------------------------------------------------------------------

TEST(Translate, StripHopByHop) {
  Headers h = {{"Connection", "keep-alive, X-Private"},
               {"Keep-Alive", "timeout=5"},
               {"X-Private", "1"},
               {"TE", "trailers, deflate"},
               {"Transfer-Encoding", "chunked"},
               {"Upgrade", "h2c"},
               {"Proxy-Connection", "x"},
               {"Accept", "*/*"}};
  EXPECT_TRUE(strip_hop_by_hop(h));
  EXPECT_EQ(h, (Headers{{"Accept", "*/*"}}));
}

TEST(Translate, H2RequestToH1JoinsCookiesAndKeepsTeTrailers) {
  HttpHead head;
  std::string why;
  ASSERT_TRUE(head_from_h2({{":method", "POST"},
                            {":scheme", "https"},
                            {":authority", "a.example"},
                            {":path", "/x"},
                            {"cookie", "a=1"},
                            {"te", "trailers"},
                            {"cookie", "b=2"}},
                           true, head, why))
      << why;
  Framing framing;
  auto wire = h1_request_head(head, true, "fallback", framing);
  EXPECT_EQ(wire,
            "POST /x HTTP/1.1\r\nHost: a.example\r\nCookie: a=1; b=2\r\nTE: trailers\r\nConnection: TE\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(framing, Framing::Chunked);
  EXPECT_FALSE(
      head_from_h2({{":method", "GET"}, {":path", "/"}, {":scheme", "https"}, {"connection", "x"}}, true, head, why));
  EXPECT_FALSE(head_from_h2({{":method", "CONNECT"}, {":protocol", "websocket"}, {":path", "/"}}, true, head, why));
  EXPECT_THAT(why, HasSubstr("RFC 8441"));
}

TEST(Translate, H1ResponseToH2) {
  HttpHead head;
  head.status = 200;
  head.fields = {{"Content-Type", "text/html"}, {"Connection", "close"}, {"Transfer-Encoding", "chunked"}};
  EXPECT_EQ(h2_response_block(head), (H2Fields{{":status", "200"}, {"content-type", "text/html"}}));
}

TEST(Translate, HttpProtocol) {
  HttpProtocol p;
  EXPECT_TRUE(http_protocol("h2", p));
  EXPECT_EQ(p, HttpProtocol::Http2);
  EXPECT_TRUE(http_protocol("", p));
  EXPECT_EQ(p, HttpProtocol::Http1);
  EXPECT_TRUE(http_protocol("http/1.1", p));
  EXPECT_FALSE(http_protocol("imap", p));
}

// ---- HTTP/1.1 client, HTTP/1.1 server -----------------------------------------------------------

TEST(Exchange, H1ToH1GetAndPost) {
  H1Client c;
  H1Server s([](const Request& r) { return ok_response("got " + std::string(r.target()) + " " + r.body()); });
  Driver d(HttpProtocol::Http1, HttpProtocol::Http1, c, s);
  c.send("GET /a HTTP/1.1\r\nHost: www.bank32.com\r\nConnection: keep-alive\r\n\r\n");
  c.send("POST /login HTTP/1.1\r\nHost: www.bank32.com\r\nContent-Length: 5\r\n\r\nhello", "POST");
  d.run();
  ASSERT_EQ(c.responses.size(), 2u);
  EXPECT_EQ(c.responses[0].body(), "got /a ");
  EXPECT_EQ(c.responses[1].body(), "got /login hello");
  ASSERT_EQ(s.requests.size(), 2u);
  EXPECT_EQ(s.requests[0][bhttp::field::connection], "");  // hop-by-hop dropped
  ASSERT_EQ(d.flows.size(), 2u);
  const Flow& f = d.flows[1];
  EXPECT_EQ(f.method, "POST");
  EXPECT_EQ(f.target, "/login");
  EXPECT_EQ(f.http_version, "HTTP/1.1");
  EXPECT_EQ(f.request_body, "hello");
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.response_body, "got /login hello");
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(f.url(), "https://www.bank32.com/login");
  expect_times(f);
  EXPECT_FALSE(d.x.client_done());
}

TEST(Exchange, H1ChunkedRequestWithTrailersAndHttp10Close) {
  H1Client c;
  H1Server s([](const Request& r) { return ok_response(r.body()); });
  Driver d(HttpProtocol::Http1, HttpProtocol::Http1, c, s);
  c.send(
      "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n",
      "POST");
  c.send("GET /last HTTP/1.0\r\nHost: x\r\n\r\n");
  d.run();
  ASSERT_EQ(c.responses.size(), 2u);
  EXPECT_EQ(c.responses[0].body(), "abcde");
  EXPECT_EQ(c.responses[1][bhttp::field::connection], "close");
  ASSERT_EQ(d.flows.size(), 2u);
  EXPECT_EQ(d.flows[0].request_trailers, (Headers{{"X-Sum", "9"}}));
  EXPECT_EQ(d.flows[1].http_version, "HTTP/1.0");
  EXPECT_TRUE(d.x.client_done());  // HTTP/1.0 without keep-alive: closed after the response
}

TEST(Exchange, H1HeadNoContentNotModifiedHaveNoBody) {
  H1Client c;
  H1Server s([](const Request& r) -> std::string {
    if (r.target() == "/head") return "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    if (r.target() == "/204") return "HTTP/1.1 204 No Content\r\n\r\n";
    return "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n";
  });
  Driver d(HttpProtocol::Http1, HttpProtocol::Http1, c, s);
  c.send("HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD");
  c.send("GET /204 HTTP/1.1\r\nHost: x\r\n\r\n");
  c.send("GET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
  d.run();
  ASSERT_EQ(c.responses.size(), 3u);
  EXPECT_EQ(c.responses[0][bhttp::field::content_length], "1000");
  EXPECT_EQ(c.responses[1].result_int(), 204);
  EXPECT_EQ(c.responses[2].result_int(), 304);
  ASSERT_EQ(d.flows.size(), 3u);
  for (const auto& f : d.flows) {
    EXPECT_TRUE(f.complete);
    EXPECT_EQ(f.response_body_bytes, 0u);
  }
}

TEST(Exchange, H1ExpectContinueIsRelayed) {
  H1Client c;
  bool continued = false;
  H1Server s([&](const Request& r) { return ok_response(r.body()); });
  Driver d(HttpProtocol::Http1, HttpProtocol::Http1, c, s);
  c.send("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", "PUT");
  d.run();
  // The server saw the head and answers 100 Continue; the client then sends its body.
  ASSERT_TRUE(s.parser.has_value());
  s.out += "HTTP/1.1 100 Continue\r\n\r\n";
  d.run();
  ASSERT_EQ(c.interim.size(), 1u);
  continued = true;
  c.out += "data";
  d.run();
  ASSERT_EQ(c.responses.size(), 1u);
  EXPECT_EQ(c.responses[0].body(), "data");
  EXPECT_TRUE(continued);
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].status, 200);
}

TEST(Exchange, H1UpstreamClosesWithoutAnswer) {
  H1Client c;
  H1Server s([](const Request&) { return std::string(); });
  Driver d(HttpProtocol::Http1, HttpProtocol::Http1, c, s);
  c.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  d.run();
  d.x.upstream_closed(true, d.now);
  d.run();
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].status, 0);
  EXPECT_FALSE(d.flows[0].complete);
  EXPECT_THAT(d.flows[0].error, HasSubstr("before responding"));
  expect_times(d.flows[0]);
  ASSERT_EQ(c.responses.size(), 1u);
  EXPECT_EQ(c.responses[0].result_int(), 502);
  EXPECT_TRUE(d.x.finished());
}

}  // namespace
}  // namespace tlslab::proxy
