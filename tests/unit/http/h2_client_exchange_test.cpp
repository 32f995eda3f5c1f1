#include "http/h2_client_exchange.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "base/failure.hpp"
#include "unit/http/h2_exchange_samples.hpp"

namespace tlslab::http {
namespace {

using ::testing::HasSubstr;
using namespace exchange_sample;

TEST(H2RequestFields, PseudoHeadersFirstThenDefaultsAndUserFields) {
  RequestSpec spec = get("/login?x=1");
  spec.method = "POST";
  spec.body = "a=b";
  spec.headers = {{"Accept", "text/html"},
                  {"User-Agent", ""},
                  {"X-Lab", "1"},
                  {"Connection", "keep-alive"},
                  {"Transfer-Encoding", "chunked"},
                  {"TE", "gzip"},
                  {"Host", "other.example:8443"}};
  EXPECT_EQ(h2_request_fields(spec), (H2Fields{{":method", "POST"},
                                               {":scheme", "https"},
                                               {":authority", "other.example:8443"},
                                               {":path", "/login?x=1"},
                                               {"accept", "text/html"},
                                               {"content-length", "3"},
                                               {"x-lab", "1"}}));
  spec.headers = {{"TE", "trailers"}};
  EXPECT_EQ(h2_request_fields(spec).back(), (H2Field{"te", "trailers"}));
}

TEST(H2Exchange, GetInEverySplitGivesTheBodyTheStreamAndTheServersSettings) {
  const auto body = pattern(300000);  // beyond the default 64 KiB windows: WINDOW_UPDATEs must flow
  for (std::size_t step : {1000000, 4096, 7}) {
    Talk talk;
    talk.server.respond = [&](std::int32_t stream) {
      (void)talk.server.session.submit_response(stream, {{":status", "200"}, {"content-type", "x/y"}}, false);
      talk.server.session.send_data(stream, body);
      talk.server.session.end_stream(stream);
    };
    talk.run(step);
    ASSERT_TRUE(talk.exchange->done()) << step;
    EXPECT_EQ(talk.received, body);
    EXPECT_EQ(talk.server.request.at(0), (H2Field{":method", "GET"}));
    EXPECT_EQ(talk.server.request.at(2), (H2Field{":authority", "www.bank32.com:4433"}));
    auto info = talk.exchange->info();
    EXPECT_EQ(info.status, 200);
    EXPECT_EQ(info.version, "HTTP/2");
    EXPECT_EQ(info.reason, "");
    EXPECT_EQ(info.headers, (std::vector<std::pair<std::string, std::string>>{{"content-type", "x/y"}}));
    EXPECT_EQ(info.body_bytes, body.size());
    EXPECT_TRUE(info.body_has_nul);
    EXPECT_EQ(info.body_sha256.size(), 64u);
    EXPECT_EQ(info.framing, "data frames");
    ASSERT_TRUE(info.http2);
    EXPECT_EQ(info.http2->stream, 1);
    EXPECT_EQ(info.http2->stream_end, "end_stream");
    // H2Session's server SETTINGS: MAX_CONCURRENT_STREAMS 100 first.
    ASSERT_FALSE(info.http2->server_settings.empty());
    EXPECT_EQ(info.http2->server_settings.front(), (std::pair<std::uint16_t, std::uint32_t>{3, 100}));
    // A GOAWAY closes the connection politely.
    std::string out;
    EXPECT_TRUE(talk.exchange->take_output(out));
    EXPECT_TRUE(talk.server.session.receive(out));
  }
}

TEST(H2Exchange, HeadEndsWithTheHeaders) {
  auto spec = get();
  spec.method = "HEAD";
  Talk talk(spec, 10);
  talk.server.respond = [&](std::int32_t stream) {
    (void)talk.server.session.submit_response(stream, {{":status", "200"}, {"content-length", "5000"}}, true);
  };
  talk.run();
  ASSERT_TRUE(talk.exchange->done());
  auto info = talk.exchange->info();
  EXPECT_EQ(info.framing, "none");
  EXPECT_EQ(info.body_bytes, 0u);
  EXPECT_EQ(talk.server.request.at(0).value, "HEAD");
}

TEST(H2Exchange, PostBodyReachesTheServerThroughItsWindow) {
  auto spec = get("/upload");
  spec.method = "POST";
  spec.body = pattern(200000);
  Talk talk(spec);
  talk.server.respond = [&](std::int32_t stream) {
    (void)talk.server.session.submit_response(stream, status("204"), true);
  };
  talk.run();
  ASSERT_TRUE(talk.exchange->done());
  EXPECT_EQ(talk.server.body, spec.body);
  EXPECT_EQ(talk.exchange->status(), 204);
}

TEST(H2Exchange, InformationalResponsesAndTrailers) {
  Talk talk;
  talk.server.respond = [&](std::int32_t stream) {
    (void)talk.server.session.submit_response(stream, status("103"), false);
    (void)talk.server.session.submit_response(stream, status("200"), false);
    talk.server.session.send_data(stream, "body");
    talk.server.session.send_trailers(stream, {{"x-checksum", "abc"}});
  };
  talk.run(3);
  ASSERT_TRUE(talk.exchange->done());
  auto info = talk.exchange->info();
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(talk.received, "body");
  EXPECT_EQ(info.trailers, (std::vector<std::pair<std::string, std::string>>{{"x-checksum", "abc"}}));
}

TEST(H2Exchange, AnnouncedLengthBeyondTheLimitFailsAtTheHeaders) {
  Talk talk(get(), 100);
  talk.server.respond = [&](std::int32_t stream) {
    (void)talk.server.session.submit_response(stream, {{":status", "200"}, {"content-length", "101"}}, false);
    talk.server.session.send_data(stream, pattern(101));
    talk.server.session.end_stream(stream);
  };
  try {
    talk.run();
    FAIL() << "no failure";
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::TooLarge);
    EXPECT_THAT(f.what(), HasSubstr("announced a body of 101 bytes"));
  }
  EXPECT_EQ(talk.received, "");
  EXPECT_EQ(talk.exchange->info().http2->stream_end, "reset_by_client");
}

TEST(H2Exchange, BodyBeyondTheLimitResetsTheStream) {
  Talk talk(get(), 1000);
  talk.server.respond = [&](std::int32_t stream) {
    (void)talk.server.session.submit_response(stream, status("200"), false);
    talk.server.session.send_data(stream, pattern(5000));  // and the stream stays open
  };
  try {
    talk.run(500);
    FAIL() << "no failure";
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::TooLarge);
    EXPECT_THAT(f.what(), HasSubstr("larger than the --max-filesize limit"));
  }
  EXPECT_LE(talk.received.size(), 1000u);
  std::string out;
  ASSERT_TRUE(talk.exchange->take_output(out));
  EXPECT_TRUE(talk.server.session.receive(out));
  EXPECT_TRUE(talk.server.closed);
  EXPECT_EQ(talk.server.closed_code, kCancel);
  EXPECT_EQ(talk.exchange->info().http2->stream_end, "reset_by_client");
}

TEST(H2Exchange, ServerResetIsAFailureNamingTheCode) {
  Talk talk;
  talk.server.respond = [&](std::int32_t stream) { talk.server.session.reset(stream, kRefusedStream); };
  try {
    talk.run();
    FAIL() << "no failure";
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::Receive);
    EXPECT_THAT(f.what(), HasSubstr("RST_STREAM REFUSED_STREAM"));
    EXPECT_THAT(f.what(), HasSubstr("before answering"));
  }
  EXPECT_EQ(talk.exchange->info().http2->stream_end, "reset_by_server");
}

TEST(H2Exchange, GoawayThatLeavesTheRequestOutFails) {
  Talk talk;
  talk.server.respond = [&](std::int32_t) {};
  std::string out;
  ASSERT_TRUE(talk.exchange->take_output(out));
  // The server goes away before it processed anything (last stream 0).
  H2Session& s = talk.server.session;
  s.goaway(0);
  std::string back;
  ASSERT_TRUE(s.take_output(back));
  try {
    talk.exchange->feed(back);
    FAIL() << "no failure";
  } catch (const Failure& f) {
    EXPECT_THAT(f.what(), HasSubstr("did not take the request (GOAWAY NO_ERROR, last stream 0)"));
  }
}

TEST(H2Exchange, ConnectionClosedBeforeOrDuringTheResponse) {
  Talk before;
  std::string out;
  (void)before.exchange->take_output(out);
  try {
    before.exchange->finish_eof();
    FAIL();
  } catch (const Failure& f) {
    EXPECT_THAT(f.what(), HasSubstr("without sending a response"));
  }
  Talk during;
  during.server.respond = [&](std::int32_t stream) {
    (void)during.server.session.submit_response(stream, status("200"), false);
    during.server.session.send_data(stream, "part");
  };
  during.run();
  EXPECT_FALSE(during.exchange->done());
  EXPECT_TRUE(during.exchange->header_done());
  try {
    during.exchange->finish_eof();
    FAIL();
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::Receive);
    EXPECT_THAT(f.what(), HasSubstr("in the middle of the response (after 4 body bytes)"));
  }
}

TEST(H2Exchange, BytesThatAreNotHttp2Fail) {
  Talk talk;
  std::string out;
  (void)talk.exchange->take_output(out);
  try {
    talk.exchange->feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    FAIL();
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::Receive);
    EXPECT_THAT(f.what(), HasSubstr("the server broke the HTTP/2 connection"));
  }
}

TEST(H2Exchange, SinkFailureComesOutOfFeedAndCancelsTheStream) {
  RequestSpec spec = get();
  Server server;
  auto exchange = make_h2_exchange(
      spec, [](std::string_view) { throw Failure(Kind::Write, "disk full"); }, {}, false, false);
  server.respond = [&](std::int32_t stream) {
    (void)server.session.submit_response(stream, status("200"), false);
    server.session.send_data(stream, "x");
    server.session.end_stream(stream);
  };
  std::string out;
  (void)exchange->take_output(out);
  (void)server.session.receive(out);
  std::string back;
  (void)server.session.take_output(back);
  try {
    exchange->feed(back);
    FAIL();
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::Write);
  }
  EXPECT_FALSE(exchange->done());
}

TEST(H2Exchange, TraceHasBothDirectionsDecoded) {
  Talk talk(get("/t"), {}, true);
  talk.server.respond = [&](std::int32_t stream) {
    (void)talk.server.session.submit_response(stream, status("200"), false);
    talk.server.session.send_data(stream, "hi");
    talk.server.session.end_stream(stream);
  };
  talk.run(5);
  std::vector<H2TraceFrame> frames;
  talk.exchange->take_frames(frames);
  ASSERT_GE(frames.size(), 5u);
  EXPECT_EQ(frames[0].type, "preface");
  EXPECT_TRUE(frames[0].sent);
  EXPECT_EQ(frames[1].type, "SETTINGS");
  auto find = [&](bool sent, std::string type) {
    return std::find_if(frames.begin(), frames.end(),
                        [&](const H2TraceFrame& f) { return f.sent == sent && f.type == type; });
  };
  auto request = find(true, "HEADERS");
  ASSERT_NE(request, frames.end());
  EXPECT_EQ(request->stream, 1u);
  EXPECT_THAT(request->flags, ::testing::ElementsAre("END_STREAM", "END_HEADERS"));
  EXPECT_THAT(request->headers, ::testing::Contains(H2Field{":path", "/t"}));
  auto response = find(false, "HEADERS");
  ASSERT_NE(response, frames.end());
  EXPECT_EQ(response->headers.at(0), (H2Field{":status", "200"}));
  auto data = find(false, "DATA");
  ASSERT_NE(data, frames.end());
  EXPECT_EQ(data->length, 2u);
  EXPECT_THAT(data->flags, ::testing::ElementsAre("END_STREAM"));
  frames.clear();
  talk.exchange->take_frames(frames);
  EXPECT_TRUE(frames.empty());  // moved out once
}

}  // namespace
}  // namespace tlslab::http
