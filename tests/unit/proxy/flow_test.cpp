#include "proxy/flow.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlslab::proxy {
namespace {

struct Observed {
  std::vector<Flow> flows;
  HttpObserver observer{"127.0.0.1:5000", "www.bank32.com", 1024, [this](Flow&& f) { flows.push_back(std::move(f)); }};
};

void feed_split(HttpObserver& o, bool client, std::string_view bytes, size_t step) {
  for (size_t i = 0; i < bytes.size(); i += step) {
    if (client)
      o.client_bytes(bytes.substr(i, step), 1.0);
    else
      o.server_bytes(bytes.substr(i, step), 2.0);
  }
}

TEST(HttpObserver, LoginFormExchangeInAnySplit) {
  const std::string request =
      "POST /login HTTP/1.1\r\nHost: www.bank32.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 33\r\n\r\nusername=alice&password=s3cr%21t";
  const std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: sid=abc123\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n";
  for (size_t step : {1, 5, 10000}) {
    Observed o;
    feed_split(o.observer, true, request, step);
    feed_split(o.observer, false, response, step);
    ASSERT_EQ(o.flows.size(), 1u) << step;
    const auto& f = o.flows[0];
    EXPECT_EQ(f.method, "POST");
    EXPECT_EQ(f.url(), "https://www.bank32.com/login");
    EXPECT_EQ(f.request_body, "username=alice&password=s3cr%21t");
    EXPECT_EQ(f.status, 200);
    EXPECT_EQ(f.response_body, "hello");
    EXPECT_EQ(f.response_body_bytes, 5u);
    EXPECT_TRUE(f.complete);
    EXPECT_FALSE(f.request_body.empty());
  }
}

TEST(HttpObserver, PipelinedKeepAliveAndHead) {
  Observed o;
  o.observer.client_bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n", 1);
  o.observer.server_bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2);
  o.observer.server_bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 3);
  ASSERT_EQ(o.flows.size(), 2u);
  EXPECT_EQ(o.flows[0].target, "/a");
  EXPECT_EQ(o.flows[0].response_body, "ok");
  EXPECT_EQ(o.flows[1].method, "HEAD");
  EXPECT_EQ(o.flows[1].response_body_bytes, 0u);
  EXPECT_TRUE(o.observer.active());
}

TEST(HttpObserver, BasicAuthDecoded) {
  Observed o;
  o.observer.client_bytes("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n", 1);
  o.observer.server_bytes("HTTP/1.1 204 No Content\r\n\r\n", 2);
  ASSERT_EQ(o.flows.size(), 1u);
  EXPECT_EQ(o.flows[0].request_header("Authorization"), "Basic YWxpY2U6c2VjcmV0");
}

TEST(HttpObserver, UpgradeAndGarbageTurnItOff) {
  Observed o;
  o.observer.client_bytes("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1);
  o.observer.server_bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", 2);
  EXPECT_EQ(o.flows.size(), 1u);
  EXPECT_FALSE(o.observer.active());
  o.observer.client_bytes("\x81\x85garbage", 3);  // ignored, no crash
  Observed g;
  g.observer.client_bytes("\x16\x03\x01 not http", 1);
  EXPECT_FALSE(g.observer.active());
  EXPECT_FALSE(g.observer.why().empty());
}

TEST(HttpObserver, ConnectionClosedMidBodyAndUntilClose) {
  Observed o;
  o.observer.client_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1);
  o.observer.server_bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 2);
  o.observer.closed(3);
  ASSERT_EQ(o.flows.size(), 1u);
  EXPECT_FALSE(o.flows[0].complete);
  EXPECT_EQ(o.flows[0].response_body_bytes, 3u);
  Observed c;
  c.observer.client_bytes("GET / HTTP/1.0\r\n\r\n", 1);
  c.observer.server_bytes("HTTP/1.0 200 OK\r\n\r\nuntil close", 2);
  c.observer.closed(3);
  ASSERT_EQ(c.flows.size(), 1u);
  EXPECT_TRUE(c.flows[0].complete);
  EXPECT_EQ(c.flows[0].response_body, "until close");
}

TEST(HttpObserver, RequestWithNoAnswerSaysWhy) {
  Observed o;
  o.observer.client_bytes("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab", 1);
  o.observer.closed(3.5);
  ASSERT_EQ(o.flows.size(), 1u);
  const auto& f = o.flows[0];
  EXPECT_EQ(f.status, 0);
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(f.response_start_ms, 0);  // never reached: no time to show
  EXPECT_EQ(f.response_done_ms, 3.5);
  EXPECT_EQ(f.error, "the connection ended before a response");
  Observed interim;  // a 100 Continue is not an answer
  interim.observer.client_bytes("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
                                1);
  interim.observer.server_bytes("HTTP/1.1 100 Continue\r\n\r\n", 2);
  interim.observer.closed(3);
  ASSERT_EQ(interim.flows.size(), 1u);
  EXPECT_EQ(interim.flows[0].status, 0);
  EXPECT_EQ(interim.flows[0].error, "the connection ended after 100 Continue, before a response");
  Observed half;
  half.observer.client_bytes("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nab", 1);
  half.observer.closed(2);
  ASSERT_EQ(half.flows.size(), 1u);
  EXPECT_EQ(half.flows[0].error, "the connection ended before the request was complete");
}

TEST(HttpObserver, BodiesCappedButCounted) {
  Observed o;
  std::string big(5000, 'x');
  o.observer.client_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1);
  o.observer.server_bytes("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + big, 2);
  ASSERT_EQ(o.flows.size(), 1u);
  EXPECT_EQ(o.flows[0].response_body.size(), 1024u);
  EXPECT_EQ(o.flows[0].response_body_bytes, 5000u);
}

}  // namespace
}  // namespace tlslab::proxy

#include "proxy/har.hpp"

namespace tlslab::proxy {
namespace {

TEST(Har, EntryHasTheFieldsDevtoolsNeed) {
  Flow f;
  f.host = "www.bank32.com";
  f.method = "POST";
  f.target = "/login?next=%2F";
  f.request_headers = {{"Host", "www.bank32.com"}, {"Content-Type", "application/x-www-form-urlencoded"}};
  f.request_body = "password=x";
  f.request_body_bytes = 10;
  f.status = 302;
  f.reason = "Found";
  f.response_headers = {{"Location", "/"}, {"Content-Type", "image/png"}};
  f.response_body = std::string("\x89PNG", 4);
  f.response_body_bytes = 4;
  f.started_ms = 1700000000123.0;
  f.request_done_ms = f.started_ms + 1;
  f.response_start_ms = f.started_ms + 3;
  f.response_done_ms = f.started_ms + 4;
  f.complete = true;
  auto doc = har_document({har_entry(f)}, "1.0");
  const auto& e = doc["log"]["entries"][0];
  EXPECT_EQ(doc["log"]["version"], "1.2");
  EXPECT_EQ(e["request"]["url"], "https://www.bank32.com/login?next=%2F");
  EXPECT_EQ(e["request"]["queryString"][0]["name"], "next");
  EXPECT_EQ(e["request"]["postData"]["text"], "password=x");
  EXPECT_EQ(e["response"]["redirectURL"], "/");
  EXPECT_EQ(e["response"]["content"]["encoding"], "base64");
  EXPECT_EQ(e["response"]["content"]["text"], "iVBORw==");
  EXPECT_EQ(e["startedDateTime"], "2023-11-14T22:13:20.123Z");
  EXPECT_DOUBLE_EQ(e["time"].get<double>(), 4.0);
}

}  // namespace
}  // namespace tlslab::proxy
