#include "http/h2_session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "unit/http/h2_session_samples.hpp"

namespace tlslab::http {
namespace {

using ::testing::HasSubstr;
using namespace session_sample;

// A client and a server session wired to each other in memory.
struct Pair {
  explicit Pair(const H2Settings& client_settings = {}, const H2Settings& server_settings = {})
      : client(H2Session::Role::Client, c, client_settings), server(H2Session::Role::Server, s, server_settings) {
    c.session = &client;
    s.session = &server;
  }
  // pump moves bytes both ways until neither side has any to send; returns the bytes moved.
  std::size_t pump(std::size_t max = 256 * 1024) {
    std::size_t moved = 0;
    for (bool any = true; any;) {
      any = false;
      std::string bytes;
      if (client.take_output(bytes, max)) {
        any = true;
        moved += bytes.size();
        EXPECT_TRUE(server.receive(bytes)) << server.error();
      }
      bytes.clear();
      if (server.take_output(bytes, max)) {
        any = true;
        moved += bytes.size();
        EXPECT_TRUE(client.receive(bytes)) << client.error();
      }
    }
    return moved;
  }
  Recorder c, s;
  H2Session client;
  H2Session server;
};

struct Frame {
  std::uint8_t type, flags;
  std::uint32_t stream;
  std::string payload;
};

std::vector<Frame> parse_frames(std::string_view bytes) {
  if (bytes.starts_with(kPreface)) bytes.remove_prefix(kPreface.size());
  std::vector<Frame> frames;
  while (bytes.size() >= 9) {
    auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    std::size_t len = (std::size_t{u(0)} << 16) | (std::size_t{u(1)} << 8) | u(2);
    if (bytes.size() < 9 + len) break;
    std::uint32_t stream =
        ((std::uint32_t{u(5)} & 0x7f) << 24) | (std::uint32_t{u(6)} << 16) | (std::uint32_t{u(7)} << 8) | u(8);
    frames.push_back({u(3), u(4), stream, std::string(bytes.substr(9, len))});
    bytes.remove_prefix(9 + len);
  }
  return frames;
}

std::uint32_t read32(std::string_view p) {
  return (std::uint32_t{static_cast<std::uint8_t>(p[0])} << 24) |
         (std::uint32_t{static_cast<std::uint8_t>(p[1])} << 16) |
         (std::uint32_t{static_cast<std::uint8_t>(p[2])} << 8) | static_cast<std::uint8_t>(p[3]);
}

// The error code of the GOAWAY in bytes, or -1.
std::int64_t goaway_code(std::string_view bytes) {
  for (const auto& f : parse_frames(bytes))
    if (f.type == kGoaway && f.payload.size() >= 8) return read32(std::string_view(f.payload).substr(4));
  return -1;
}

// A server session that has read a client's preface and SETTINGS.
struct RawServer {
  explicit RawServer(const H2Settings& settings = {}) : session(H2Session::Role::Server, rec, settings) {
    rec.session = &session;
    EXPECT_TRUE(session.receive(kPreface + frame(kSettings, 0, 0, "")));
    (void)drain(session);
  }
  Recorder rec;
  H2Session session;
};

TEST(H2Session, RequestAndResponseWithBodies) {
  Pair p;
  p.s.on_request = [&](std::int32_t) {};
  auto id = p.client.submit_request(request("POST", "/upload"), false);
  ASSERT_EQ(id, 1);
  p.client.send_data(id, "hello ");
  p.client.send_data(id, "server");
  p.client.end_stream(id);
  p.pump();
  EXPECT_EQ(p.c.settings, 1);
  EXPECT_EQ(p.client.peer_settings().max_concurrent_streams, 100u);
  auto& req = p.s.streams[id];
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0], request("POST", "/upload"));
  EXPECT_FALSE(req.headers_end);
  EXPECT_EQ(req.body, "hello server");
  EXPECT_TRUE(req.ended);
  EXPECT_EQ(p.server.open_streams(), 1u);

  H2Fields response = status("200");
  response.push_back({"content-type", "text/plain"});
  ASSERT_TRUE(p.server.submit_response(id, response, false));
  p.server.send_data(id, "hello client");
  p.server.end_stream(id);
  p.pump();
  auto& res = p.c.streams[id];
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], response);
  EXPECT_EQ(res.body, "hello client");
  EXPECT_TRUE(res.ended);
  EXPECT_EQ(res.sent, 12u);  // the request body left
  EXPECT_EQ(req.sent, 12u);  // the response body left
  EXPECT_EQ(res.closes, 1);
  EXPECT_EQ(res.close_code, kNoError);
  EXPECT_EQ(req.closes, 1);
  EXPECT_EQ(p.client.open_streams(), 0u);
  EXPECT_EQ(p.server.open_streams(), 0u);
  EXPECT_EQ(p.client.queued_total(), 0u);
  EXPECT_TRUE(p.client.want_read());
}

TEST(H2Session, HeadersOnlyRequestAndResponse) {
  Pair p;
  p.s.on_request = [&](std::int32_t stream) { EXPECT_TRUE(p.server.submit_response(stream, status("204"), true)); };
  auto id = p.client.submit_request(request(), true);
  p.pump();
  EXPECT_TRUE(p.s.streams[id].headers_end);
  EXPECT_FALSE(p.s.streams[id].ended);  // not called for a header block with end_stream
  EXPECT_TRUE(p.c.streams[id].headers_end);
  EXPECT_EQ(p.c.streams[id].closes, 1);
  EXPECT_EQ(p.s.streams[id].closes, 1);
}

TEST(H2Session, ClientAnnouncesNoPushAndServerSettingsArrive) {
  Recorder rec;
  H2Session client(H2Session::Role::Client, rec, {.max_concurrent_streams = 7, .initial_window_size = 12345});
  auto out = drain(client);
  ASSERT_TRUE(out.starts_with(kPreface));
  auto frames = parse_frames(out);
  ASSERT_FALSE(frames.empty());
  ASSERT_EQ(frames[0].type, kSettings);
  std::map<int, std::uint32_t> values;
  for (std::size_t i = 0; i + 6 <= frames[0].payload.size(); i += 6)
    values[(static_cast<std::uint8_t>(frames[0].payload[i]) << 8) |
           static_cast<std::uint8_t>(frames[0].payload[i + 1])] =
        read32(std::string_view(frames[0].payload).substr(i + 2));
  EXPECT_EQ(values.at(2), 0u);  // ENABLE_PUSH
  EXPECT_EQ(values.at(3), 7u);  // MAX_CONCURRENT_STREAMS
  EXPECT_EQ(values.at(4), 12345u);
  EXPECT_EQ(values.at(6), 64u * 1024);  // MAX_HEADER_LIST_SIZE
  // The connection window is opened to 16 MiB at once.
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[1].type, 8);  // WINDOW_UPDATE
  EXPECT_EQ(read32(frames[1].payload), (16u << 20) - 65535);
}

// The sender frames no more than the receiver's window while the receiver does not consume.
TEST(H2Session, LargeBodyFlowsOnlyAsConsumed) {
  constexpr std::size_t kWindow = 64 * 1024, kBody = 8 << 20;
  Pair p({}, {.initial_window_size = kWindow, .connection_window_size = 4 * kWindow});
  p.s.auto_consume = false;
  const auto body = pattern(kBody);
  auto id = p.client.submit_request(request("PUT", "/big"), false);
  p.client.send_data(id, body);
  p.client.end_stream(id);
  EXPECT_EQ(p.client.queued(id), kBody);
  EXPECT_EQ(p.client.queued_total(), kBody);
  p.pump();
  auto& got = p.s.streams[id];
  EXPECT_EQ(got.body.size(), kWindow);  // the whole window and not a byte more
  EXPECT_EQ(p.client.queued(id), kBody - kWindow);
  EXPECT_EQ(p.c.streams[id].sent, kWindow);
  // Pumping again moves nothing: the sender waits.
  p.pump();
  EXPECT_EQ(got.body.size(), kWindow);
  EXPECT_FALSE(p.client.want_write());

  std::size_t rounds = 0;
  while (!got.ended && rounds++ < 10000) {
    EXPECT_LE(got.unconsumed, kWindow);
    // Consume in small steps: nghttp2 sends WINDOW_UPDATE once half the window is consumed.
    auto n = std::min<std::size_t>(got.unconsumed, 16 * 1024);
    p.server.consume(id, n);
    got.unconsumed -= n;
    p.pump();
  }
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(got.body.size(), kBody);
  EXPECT_TRUE(got.body == body);
  EXPECT_EQ(p.c.streams[id].sent, kBody);
  EXPECT_EQ(p.client.queued_total(), 0u);
}

// The connection window holds too: many streams, none consumed, never more than it in flight.
TEST(H2Session, ConnectionWindowBoundsAllStreams) {
  constexpr std::size_t kConn = 100 * 1024;
  Pair p({}, {.initial_window_size = 64 * 1024, .connection_window_size = kConn});
  p.s.auto_consume = false;
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(p.client.submit_request(request("POST"), false));
    p.client.send_data(ids.back(), pattern(200 * 1024));
    p.client.end_stream(ids.back());
  }
  p.pump();
  std::size_t received = 0;
  for (auto id : ids) received += p.s.streams[id].body.size();
  EXPECT_EQ(received, kConn);
  p.s.consume_all();
  p.s.auto_consume = true;
  p.pump();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    p.s.consume_all();
    p.pump();
  }
  for (auto id : ids) EXPECT_EQ(p.s.streams[id].body.size(), 200u * 1024) << id;
}

TEST(H2Session, TakeOutputHonoursMax) {
  Pair p;
  p.pump();
  auto id = p.client.submit_request(request("POST"), false);
  p.client.send_data(id, pattern(512 * 1024));
  std::string out;
  ASSERT_TRUE(p.client.take_output(out, 40 * 1024));
  EXPECT_LE(out.size(), 40u * 1024 + 16384 + 9 + 100);
  EXPECT_GT(p.client.queued(id), 400u * 1024);
  EXPECT_TRUE(p.client.want_write());
  EXPECT_TRUE(p.server.receive(out));
}

TEST(H2Session, TrailersBothWays) {
  Pair p;
  auto id = p.client.submit_request(request("POST", "/grpc"), false);
  p.client.send_data(id, "request body");
  p.client.send_trailers(id, {{"x-checksum", "abc"}});
  p.s.on_request = [&](std::int32_t stream) {
    EXPECT_TRUE(p.server.submit_response(stream, status("200"), false));
    p.server.send_data(stream, "response body");
    p.server.send_trailers(stream, {{"grpc-status", "0"}, {"grpc-message", "ok"}});
  };
  p.pump();
  auto& req = p.s.streams[id];
  EXPECT_EQ(req.body, "request body");
  EXPECT_EQ(req.trailers, (H2Fields{{"x-checksum", "abc"}}));
  EXPECT_FALSE(req.ended);  // on_trailers ended it
  auto& res = p.c.streams[id];
  EXPECT_EQ(res.body, "response body");
  EXPECT_EQ(res.trailers, (H2Fields{{"grpc-status", "0"}, {"grpc-message", "ok"}}));
  EXPECT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.closes, 1);
  EXPECT_EQ(res.close_code, kNoError);
}

TEST(H2Session, TrailersWithoutBody) {
  Pair p;
  auto id = p.client.submit_request(request("POST"), false);
  p.client.send_trailers(id, {{"x-t", "1"}});
  p.pump();
  EXPECT_EQ(p.s.streams[id].trailers, (H2Fields{{"x-t", "1"}}));
  EXPECT_EQ(p.s.streams[id].body, "");
}

TEST(H2Session, ResetByClient) {
  Pair p;
  auto id = p.client.submit_request(request("POST"), false);
  p.client.send_data(id, "part");
  p.pump();
  p.client.reset(id, kCancel);
  p.pump();
  EXPECT_EQ(p.c.streams[id].closes, 1);
  EXPECT_EQ(p.c.streams[id].close_code, kCancel);
  EXPECT_FALSE(p.c.streams[id].reset_by_peer);
  EXPECT_EQ(p.s.streams[id].closes, 1);
  EXPECT_EQ(p.s.streams[id].close_code, kCancel);
  EXPECT_TRUE(p.s.streams[id].reset_by_peer);
  EXPECT_EQ(p.client.open_streams(), 0u);
  EXPECT_EQ(p.server.open_streams(), 0u);
  EXPECT_EQ(p.client.queued_total(), 0u);
}

TEST(H2Session, ResetByServerDropsQueuedBytes) {
  Pair p({}, {.initial_window_size = 16 * 1024});
  p.s.auto_consume = false;
  auto id = p.client.submit_request(request("POST"), false);
  p.client.send_data(id, pattern(100 * 1024));
  p.pump();
  EXPECT_GT(p.client.queued_total(), 0u);
  p.server.reset(id, kRefusedStream);
  p.pump();
  EXPECT_EQ(p.c.streams[id].closes, 1);
  EXPECT_EQ(p.c.streams[id].close_code, kRefusedStream);
  EXPECT_TRUE(p.c.streams[id].reset_by_peer);
  EXPECT_EQ(p.s.streams[id].closes, 1);
  EXPECT_FALSE(p.s.streams[id].reset_by_peer);
  EXPECT_EQ(p.client.queued_total(), 0u);
  // Bytes the server never consumed still hold the connection window until it does.
  p.s.consume_all();
  p.pump();
}

TEST(H2Session, ResetBeforeTheRequestLeft) {
  Pair p;
  auto id = p.client.submit_request(request(), false);
  p.client.reset(id, kCancel);
  p.pump();
  EXPECT_EQ(p.c.streams[id].closes, 1);
  EXPECT_EQ(p.client.open_streams(), 0u);
}

TEST(H2Session, GracefulGoaway) {
  Pair p;
  auto first = p.client.submit_request(request(), false);
  p.pump();
  p.server.goaway(kNoError);
  p.pump();
  EXPECT_EQ(p.c.goaways, 1);
  EXPECT_EQ(p.c.goaway_code, kNoError);
  EXPECT_EQ(p.c.goaway_last, first);
  // The open stream may finish.
  p.client.end_stream(first);
  ASSERT_TRUE(p.server.submit_response(first, status("200"), true));
  p.pump();
  EXPECT_EQ(p.c.streams[first].headers.size(), 1u);
  EXPECT_EQ(p.c.streams[first].close_code, kNoError);
  // A new request is refused and its stream reported closed.
  auto second = p.client.submit_request(request(), true);
  p.pump();
  EXPECT_EQ(p.c.streams[second].closes, 1);
  EXPECT_EQ(p.c.streams[second].close_code, kRefusedStream);
  EXPECT_FALSE(p.client.want_read());
  EXPECT_FALSE(p.client.want_write());
}

TEST(H2Session, GoawayWithErrorEndsTheSession) {
  Pair p;
  auto id = p.client.submit_request(request(), false);
  p.pump();
  p.client.goaway(kEnhanceYourCalm);
  std::string out = drain(p.client);
  EXPECT_EQ(goaway_code(out), kEnhanceYourCalm);
  EXPECT_TRUE(p.server.receive(out));
  EXPECT_EQ(p.s.goaways, 1);
  EXPECT_EQ(p.s.goaway_code, kEnhanceYourCalm);
  EXPECT_FALSE(p.client.want_read());
  (void)id;
}

TEST(H2Session, InformationalResponses) {
  Pair p;
  auto id = p.client.submit_request(request("POST"), false);
  p.pump();
  ASSERT_TRUE(p.server.submit_response(id, status("100"), false));
  ASSERT_TRUE(p.server.submit_response(id, {{":status", "103"}, {"link", "</style.css>; rel=preload"}}, false));
  p.pump();
  ASSERT_EQ(p.c.streams[id].headers.size(), 2u);
  EXPECT_EQ(p.c.streams[id].headers[0], status("100"));
  EXPECT_FALSE(p.c.streams[id].headers_end);
  p.client.send_data(id, "body");
  p.client.end_stream(id);
  ASSERT_TRUE(p.server.submit_response(id, status("200"), false));
  p.server.send_data(id, "done");
  p.server.send_trailers(id, {{"x-after", "1"}});
  p.pump();
  auto& res = p.c.streams[id];
  ASSERT_EQ(res.headers.size(), 3u);
  EXPECT_EQ(res.headers[2], status("200"));
  EXPECT_EQ(res.body, "done");
  EXPECT_EQ(res.trailers, (H2Fields{{"x-after", "1"}}));
  EXPECT_EQ(p.s.streams[id].body, "body");
}

TEST(H2Session, ManyConcurrentStreams) {
  Pair p;
  p.s.on_request = [&](std::int32_t stream) { EXPECT_TRUE(p.server.submit_response(stream, status("200"), false)); };
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 300; ++i) {  // beyond MAX_CONCURRENT_STREAMS 100: nghttp2 holds the rest back
    ids.push_back(p.client.submit_request(request("POST", "/" + std::to_string(i)), false));
    p.client.send_data(ids.back(), "req" + std::to_string(i));
    p.client.end_stream(ids.back());
  }
  p.pump();
  for (int round = 0; round < 10 && p.client.open_streams() > 0; ++round) {
    for (auto& [id, st] : p.s.streams)
      if (st.ended && st.closes == 0 && p.server.queued(id) == 0) {
        p.server.send_data(id, "res:" + st.body);
        p.server.end_stream(id);
      }
    p.pump();
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto& res = p.c.streams[ids[i]];
    EXPECT_EQ(res.body, "res:req" + std::to_string(i));
    EXPECT_EQ(res.closes, 1);
  }
  EXPECT_EQ(p.client.open_streams(), 0u);
  EXPECT_EQ(p.server.open_streams(), 0u);
}

TEST(H2Session, PushPromiseRefused) {
  Recorder rec;
  H2Session client(H2Session::Role::Client, rec);
  rec.session = &client;
  auto id = client.submit_request(request(), true);
  (void)drain(client);
  ASSERT_TRUE(client.receive(frame(kSettings, 0, 0, "") + frame(kSettings, kAck, 0, "")));
  std::string promise = be32(2) + hpack_request();
  EXPECT_FALSE(client.receive(frame(kPushPromise, kEndHeaders, static_cast<std::uint32_t>(id), promise)));
  EXPECT_THAT(client.error(), HasSubstr("PUSH_PROMISE"));
  EXPECT_EQ(goaway_code(drain(client)), kProtocolError);
  EXPECT_EQ(rec.streams[id].closes, 1);  // the open request is reported gone
  EXPECT_EQ(rec.streams[id].close_code, kProtocolError);
  EXPECT_FALSE(client.receive(frame(kPing, 0, 0, std::string(8, 'x'))));
}

TEST(H2Session, HeaderListOverTheLimitResetsTheStream) {
  Pair p({}, {.max_header_list_size = 1024});
  auto big = request();
  big.push_back({"x-big", std::string(2000, 'b')});
  auto id = p.client.submit_request(big, true);
  auto ok = p.client.submit_request(request(), true);
  p.pump();
  EXPECT_EQ(p.s.streams.count(id), 0u);  // the server's owner never heard of it
  EXPECT_EQ(p.s.streams[ok].headers.size(), 1u);
  EXPECT_EQ(p.c.streams[id].closes, 1);
  EXPECT_EQ(p.c.streams[id].close_code, kRefusedStream);
  EXPECT_TRUE(p.c.streams[id].reset_by_peer);
  EXPECT_TRUE(p.server.want_read());
}

// An HPACK bomb: one 4000-byte table entry referenced many times in one block.
TEST(H2Session, HpackBombEndsTheConnection) {
  RawServer srv({.max_header_list_size = 1024});
  std::string block = hpack_request();
  block += std::string("\x40\x06", 2) + "x-bomb" + std::string("\x7f\xa1\x1e", 3) + std::string(4000, 'z');
  block += std::string(200, '\xbe');  // indexed: dynamic table entry 62
  EXPECT_FALSE(srv.session.receive(frame(kHeaders, kEndHeaders | kEndStream, 1, block)));
  EXPECT_THAT(srv.session.error(), HasSubstr("HPACK bomb"));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
  EXPECT_TRUE(srv.rec.streams.empty());
}

TEST(H2Session, RapidResetEndsTheConnection) {
  RawServer srv({.max_resets_per_second = 50});
  std::string flood;
  for (std::uint32_t i = 0; i < 100; ++i) {
    std::uint32_t stream = 2 * i + 1;
    flood += frame(kHeaders, kEndHeaders | kEndStream, stream, hpack_request());
    flood += frame(kRstStream, 0, stream, be32(kCancel));
  }
  EXPECT_FALSE(srv.session.receive(flood));
  EXPECT_THAT(srv.session.error(), HasSubstr("rapid reset"));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
  EXPECT_FALSE(srv.session.want_read());
  EXPECT_FALSE(srv.session.receive(frame(kPing, 0, 0, std::string(8, 'x'))));
  // Every stream the owner heard of was reported closed, once.
  for (const auto& [id, st] : srv.rec.streams) EXPECT_EQ(st.closes, 1) << id;
  EXPECT_EQ(srv.session.open_streams(), 0u);
}

TEST(H2Session, RapidResetWithDefaultLimits) {
  RawServer srv;
  std::string flood;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    flood += frame(kHeaders, kEndHeaders | kEndStream, 2 * i + 1, hpack_request());
    flood += frame(kRstStream, 0, 2 * i + 1, be32(kCancel));
  }
  EXPECT_FALSE(srv.session.receive(flood));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
}

TEST(H2Session, PingFloodEndsTheConnection) {
  RawServer srv({.max_control_per_second = 50});
  std::string flood;
  for (int i = 0; i < 100; ++i) flood += frame(kPing, 0, 0, std::string(8, 'p'));
  EXPECT_FALSE(srv.session.receive(flood));
  EXPECT_THAT(srv.session.error(), HasSubstr("flood"));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
}

TEST(H2Session, SettingsFloodEndsTheConnection) {
  RawServer srv({.max_control_per_second = 50});
  std::string flood;
  for (int i = 0; i < 100; ++i) flood += frame(kSettings, 0, 0, "");
  EXPECT_FALSE(srv.session.receive(flood));
  EXPECT_THAT(srv.session.error(), HasSubstr("flood"));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
}

TEST(H2Session, PingFloodWithDefaultLimits) {
  RawServer srv;
  std::string flood;
  for (int i = 0; i < 3000; ++i) flood += frame(kPing, 0, 0, std::string(8, 'p'));
  EXPECT_FALSE(srv.session.receive(flood));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
}

TEST(H2Session, ControlFramesWithinTheLimitAreAnswered) {
  RawServer srv({.max_control_per_second = 50});
  std::string some;
  for (int i = 0; i < 20; ++i) some += frame(kPing, 0, 0, std::string(8, 'p'));
  EXPECT_TRUE(srv.session.receive(some));
  int acks = 0;
  for (const auto& f : parse_frames(drain(srv.session))) acks += f.type == kPing && f.flags == kAck;
  EXPECT_EQ(acks, 20);
}

TEST(H2Session, ContinuationFloodIsBounded) {
  RawServer srv;
  std::string flood = frame(kHeaders, 0, 1, hpack_request());
  for (int i = 0; i < 1000; ++i) flood += frame(kContinuation, 0, 1, std::string(16, '\x40'));
  EXPECT_FALSE(srv.session.receive(flood));
  EXPECT_THAT(srv.session.error(), HasSubstr("CONTINUATION"));
  EXPECT_EQ(goaway_code(drain(srv.session)), kEnhanceYourCalm);
}

TEST(H2Session, NotAPreface) {
  Recorder rec;
  H2Session server(H2Session::Role::Server, rec);
  EXPECT_FALSE(server.receive("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  EXPECT_THAT(server.error(), HasSubstr("client preface"));
  EXPECT_THAT(server.error(), HasSubstr("GET / HTTP/1.1\\r\\n"));
  EXPECT_EQ(goaway_code(drain(server)), kProtocolError);
  EXPECT_FALSE(server.receive(kPreface));
  EXPECT_FALSE(server.want_read());
}

TEST(H2Session, PrefaceInPieces) {
  Pair p;
  std::string out = drain(p.client);
  for (char c : out) ASSERT_TRUE(p.server.receive(std::string_view(&c, 1))) << p.server.error();
  EXPECT_EQ(p.s.settings, 1);
}

TEST(H2Session, BadFrameAfterThePreface) {
  RawServer srv;
  EXPECT_FALSE(srv.session.receive(frame(kSettings, 0, 0, "12345")));  // not a multiple of 6
  EXPECT_THAT(srv.session.error(), HasSubstr("FRAME_SIZE_ERROR"));
  EXPECT_EQ(goaway_code(drain(srv.session)), 6);
}

TEST(H2Session, DataOnStreamZero) {
  RawServer srv;
  EXPECT_FALSE(srv.session.receive(frame(kData, 0, 0, "x")));
  EXPECT_THAT(srv.session.error(), HasSubstr("PROTOCOL_ERROR"));
}

TEST(H2Session, ServerThatSpeaksHttp1) {
  Recorder rec;
  H2Session client(H2Session::Role::Client, rec);
  (void)drain(client);
  EXPECT_FALSE(client.receive("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_THAT(client.error(), HasSubstr("SETTINGS"));
}

TEST(H2Session, ReceiveAfterFatalErrorStaysFalse) {
  RawServer srv;
  EXPECT_FALSE(srv.session.receive(std::string(64, '\xff')));
  auto error = srv.session.error();
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(srv.session.receive(frame(kPing, 0, 0, std::string(8, 'x'))));
  EXPECT_EQ(srv.session.error(), error);
}

TEST(H2Session, RolesAreChecked) {
  Pair p;
  EXPECT_EQ(p.server.submit_request(request(), true), -1);
  EXPECT_FALSE(p.server.error().empty());
  EXPECT_FALSE(p.client.submit_response(1, status("200"), true));
}

TEST(H2Session, ErrorNames) {
  EXPECT_EQ(h2_error_name(0), "NO_ERROR");
  EXPECT_EQ(h2_error_name(8), "CANCEL");
  EXPECT_EQ(h2_error_name(11), "ENHANCE_YOUR_CALM");
  EXPECT_EQ(h2_error_name(13), "HTTP_1_1_REQUIRED");
  EXPECT_EQ(h2_error_name(0x1f), "UNKNOWN_ERROR(0x1f)");
}

TEST(H2Session, NoErrorResetFollowsTheResponseStillQueued) {
  // A server that answers before the whole request came, then says "no more of it" (RFC 9113
  // §8.1): the client gets the whole response, then the reset; the response is not discarded.
  Pair p;
  auto id = p.client.submit_request(request("POST"), false);
  p.client.send_data(id, "part of a body");
  p.pump();
  ASSERT_TRUE(p.server.submit_response(id, status("200"), false));
  p.server.send_data(id, "welcome\n");
  p.server.end_stream(id);
  p.server.reset(id, kNoError);
  p.pump();
  EXPECT_EQ(p.c.streams[id].headers.size(), 1u);
  EXPECT_EQ(p.c.streams[id].body, "welcome\n");
  EXPECT_TRUE(p.c.streams[id].ended);
  EXPECT_EQ(p.c.streams[id].closes, 1);
  EXPECT_EQ(p.c.streams[id].close_code, kNoError);
  EXPECT_TRUE(p.c.streams[id].reset_by_peer);
  EXPECT_EQ(p.client.open_streams(), 0u);
}

}  // namespace
}  // namespace tlslab::http
