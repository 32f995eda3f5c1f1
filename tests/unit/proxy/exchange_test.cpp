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
bool is_pattern(std::string_view s) {
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

H2Fields get(std::string path, std::string method = "GET") {
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
  void run() {
    if (!rounds(1000000)) ADD_FAILURE() << "the exchange did not settle";
  }
  // rounds runs at most n rounds: true if nothing moves any more.
  bool rounds(int n) {
    for (int round = 0; round < n; ++round) {
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
      if (!moved && ++idle > 3) return true;
      if (moved) idle = 0;
    }
    return false;
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

// ---- HTTP/2 ------------------------------------------------------------------------------------

// A server answering each request once it ended: 200 with "echo <path> <body bytes>".
void echo_server(H2Peer& s) {
  s.on_end = [](H2Peer& p, std::int32_t id) {
    auto& st = p.streams[id];
    if (!st.head.empty() && st.to_send == 0 && !st.sending) {
      auto body = "echo " + field(st.head, ":path") + " " + std::to_string(st.data_bytes);
      p.session.submit_response(id, {{":status", "200"}, {"content-length", std::to_string(body.size())}}, false);
      p.session.send_data(id, body);
      p.session.end_stream(id);
    }
  };
}

std::string echo_h1(const Request& r) {
  return ok_response("echo " + std::string(r.target()) + " " + std::to_string(r.body().size()));
}

TEST(Exchange, H2ToH2GetAndPostWithFlows) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  echo_server(s);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto g = c.request(get("/a?x=1"));
  auto p = c.request(get("/login", "POST"), 5000);
  d.run();
  ASSERT_TRUE(c.streams[g].end);
  EXPECT_EQ(c.streams[g].data, "echo /a?x=1 0");
  EXPECT_EQ(c.streams[p].data, "echo /login 5000");
  ASSERT_EQ(d.flows.size(), 2u);
  for (const Flow& f : d.flows) {
    EXPECT_EQ(f.http_version, "HTTP/2.0");
    EXPECT_EQ(f.response_version, "HTTP/2.0");
    EXPECT_EQ(f.authority, "www.bank32.com");
    EXPECT_EQ(f.status, 200);
    EXPECT_TRUE(f.complete);
    EXPECT_EQ(f.error, "");
    EXPECT_TRUE(f.request_headers.empty());  // pseudo-headers go to their fields
    EXPECT_EQ(f.response_header("content-length"), std::to_string(f.response_body.size()));
    expect_times(f);
  }
  const Flow& post = d.flows[0].method == "POST" ? d.flows[0] : d.flows[1];
  EXPECT_EQ(post.stream_id, p);
  EXPECT_EQ(post.target, "/login");
  EXPECT_EQ(post.request_body_bytes, 5000u);
  EXPECT_TRUE(is_pattern(post.request_body));
  EXPECT_EQ(post.url(), "https://www.bank32.com/login");
}

TEST(Exchange, H2ServerAnsweringBeforeTheBodyStillRecordsWhatTheClientSent) {
  // nginx answers `return 200` on the request's head and resets the rest with NO_ERROR (RFC 9113
  // §8.1). The client gets the whole response and may finish its request: the flow keeps the body
  // bytes it sent after the answer (the password of a form comes there) and goes out once.
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  s.on_head = [](H2Peer& p, std::int32_t id) {
    p.session.submit_response(id, {{":status", "200"}, {"content-length", "8"}}, false);
    p.session.send_data(id, "welcome\n");
    p.session.end_stream(id);
    p.session.reset(id, 0);
  };
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto id = c.request(get("/login", "POST"), 200 * 1024);
  d.run();
  EXPECT_EQ(c.streams[id].data, "welcome\n");
  EXPECT_TRUE(c.streams[id].end);
  EXPECT_TRUE(c.streams[id].closed);
  EXPECT_EQ(c.streams[id].code, 0u);
  EXPECT_EQ(c.streams[id].sent, 200u * 1024);
  ASSERT_EQ(d.flows.size(), 1u);
  const Flow& f = d.flows[0];
  EXPECT_TRUE(f.complete);
  EXPECT_EQ(f.error, "");
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.response_body, "welcome\n");
  EXPECT_EQ(f.request_body_bytes, 200u * 1024);  // the whole body, though the server took less
  EXPECT_LT(s.streams[id].data_bytes, 200u * 1024);
  EXPECT_TRUE(is_pattern(f.request_body));
}

TEST(Exchange, H2ToH2ManyConcurrentStreams) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  echo_server(s);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 60; ++i) ids.push_back(c.request(get("/s" + std::to_string(i), "PUT"), 1000 + i * 100));
  d.run();
  for (int i = 0; i < 60; ++i) {
    auto& st = c.streams[ids[i]];
    EXPECT_TRUE(st.end) << i;
    EXPECT_EQ(st.data, "echo /s" + std::to_string(i) + " " + std::to_string(1000 + i * 100));
  }
  EXPECT_EQ(d.flows.size(), 60u);
}

TEST(Exchange, H2ToH1QueuesStreamsInOrder) {
  H2Peer c(H2Session::Role::Client);
  H1Server s(echo_h1);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(i % 2 ? c.request(get("/q" + std::to_string(i), "POST"), 70000)
                        : c.request(get("/q" + std::to_string(i))));
  d.run();
  ASSERT_EQ(s.requests.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(s.requests[i].target(), "/q" + std::to_string(i));
    EXPECT_EQ(s.requests[i][bhttp::field::host], "www.bank32.com");
    EXPECT_EQ(c.streams[ids[i]].data, "echo /q" + std::to_string(i) + " " + std::to_string(i % 2 ? 70000 : 0));
  }
  ASSERT_EQ(d.flows.size(), 20u);
  EXPECT_EQ(d.flows[3].response_version, "HTTP/1.1");
  EXPECT_EQ(d.flows[3].http_version, "HTTP/2.0");
  EXPECT_EQ(d.flows[3].stream_id, ids[3]);
}

TEST(Exchange, H1ToH2GetAndPost) {
  H1Client c;
  H2Peer s(H2Session::Role::Server);
  echo_server(s);
  Driver d(HttpProtocol::Http1, HttpProtocol::Http2, c, s);
  c.send("GET /a HTTP/1.1\r\nHost: www.bank32.com\r\nCookie: a=1\r\nConnection: keep-alive\r\n\r\n");
  c.send("POST /p HTTP/1.1\r\nHost: www.bank32.com\r\nContent-Length: 3\r\n\r\nabc", "POST");
  d.run();
  ASSERT_EQ(c.responses.size(), 2u);
  EXPECT_EQ(c.responses[0].body(), "echo /a 0");
  EXPECT_EQ(c.responses[1].body(), "echo /p 3");
  auto& first = s.streams.begin()->second;
  EXPECT_EQ(field(first.head, ":authority"), "www.bank32.com");
  EXPECT_EQ(field(first.head, "connection"), "");
  EXPECT_EQ(field(first.head, "host"), "");
  EXPECT_EQ(field(first.head, "cookie"), "a=1");
  ASSERT_EQ(d.flows.size(), 2u);
  EXPECT_EQ(d.flows[0].http_version, "HTTP/1.1");
  EXPECT_EQ(d.flows[0].response_version, "HTTP/2.0");
  EXPECT_EQ(d.flows[1].request_body, "abc");
}

// ---- 64 MB through each combination with a slow reader ------------------------------------------

constexpr std::uint64_t kBig = 64ull << 20;

void expect_bounded(const Driver& d) {
  // leg_buffer (1 MiB) per leg plus the windows an HTTP/2 sender was given (1 MiB per stream).
  EXPECT_LT(d.max_buffered, 4u << 20);
  EXPECT_LT(d.max_write, 2u << 20);
}

TEST(Exchange, BigUploadH1ToH1SlowServer) {
  H1Client c;
  H1Server s(echo_h1);
  Driver d(HttpProtocol::Http1, HttpProtocol::Http1, c, s);
  d.upstream_rate = 64 * 1024;
  c.send(
      "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kBig) + "\r\n\r\n" + pattern_bytes(0, kBig),
      "POST");
  d.run();
  ASSERT_EQ(s.requests.size(), 1u);
  EXPECT_TRUE(is_pattern(s.requests[0].body()));
  ASSERT_EQ(c.responses.size(), 1u);
  EXPECT_EQ(c.responses[0].body(), "echo /big " + std::to_string(kBig));
  expect_bounded(d);
}

TEST(Exchange, BigDownloadH2ToH2SlowClient) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  s.on_end = [](H2Peer& p, std::int32_t id) { p.respond(id, {{":status", "200"}}, kBig); };
  c.read_rate = 64 * 1024;
  c.keep = 0;
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto id = c.request(get("/big"));
  d.run();
  auto& st = c.streams[id];
  EXPECT_TRUE(st.end);
  EXPECT_EQ(st.data_bytes, kBig);
  EXPECT_TRUE(st.data_is_pattern);
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].response_body_bytes, kBig);
  EXPECT_EQ(d.flows[0].response_body.size(), Driver::defaults().body_cap);
  expect_bounded(d);
}

TEST(Exchange, ServerStreamsEndingBeforeTheSlowClientTakesThemAreNotCut) {
  // The server sends whole responses at once (its windows allow them) and its streams close while
  // the client is still reading: each response must still reach the client whole.
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  s.on_end = [](H2Peer& p, std::int32_t id) { p.respond(id, {{":status", "200"}}, 200 * 1024); };
  c.read_rate = 16 * 1024;
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(c.request(get("/d" + std::to_string(i))));
  d.run();
  for (auto id : ids) {
    EXPECT_TRUE(c.streams[id].end) << id;
    EXPECT_EQ(c.streams[id].data_bytes, 200u * 1024) << id;
    EXPECT_EQ(c.streams[id].code, 0u) << id;
  }
  ASSERT_EQ(d.flows.size(), 40u);
  for (const auto& f : d.flows) EXPECT_TRUE(f.complete) << f.target << " " << f.error;
}

TEST(Exchange, BigUploadH2ToH1SlowServer) {
  H2Peer c(H2Session::Role::Client);
  H1Server s(echo_h1);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  d.upstream_rate = 64 * 1024;
  auto id = c.request(get("/big", "POST"), kBig);
  d.run();
  ASSERT_EQ(s.requests.size(), 1u);
  EXPECT_EQ(s.requests[0].body().size(), kBig);
  EXPECT_TRUE(is_pattern(s.requests[0].body()));
  EXPECT_EQ(c.streams[id].data, "echo /big " + std::to_string(kBig));
  expect_bounded(d);
}

TEST(Exchange, BigDownloadH1ToH2SlowClient) {
  H1Client c;
  H2Peer s(H2Session::Role::Server);
  s.on_end = [](H2Peer& p, std::int32_t id) { p.respond(id, {{":status", "200"}}, kBig); };
  Driver d(HttpProtocol::Http1, HttpProtocol::Http2, c, s);
  d.client_rate = 64 * 1024;
  c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  d.run();
  ASSERT_EQ(c.responses.size(), 1u);
  EXPECT_EQ(c.responses[0].body().size(), kBig);
  EXPECT_TRUE(is_pattern(c.responses[0].body()));  // chunked on the way: no Content-Length from the server
  expect_bounded(d);
}

// ---- resets, GOAWAY, closes ---------------------------------------------------------------------

TEST(Exchange, H2ClientResetsMidUpload) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto id = c.request(get("/up", "POST"), 10u << 20);
  d.upstream_rate = 16 * 1024;
  (void)d.rounds(50);
  ASSERT_FALSE(s.streams.empty());
  c.streams[id].sending = false;
  c.session.reset(id, kCancel);
  d.upstream_rate = SIZE_MAX;
  d.run();
  auto& up = s.streams.begin()->second;
  EXPECT_TRUE(up.closed);
  EXPECT_EQ(up.code, kCancel);
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].error, "stream reset by the client (CANCEL)");
  EXPECT_EQ(d.flows[0].status, 0);
  EXPECT_FALSE(d.flows[0].complete);
  EXPECT_GT(d.flows[0].request_body_bytes, 0u);
  expect_times(d.flows[0]);
}

TEST(Exchange, H2ServerResetsMidDownload) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  s.on_end = [](H2Peer& p, std::int32_t id) { p.respond(id, {{":status", "200"}}, 10u << 20); };
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  d.client_rate = 16 * 1024;
  auto id = c.request(get("/down"));
  (void)d.rounds(50);
  auto sid = s.streams.begin()->first;
  s.streams[sid].sending = false;
  s.session.reset(sid, 2);  // INTERNAL_ERROR
  d.client_rate = SIZE_MAX;
  d.run();
  EXPECT_TRUE(c.streams[id].closed);
  EXPECT_EQ(c.streams[id].code, 2u);
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].error, "stream reset by the server (INTERNAL_ERROR)");
  EXPECT_EQ(d.flows[0].status, 200);
  EXPECT_FALSE(d.flows[0].complete);
}

TEST(Exchange, H2ClientResetOverH1UpstreamClosesIt) {
  H2Peer c(H2Session::Role::Client);
  H1Server s([](const Request&) { return std::string(); });
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  d.upstream_rate = 16 * 1024;
  auto id = c.request(get("/up", "POST"), 10u << 20);
  (void)d.rounds(50);
  c.streams[id].sending = false;
  c.session.reset(id, kCancel);
  d.run();
  EXPECT_TRUE(d.x.upstream_done());  // a half-sent HTTP/1.1 request cannot be cancelled
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].error, "stream reset by the client (CANCEL)");
}

TEST(Exchange, UpstreamGoawayRefusesUnprocessedStreams) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto first = c.request(get("/one"));
  d.run();
  ASSERT_EQ(s.streams.size(), 1u);
  s.session.goaway(0);                   // last processed: the first stream
  auto second = c.request(get("/two"));  // reaches the proxy as the GOAWAY does
  d.run();
  s.respond(s.streams.begin()->first, {{":status", "200"}}, 10);
  d.run();
  EXPECT_TRUE(c.streams[first].end);
  EXPECT_EQ(c.streams[first].data_bytes, 10u);
  EXPECT_TRUE(c.streams[second].closed);
  EXPECT_EQ(c.streams[second].code, kRefusedStream);
  ASSERT_TRUE(c.goaway.has_value());
  EXPECT_EQ(c.goaway->second, 0u);
  ASSERT_EQ(d.flows.size(), 2u);
  EXPECT_TRUE(d.x.finished());
}

TEST(Exchange, H2ClientUpstreamClosesWithoutAnswer) {
  H2Peer c(H2Session::Role::Client);
  H1Server s([](const Request&) { return std::string(); });
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  auto id = c.request(get("/never"));
  d.run();
  d.x.upstream_closed(false, d.now);
  d.run();
  EXPECT_EQ(field(c.streams[id].head, ":status"), "502");
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].status, 0);
  EXPECT_FALSE(d.flows[0].complete);
  EXPECT_EQ(d.flows[0].response_start_ms, 0);
  EXPECT_THAT(d.flows[0].error, HasSubstr("before responding"));
}

// ---- trailers, 1xx, bodiless responses, extended CONNECT ----------------------------------------

TEST(Exchange, GrpcTrailersBothWaysH2ToH2) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  s.on_end = [](H2Peer& p, std::int32_t id) {
    p.respond(id, {{":status", "200"}, {"content-type", "application/grpc"}}, 100, {{"grpc-status", "0"}});
  };
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto h = get("/pkg.Svc/Call", "POST");
  h.push_back({"te", "trailers"});
  auto id = c.request(h, 50, {{"x-request-sum", "7"}});
  d.run();
  auto& up = s.streams.begin()->second;
  EXPECT_EQ(field(up.head, "te"), "trailers");
  EXPECT_EQ(up.trailers, (H2Fields{{"x-request-sum", "7"}}));
  EXPECT_EQ(c.streams[id].trailers, (H2Fields{{"grpc-status", "0"}}));
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].request_trailers, (Headers{{"x-request-sum", "7"}}));
  EXPECT_EQ(d.flows[0].response_trailers, (Headers{{"grpc-status", "0"}}));
  EXPECT_TRUE(d.flows[0].complete);
}

TEST(Exchange, TrailersH2ClientH1Server) {
  H2Peer c(H2Session::Role::Client);
  H1Server s([](const Request& r) {
    EXPECT_EQ(r.body().size(), 10u);  // chunk size "a"
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n" + r.body() + "\r\n0\r\nX-Checksum: 42\r\n\r\n";
  });
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  auto id = c.request(get("/t", "POST"), 10, {{"x-req", "1"}});
  d.run();
  ASSERT_EQ(s.requests.size(), 1u);
  EXPECT_EQ(s.requests[0][bhttp::field::transfer_encoding], "chunked");  // no Content-Length: chunked
  EXPECT_EQ(c.streams[id].data_bytes, 10u);
  EXPECT_EQ(c.streams[id].trailers, (H2Fields{{"x-checksum", "42"}}));
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_EQ(d.flows[0].response_trailers, (Headers{{"X-Checksum", "42"}}));
  EXPECT_EQ(d.flows[0].request_trailers, (Headers{{"x-req", "1"}}));
}

TEST(Exchange, ContinueH2ClientH1Server) {
  H2Peer c(H2Session::Role::Client);
  H1Server s(echo_h1);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  auto h = get("/put", "PUT");
  h.push_back({"expect", "100-continue"});
  h.push_back({"content-length", "4"});
  auto id = c.session.submit_request(h, false);
  d.run();
  s.out += "HTTP/1.1 100 Continue\r\n\r\n";
  d.run();
  ASSERT_EQ(c.streams[id].interim.size(), 1u);
  EXPECT_EQ(field(c.streams[id].interim[0], ":status"), "100");
  c.session.send_data(id, "body");
  c.session.end_stream(id);
  d.run();
  EXPECT_EQ(c.streams[id].data, "echo /put 4");
  ASSERT_EQ(d.flows.size(), 1u);
  EXPECT_TRUE(d.flows[0].complete);
}

TEST(Exchange, HeadNoContentNotModifiedH2ClientH1Server) {
  H2Peer c(H2Session::Role::Client);
  H1Server s([](const Request& r) -> std::string {
    if (r.target() == "/head") return "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    if (r.target() == "/204") return "HTTP/1.1 204 No Content\r\n\r\n";
    return "HTTP/1.1 304 Not Modified\r\n\r\n";
  });
  Driver d(HttpProtocol::Http2, HttpProtocol::Http1, c, s);
  auto a = c.request(get("/head", "HEAD"));
  auto b = c.request(get("/204"));
  auto e = c.request(get("/304"));
  d.run();
  for (auto id : {a, b, e}) {
    EXPECT_TRUE(c.streams[id].end);
    EXPECT_EQ(c.streams[id].data_bytes, 0u);
    EXPECT_FALSE(c.streams[id].closed && c.streams[id].code != 0);
  }
  EXPECT_EQ(field(c.streams[a].head, "content-length"), "1000");
  ASSERT_EQ(d.flows.size(), 3u);
  for (const auto& f : d.flows) EXPECT_TRUE(f.complete) << f.target << f.error;
}

TEST(Exchange, ExtendedConnectIsRefusedAndTheConnectionGoesOn) {
  H2Peer c(H2Session::Role::Client), s(H2Session::Role::Server);
  echo_server(s);
  Driver d(HttpProtocol::Http2, HttpProtocol::Http2, c, s);
  auto ws = c.session.submit_request(
      {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":authority", "x"}, {":path", "/ws"}},
      false);
  d.run();
  auto id = c.request(get("/after"));
  d.run();
  if (ws > 0) {
    EXPECT_TRUE(c.streams[ws].closed);
    EXPECT_NE(c.streams[ws].code, 0u);
  }
  EXPECT_EQ(c.streams[id].data, "echo /after 0");
  EXPECT_TRUE(s.streams.size() == 1u);  // nothing of the CONNECT reached the server
}

}  // namespace
}  // namespace tlslab::proxy
