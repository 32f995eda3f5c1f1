#include "serve/h2_server.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace tlslab::serve {
namespace {

using namespace tlslab::http;

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::uint32_t kNoError = 0, kRefusedStream = 7, kCancel = 8;

// The server's side: answers as told, records what it was told.
struct Responder : H2Responder {
  std::function<Reply(const Request&)> answer = [](const Request& r) {
    Reply reply;
    reply.body = std::string(r.method_string()) + " " + std::string(r.target()) + " " + r.body();
    return reply;
  };
  std::vector<Request> requests;
  struct Logged {
    std::string target;
    unsigned status;
    std::uint64_t bytes;
  };
  std::vector<Logged> logged;
  std::vector<std::string> notes;

  Reply respond(const Request& request) override {
    requests.push_back(request);
    return answer(request);
  }
  void responded(const Request& request, unsigned status, std::uint64_t bytes) override {
    logged.push_back({std::string(request.target()), status, bytes});
  }
  void note(const std::string& line) override { notes.push_back(line); }
  std::string_view date() override { return "Sat, 28 Nov 2026 21:08:04 GMT"; }
};

// The client's side: an H2Session in the client role.
struct Client : H2Listener {
  struct Stream {
    H2Fields head;
    std::string body;
    bool ended = false;
    int closes = 0;
    std::uint32_t code = 0;
  };
  H2Session* session = nullptr;
  bool consume = true;
  std::map<std::int32_t, Stream> streams;
  int goaways = 0;

  void on_headers(std::int32_t id, H2Fields fields, bool end) override {
    streams[id].head = std::move(fields);
    streams[id].ended = end;
  }
  void on_trailers(std::int32_t, H2Fields) override {}
  void on_data(std::int32_t id, std::string_view bytes) override {
    streams[id].body.append(bytes);
    if (consume) session->consume(id, bytes.size());
  }
  void on_end_stream(std::int32_t id) override { streams[id].ended = true; }
  void on_stream_closed(std::int32_t id, std::uint32_t code, bool) override {
    ++streams[id].closes;
    streams[id].code = code;
  }
  void on_goaway(std::int32_t, std::uint32_t) override { ++goaways; }

  std::string field(std::int32_t id, std::string_view name) {
    for (const auto& f : streams[id].head)
      if (f.name == name) return f.value;
    return "(none)";
  }
};

H2Fields get(std::string path = "/", std::string method = "GET") {
  return {{":method", std::move(method)}, {":scheme", "https"}, {":authority", "www.bank32.com"}, {":path", path}};
}

struct H2ServerTest : ::testing::Test {
  H2Clock::time_point t0 = H2Clock::now();
  H2Clock::time_point now = t0;
  H2ServerOptions options;
  Responder responder;
  Client c;
  std::unique_ptr<H2Server> server;
  std::unique_ptr<H2Session> client;

  void start(H2Settings client_settings = {}) {
    server = std::make_unique<H2Server>(options, responder, now);
    client = std::make_unique<H2Session>(H2Session::Role::Client, c, client_settings);
    c.session = client.get();
  }

  // pump moves bytes both ways until neither side has more.
  void pump() {
    for (bool any = true; any;) {
      any = false;
      std::string bytes;
      if (client->take_output(bytes)) {
        any = true;
        if (!server->receive(bytes, now)) return;
      }
      bytes.clear();
      if (server->take_output(bytes)) {
        any = true;
        client->receive(bytes);
      }
    }
  }

  std::int32_t request(const H2Fields& fields, std::string_view body = {}, bool end = true) {
    auto id = client->submit_request(fields, body.empty() && end);
    if (!body.empty()) client->send_data(id, body);
    if (!body.empty() && end) client->end_stream(id);
    pump();
    return id;
  }
};

TEST(H2Request, PseudoFieldsHostAndCookies) {
  auto req = h2_request({{":method", "POST"},
                         {":scheme", "https"},
                         {":authority", "www.bank32.com"},
                         {":path", "/login?x=1"},
                         {"cookie", "a=1"},
                         {"user-agent", "test"},
                         {"cookie", "b=2"}});
  EXPECT_EQ(req.method_string(), "POST");
  EXPECT_EQ(req.target(), "/login?x=1");
  EXPECT_EQ(req.version(), 20u);
  EXPECT_EQ(req[boost::beast::http::field::host], "www.bank32.com");
  EXPECT_EQ(req[boost::beast::http::field::cookie], "a=1; b=2");  // RFC 9113 §8.2.3
  EXPECT_EQ(req[boost::beast::http::field::user_agent], "test");
  EXPECT_EQ(h2_fields_size({{"ab", "cde"}}), 37u);
}

TEST(H2Request, ResponseHeadInLowerCaseWithoutConnectionFields) {
  Reply r;
  r.status = 206;
  r.body = "12345";
  r.headers = {{"Content-Range", "bytes 0-4/10"}, {"Connection", "close"}};
  auto head = h2_response_head(r, "DATE");
  EXPECT_EQ(head, (H2Fields{{":status", "206"},
                            {"server", "tlslab"},
                            {"date", "DATE"},
                            {"content-type", "text/plain; charset=utf-8"},
                            {"content-range", "bytes 0-4/10"},
                            {"content-length", "5"}}));
  Reply not_modified;
  not_modified.status = 304;
  for (const auto& f : h2_response_head(not_modified, "DATE")) {
    EXPECT_NE(f.name, "content-length");
    EXPECT_NE(f.name, "content-type");
  }
}

TEST_F(H2ServerTest, RequestsAnsweredAndLogged) {
  start();
  auto a = request(get("/a"));
  auto b = request(get("/login", "POST"), "user=bob");
  ASSERT_TRUE(c.streams[a].ended);
  EXPECT_EQ(c.field(a, ":status"), "200");
  EXPECT_EQ(c.field(a, "server"), "tlslab");
  EXPECT_EQ(c.field(a, "content-length"), "7");
  EXPECT_EQ(c.streams[a].body, "GET /a ");
  EXPECT_EQ(c.streams[b].body, "POST /login user=bob");
  ASSERT_EQ(responder.logged.size(), 2u);
  EXPECT_EQ(responder.logged[1].target, "/login");
  EXPECT_EQ(responder.logged[1].status, 200u);
  EXPECT_EQ(responder.logged[1].bytes, 20u);
  EXPECT_EQ(responder.requests[0][boost::beast::http::field::host], "www.bank32.com");
  EXPECT_TRUE(server->idle());
  EXPECT_FALSE(server->done());
}

TEST_F(H2ServerTest, HeadHasLengthButNoBody) {
  start();
  auto id = request(get("/", "HEAD"));
  EXPECT_TRUE(c.streams[id].ended);
  EXPECT_EQ(c.field(id, "content-length"), "7");
  EXPECT_EQ(c.streams[id].body, "");
}

TEST_F(H2ServerTest, HeaderOverTheLimitIs431AndFarOverIsRefused) {
  options.max_header_bytes = 1000;
  start();
  auto fields = get();
  fields.push_back({"x-big", std::string(1200, 'x')});
  auto id = request(fields);
  EXPECT_EQ(c.field(id, ":status"), "431");
  EXPECT_TRUE(responder.requests.empty());
  EXPECT_THAT(responder.notes.at(0), HasSubstr("answered 431"));
  fields.back().value.assign(5000, 'y');  // beyond twice the limit: refused while decoding
  id = request(fields);
  EXPECT_EQ(c.streams[id].code, kRefusedStream);
  EXPECT_EQ(request(get("/after")) > 0, true);  // the connection goes on
  EXPECT_EQ(c.streams.rbegin()->second.body, "GET /after ");
}

TEST_F(H2ServerTest, BodyOverTheLimitIs413ThenTheStreamIsReset) {
  options.max_body_bytes = 10;
  start();
  auto id = request(get("/up", "POST"), std::string(8, 'a'), false);  // within the limit so far
  client->send_data(id, std::string(8, 'b'));
  pump();
  EXPECT_EQ(c.field(id, ":status"), "413");
  EXPECT_TRUE(c.streams[id].ended);
  // The response is complete before the request: what the client still sends is dropped for a
  // while, then RST_STREAM NO_ERROR tells it to stop.
  client->send_data(id, std::string(100, 'c'));
  pump();
  EXPECT_EQ(c.streams[id].closes, 0);
  now += 2s;
  EXPECT_EQ(server->next_deadline(), now);
  server->expire(now);
  pump();
  EXPECT_EQ(c.streams[id].closes, 1);
  EXPECT_EQ(c.streams[id].code, kNoError);
  EXPECT_THAT(responder.notes.at(0), HasSubstr("answered 413"));
  auto announced = get("/up2", "POST");
  announced.push_back({"content-length", "11"});
  id = request(announced, "x", false);
  EXPECT_EQ(c.field(id, ":status"), "413");  // at once, from Content-Length
}

TEST_F(H2ServerTest, SlowBodyIs408) {
  start();
  auto id = request(get("/up", "POST"), "part", false);
  EXPECT_EQ(server->next_deadline(), t0 + options.request_timeout);
  now = t0 + options.request_timeout;
  server->expire(now);
  pump();
  EXPECT_EQ(c.field(id, ":status"), "408");
  EXPECT_THAT(responder.notes.at(0), HasSubstr("request body not complete in 30 s; answered 408"));
}

TEST_F(H2ServerTest, NoRequestAndIdleConnectionsGoAway) {
  start();
  pump();
  EXPECT_EQ(server->next_deadline(), t0 + options.header_timeout);
  now = t0 + options.header_timeout;
  server->expire(now);
  pump();
  EXPECT_EQ(c.goaways, 1);
  EXPECT_TRUE(server->done());
  EXPECT_THAT(responder.notes.at(0), HasSubstr("sent no request in 10 s"));

  responder.notes.clear();
  c = Client{};
  now = t0;
  start();
  request(get());
  EXPECT_EQ(server->next_deadline(), t0 + options.idle_timeout);
  server->expire(t0 + options.idle_timeout - 1ms);
  EXPECT_FALSE(server->done());
  now = t0 + options.idle_timeout;
  server->expire(now);
  pump();
  EXPECT_TRUE(server->done());
  EXPECT_TRUE(responder.notes.empty());  // an idle connection closing is no error
}

TEST_F(H2ServerTest, ShutdownLetsOpenStreamsFinish) {
  start();
  auto id = request(get("/up", "POST"), "part", false);
  server->shutdown();
  pump();
  EXPECT_EQ(c.goaways, 1);
  EXPECT_FALSE(server->done());
  client->send_data(id, " two");
  client->end_stream(id);
  pump();
  EXPECT_EQ(c.streams[id].body, "POST /up part two");
  EXPECT_TRUE(server->done());
}

struct H2ServerFiles : H2ServerTest {
  std::filesystem::path path;
  std::string content;
  void SetUp() override {
    path = std::filesystem::temp_directory_path() / ("h2_server_test." + std::to_string(::getpid()));
    content.resize(3 * 1024 * 1024);
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    std::ofstream(path, std::ios::binary) << content;
    responder.answer = [this](const Request& r) {
      Reply reply;
      reply.file = FileReply{UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), 0, content.size(), nullptr};
      if (r.target() == "/range") {
        reply.status = 206;
        reply.file->offset = 1000;
        reply.file->length = 2000;
      }
      return reply;
    };
  }
  void TearDown() override { std::filesystem::remove(path); }
};

TEST_F(H2ServerFiles, FilesStreamWholeAndInRanges) {
  start();
  auto whole = request(get("/file"));
  auto range = request(get("/range"));
  EXPECT_EQ(c.field(whole, "content-length"), std::to_string(content.size()));
  EXPECT_TRUE(c.streams[whole].body == content);
  EXPECT_EQ(c.streams[range].body, content.substr(1000, 2000));
  EXPECT_EQ(responder.logged.at(0).bytes, content.size());
}

TEST_F(H2ServerFiles, AReaderThatStopsHoldsOnlyItsWindowAndIsResetAfterTheWriteTimeout) {
  H2Settings small;
  small.initial_window_size = 65535;
  start(small);
  c.consume = false;  // the client reads nothing more: its windows stay shut
  auto id = request(get("/file"));
  EXPECT_EQ(c.streams[id].body.size(), 65535u);
  std::string more;
  EXPECT_FALSE(server->take_output(more));  // nothing more leaves while the window is shut
  EXPECT_EQ(server->next_deadline(), t0 + options.write_timeout);
  now = t0 + options.write_timeout;
  server->expire(now);
  pump();
  EXPECT_EQ(c.streams[id].closes, 1);
  EXPECT_EQ(c.streams[id].code, kCancel);
  EXPECT_THAT(responder.notes.at(0), HasSubstr("not taken in 60 s; stream reset"));
  ASSERT_EQ(responder.logged.size(), 1u);
  EXPECT_EQ(responder.logged[0].bytes, 65535u);
}

TEST_F(H2ServerTest, ClientThatLeavesBeforeTheAnswerIsLogged499) {
  start();
  auto id = request(get("/up", "POST"), "part", false);
  client->reset(id, kCancel);
  pump();
  ASSERT_EQ(responder.logged.size(), 1u);
  EXPECT_EQ(responder.logged[0].status, 499u);
  EXPECT_TRUE(server->idle());
}

TEST_F(H2ServerTest, ResponderFailureIs500) {
  responder.answer = [](const Request&) -> Reply { throw std::runtime_error("disk on fire"); };
  start();
  auto id = request(get("/x"));
  EXPECT_EQ(c.field(id, ":status"), "500");
  EXPECT_THAT(responder.notes.at(0), HasSubstr("disk on fire"));
}

TEST_F(H2ServerTest, MaxStreamsAnnounced) {
  options.max_streams = 3;
  start();
  pump();
  EXPECT_EQ(client->peer_settings().max_concurrent_streams, 3u);
}

TEST_F(H2ServerTest, ProtocolErrorEndsTheConnection) {
  start();
  pump();
  EXPECT_FALSE(server->receive(std::string("\0\0\x08\x00\x00\x00\x00\x00\x00", 9) + std::string(8, 'x'), now));
  EXPECT_FALSE(server->error().empty());
  std::string out;
  EXPECT_TRUE(server->take_output(out));  // the GOAWAY
  EXPECT_TRUE(server->done());
}

}  // namespace
}  // namespace tlslab::serve
