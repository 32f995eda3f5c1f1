#include "report/flow_render.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tlslab::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kStart = 1'700'000'000'000.0;  // milliseconds since the epoch

proxy::Flow login() {
  proxy::Flow f;
  f.host = "www.bank32.com";
  f.method = "POST";
  f.target = "/login";
  f.request_headers = {{"Host", "www.bank32.com"}, {"Content-Type", "application/x-www-form-urlencoded"}};
  f.request_body = "username=alice&password=********";
  f.request_body_bytes = 30;
  f.started_ms = kStart;
  f.request_done_ms = kStart + 0.1;
  return f;
}

TEST(FlowRender, AnsweredFlow) {
  auto f = login();
  f.status = 200;
  f.reason = "OK";
  f.response_start_ms = kStart + 1.1;
  f.response_done_ms = kStart + 1.2;
  f.response_body = "hello";
  f.response_body_bytes = 189;
  f.complete = true;
  EXPECT_EQ(flow_line(f, "127.0.0.1:50312"),
            "127.0.0.1:50312 www.bank32.com \"POST https://www.bank32.com/login\" 200 up 30 B, down 189 B, 1.2 ms "
            "(first byte 1.1 ms)");
  auto j = nlohmann::json::parse(flow_json_line(f, "127.0.0.1:50312"));
  EXPECT_EQ(j["status"], 200);
  EXPECT_NEAR(j["ttfb_ms"].get<double>(), 1.1, 1e-3);
  EXPECT_TRUE(j["error"].is_null());
}

TEST(FlowRender, NoResponseIsSaidSoWithoutStatusOrNegativeTimes) {
  auto f = login();
  f.response_done_ms = kStart + 2.1;
  f.error = "the connection ended before a response";
  auto line = flow_line(f, "127.0.0.1:50312");
  EXPECT_EQ(line,
            "127.0.0.1:50312 www.bank32.com \"POST https://www.bank32.com/login\" no response (cut after 2.1 ms: the "
            "connection ended before a response)");
  auto j = nlohmann::json::parse(flow_json_line(f, "127.0.0.1:50312"));
  EXPECT_TRUE(j["status"].is_null());
  EXPECT_TRUE(j["ttfb_ms"].is_null());
  EXPECT_NEAR(j["ms"].get<double>(), 2.1, 1e-3);
  EXPECT_EQ(j["error"], "the connection ended before a response");
  // Not even the end reached: no time at all.
  f.response_done_ms = 0;
  f.error.clear();
  EXPECT_THAT(flow_line(f, "c"), HasSubstr("\" no response (the connection ended)"));
  auto dump = flow_dump(f, {{"form field", "password", "s3cret"}}, {true, 1024},
                        {"c", "127.0.0.1:1", proxy::Legs{"TLSv1.3", "", "TLSv1.2", "http/1.1", true}});
  EXPECT_THAT(dump, HasSubstr("  !! form field password = ********\n< (no response)\n"));
  EXPECT_THAT(dump, Not(HasSubstr("s3cret")));
  EXPECT_THAT(dump, Not(HasSubstr("< HTTP/1.1 0")));
}

TEST(FlowRender, CutResponseAndBodySizes) {
  auto f = login();
  f.status = 200;
  f.reason = "OK";
  f.response_start_ms = kStart + 1;
  f.response_done_ms = kStart + 3;
  f.response_body = "partial";
  f.response_body_bytes = 7;
  f.error = "the connection ended before the response was complete";
  EXPECT_THAT(flow_line(f, "c"),
              HasSubstr("200 up 30 B, down 7 B, 3.0 ms (first byte 1.0 ms) (cut short: the connection ended before "
                        "the response was complete)"));
  // A redacted body shorter than its byte count is not a cut one: only the cap says so.
  f.response_body_bytes = 20;
  EXPECT_THAT(flow_dump(f, {}, {false, 1024}, {}), Not(HasSubstr("bytes in all")));
  f.response_body_bytes = 5000;
  EXPECT_THAT(flow_dump(f, {}, {false, 1024}, {}), HasSubstr("< … (5000 bytes in all)"));
}

}  // namespace
}  // namespace tlslab::report
