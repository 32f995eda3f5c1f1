#include "http/client_exchange.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/failure.hpp"

namespace tlslab::http {
namespace {

using ::testing::HasSubstr;

TEST(Request, SerialisesWithHostAndOverrides) {
  RequestSpec spec{.method = "POST",
                   .target = "/login",
                   .host = "www.bank32.com:4433",
                   .headers = {{"Accept", "text/html"}, {"User-Agent", ""}, {"X-Lab", "1"}},
                   .body = "user=a&pw=b",
                   .user_agent = "tlslab/0"};
  auto bytes = serialize_request(spec);
  EXPECT_EQ(bytes,
            "POST /login HTTP/1.1\r\nHost: www.bank32.com:4433\r\nAccept: text/html\r\nConnection: close\r\n"
            "Content-Length: 11\r\nX-Lab: 1\r\n\r\nuser=a&pw=b");
}

TEST(Request, HeaderOptionParsing) {
  auto [name, value] = parse_header_option("X-A:   b c");
  EXPECT_EQ(name, "X-A");
  EXPECT_EQ(value, "b c");
  EXPECT_THROW((void)parse_header_option("no colon"), Failure);
  EXPECT_THROW((void)parse_header_option("Bad Name: x"), Failure);
}

std::string read_all(std::string_view wire, size_t step, ResponseInfo& info, std::optional<std::uint64_t> limit = {}) {
  std::string body;
  ResponseReader reader([&](std::string_view d) { body.append(d); }, limit);
  for (size_t i = 0; i < wire.size(); i += step) reader.feed(wire.substr(i, step));
  reader.finish_eof();
  info = reader.info();
  return body;
}

TEST(Response, ContentLengthChunkedAndCloseInAnySplit) {
  const std::string binary("a\0b\xff", 4);
  const std::string cl = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n" + binary;
  using namespace std::string_literals;
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\na\0\r\n2\r\nb\xff\r\n0\r\n\r\n"s;
  const std::string until_close = "HTTP/1.0 200 ok\r\nContent-type: x\r\n\r\n" + binary;
  for (size_t step : {1, 3, 1000}) {
    ResponseInfo info;
    EXPECT_EQ(read_all(cl, step, info), binary);
    EXPECT_EQ(info.framing, "content-length");
    EXPECT_TRUE(info.body_has_nul);
    EXPECT_EQ(read_all(std::string_view(chunked.data(), chunked.size()), step, info), binary);
    EXPECT_EQ(info.framing, "chunked");
    EXPECT_EQ(read_all(until_close, step, info), binary);
    EXPECT_EQ(info.framing, "until close");
    EXPECT_EQ(info.status, 200);
    EXPECT_EQ(info.body_bytes, 4u);
    EXPECT_EQ(info.body_sha256.size(), 64u);
  }
}

TEST(Response, CutShortGarbageAndTooLarge) {
  ResponseInfo info;
  try {
    read_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100, info);
    ADD_FAILURE();
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::Receive);
    EXPECT_THAT(f.what(), HasSubstr("middle of the response"));
  }
  try {
    read_all("SSH-2.0-OpenSSH\r\n\r\n", 100, info);
    ADD_FAILURE();
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::Receive);
  }
  try {
    read_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 100, info, 5);
    ADD_FAILURE();
  } catch (const Failure& f) {
    EXPECT_EQ(f.kind(), Kind::TooLarge);
  }
  try {
    read_all("", 100, info);
    ADD_FAILURE();
  } catch (const Failure& f) {
    EXPECT_THAT(f.what(), HasSubstr("without sending a response"));
  }
}

}  // namespace
}  // namespace tlslab::http
