#include "http/h2_frames.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlslab::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  auto len = payload.size();
  std::string f = {static_cast<char>(len >> 16),    static_cast<char>(len >> 8),    static_cast<char>(len),
                   static_cast<char>(type),         static_cast<char>(flags),       static_cast<char>(stream >> 24),
                   static_cast<char>(stream >> 16), static_cast<char>(stream >> 8), static_cast<char>(stream)};
  f.append(payload);
  return f;
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::vector<H2TraceFrame> decode(std::string_view bytes, std::size_t step = 0, bool preface = false) {
  H2FrameDecoder decoder(true, preface);
  std::vector<H2TraceFrame> out;
  if (step == 0) step = bytes.size() + 1;
  for (std::size_t i = 0; i < bytes.size(); i += step) decoder.feed(bytes.substr(i, step), out);
  return out;
}

std::string field(const H2TraceFrame& f, std::string_view name) {
  for (const auto& x : f.fields)
    if (x.name == name) return x.value;
  return "<absent>";
}

// What a client session sends for a request: preface, SETTINGS, WINDOW_UPDATE, HEADERS, DATA.
std::string client_bytes() {
  struct Quiet : H2Listener {
    void on_headers(std::int32_t, H2Fields, bool) override {}
    void on_trailers(std::int32_t, H2Fields) override {}
    void on_data(std::int32_t, std::string_view) override {}
    void on_end_stream(std::int32_t) override {}
    void on_stream_closed(std::int32_t, std::uint32_t, bool) override {}
  } quiet;
  H2Session client(H2Session::Role::Client, quiet);
  auto id = client.submit_request(
      {{":method", "POST"}, {":scheme", "https"}, {":authority", "a.example"}, {":path", "/x"}, {"x-a", "1"}}, false);
  client.send_data(id, "hello");
  client.end_stream(id);
  // A second request reuses the dynamic table: the decoder must keep its HPACK state.
  (void)client.submit_request(
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "a.example"}, {":path", "/y"}, {"x-a", "1"}}, true);
  std::string out;
  while (client.take_output(out)) {
  }
  return out;
}

TEST(H2Frames, ClientSessionInEverySplit) {
  const auto bytes = client_bytes();
  const auto whole = decode(bytes, 0, true);
  ASSERT_GE(whole.size(), 6u);
  EXPECT_EQ(whole[0].type, "preface");
  EXPECT_EQ(whole[1].type, "SETTINGS");
  EXPECT_EQ(field(whole[1], "ENABLE_PUSH"), "0");
  std::vector<const H2TraceFrame*> headers;
  for (const auto& f : whole)
    if (f.type == "HEADERS") headers.push_back(&f);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0]->stream, 1u);
  EXPECT_THAT(headers[0]->flags, ElementsAre("END_HEADERS"));
  EXPECT_EQ(
      headers[0]->headers,
      (H2Fields{
          {":method", "POST"}, {":scheme", "https"}, {":authority", "a.example"}, {":path", "/x"}, {"x-a", "1"}}));
  EXPECT_EQ(headers[1]->stream, 3u);
  EXPECT_EQ(headers[1]->headers.back(), (H2Field{"x-a", "1"}));
  auto data = std::find_if(whole.begin(), whole.end(), [](const auto& f) { return f.type == "DATA"; });
  ASSERT_NE(data, whole.end());
  EXPECT_EQ(field(*data, "data"), "5 bytes");
  EXPECT_THAT(data->flags, ElementsAre("END_STREAM"));
  for (std::size_t step : {1, 2, 9, 10, 100}) {
    auto split = decode(bytes, step, true);
    ASSERT_EQ(split.size(), whole.size()) << step;
    for (std::size_t i = 0; i < split.size(); ++i) {
      EXPECT_EQ(split[i].type, whole[i].type);
      EXPECT_EQ(split[i].fields, whole[i].fields);
      EXPECT_EQ(split[i].headers, whole[i].headers);
    }
  }
}

TEST(H2Frames, ControlFrames) {
  auto frames = decode(frame(4, 1, 0, "") + frame(6, 0, 0, "12345678") + frame(7, 0, 0, be32(5) + be32(11) + "calm\n") +
                       frame(8, 0, 3, be32(0x80000010)) + frame(3, 0, 1, be32(8)) +
                       frame(2, 0, 5, be32(0x80000003) + "\x0f") + frame(0x20, 0xff, 7, "??") +
                       frame(4, 0, 0, std::string("\x00\x03\x00\x00\x00\x80\x12\x34\x00\x00\x00\x01", 12)));
  ASSERT_EQ(frames.size(), 8u);
  EXPECT_THAT(frames[0].flags, ElementsAre("ACK"));
  EXPECT_EQ(field(frames[1], "opaque_data"), "3132333435363738");
  EXPECT_EQ(field(frames[2], "last_stream_id"), "5");
  EXPECT_EQ(field(frames[2], "error_code"), "ENHANCE_YOUR_CALM (0xb)");
  EXPECT_EQ(field(frames[2], "debug_data"), "calm\\x0a");
  EXPECT_EQ(frames[3].stream, 3u);
  EXPECT_EQ(field(frames[3], "window_size_increment"), "16");
  EXPECT_EQ(field(frames[4], "error_code"), "CANCEL (0x8)");
  EXPECT_EQ(field(frames[5], "priority"), "depends on stream 3 (exclusive), weight 16");
  EXPECT_EQ(frames[6].type, "unknown (0x20)");
  EXPECT_EQ(frames[6].flags.size(), 8u);
  EXPECT_EQ(frames[6].flags[0], "0x01");
  EXPECT_EQ(field(frames[7], "MAX_CONCURRENT_STREAMS"), "128");
  EXPECT_EQ(field(frames[7], "unknown (0x1234)"), "1");
}

TEST(H2Frames, MalformedPayloadsSayWhy) {
  auto frames = decode(frame(4, 0, 0, "12345") + frame(6, 0, 0, "1234") + frame(7, 0, 0, "1234") + frame(8, 0, 0, "") +
                       frame(0, 8, 1, "") + frame(0, 8, 1, "\x05xx") + frame(1, 8, 1, "\x09x"));
  ASSERT_EQ(frames.size(), 7u);
  EXPECT_THAT(field(frames[0], "error"), HasSubstr("multiple of 6 bytes, not 5"));
  EXPECT_THAT(field(frames[1], "error"), HasSubstr("must be 8 bytes, not 4"));
  EXPECT_THAT(field(frames[2], "error"), HasSubstr("at least 8 bytes"));
  EXPECT_THAT(field(frames[3], "error"), HasSubstr("must be 4 bytes, not 0"));
  EXPECT_THAT(field(frames[4], "error"), HasSubstr("without its pad length"));
  EXPECT_THAT(field(frames[5], "error"), HasSubstr("5 bytes of padding in a payload of 3"));
  EXPECT_THAT(field(frames[6], "error"), HasSubstr("9 bytes of padding"));
}

TEST(H2Frames, PaddedPriorityHeadersAndContinuation) {
  // :method GET, :scheme https (static table), then a literal split across CONTINUATION.
  std::string literal = std::string("\x40\x03x-a\x05", 6) + "hello";
  std::string first = std::string("\x82\x87", 2) + literal.substr(0, 4);
  auto bytes = frame(1, 0x08 | 0x20, 1, std::string("\x02", 1) + be32(0) + std::string(1, '\0') + first + "pp") +
               frame(9, 0x04, 1, literal.substr(4));
  for (std::size_t step : {1, 3, 1000}) {
    auto frames = decode(bytes, step);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(field(frames[0], "padding"), "2");
    EXPECT_EQ(field(frames[0], "priority"), "depends on stream 0, weight 1");
    EXPECT_EQ(frames[0].headers, (H2Fields{{":method", "GET"}, {":scheme", "https"}}));
    EXPECT_EQ(frames[1].type, "CONTINUATION");
    EXPECT_EQ(frames[1].headers, (H2Fields{{"x-a", "hello"}}));
  }
}

TEST(H2Frames, BrokenHpackStopsHeaderDecodingForTheDirection) {
  // Index 0 is not a valid HPACK index (RFC 7541 §6.1).
  auto frames = decode(frame(1, 4, 1, std::string("\x80", 1)) + frame(1, 4, 3, std::string("\x82", 1)));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_THAT(field(frames[0], "error"), HasSubstr("HPACK"));
  EXPECT_THAT(field(frames[1], "error"), HasSubstr("earlier header block"));
  EXPECT_TRUE(frames[1].headers.empty());
}

TEST(H2Frames, HeaderBlockCutInAFieldIsAnError) {
  auto frames = decode(frame(1, 4, 1, std::string("\x40\x03x-a\x09", 6) + "abc"));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(field(frames[0], "error"), HasSubstr("HPACK"));
}

TEST(H2Frames, PeerTextIsEscaped) {
  std::string literal = std::string("\x40\x03x-a\x03", 6) + "a\x1b[";
  auto frames = decode(frame(1, 4, 1, literal));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].headers, (H2Fields{{"x-a", "a\\x1b["}}));
}

TEST(H2Frames, DataIsShownBeforeItsPayloadArrivesAndNotKept) {
  H2FrameDecoder decoder(false);
  std::vector<H2TraceFrame> out;
  auto big = frame(0, 1, 1, std::string(100000, 'x'));
  decoder.feed(std::string_view(big).substr(0, 9), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].length, 100000u);
  EXPECT_FALSE(out[0].sent);
  decoder.feed(big.substr(9) + frame(6, 1, 0, "12345678"), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].type, "PING");
}

TEST(H2Frames, WrongPrefaceIsReported) {
  auto frames = decode("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, true);
  ASSERT_GE(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, "preface");
  EXPECT_THAT(field(frames[0], "error"), HasSubstr("not the HTTP/2 client preface"));
}

TEST(H2Frames, Names) {
  EXPECT_EQ(h2_frame_type_name(8), "WINDOW_UPDATE");
  EXPECT_EQ(h2_frame_type_name(0x10), "PRIORITY_UPDATE");
  EXPECT_EQ(h2_setting_name(9), "NO_RFC7540_PRIORITIES");
  EXPECT_EQ(h2_setting_name(7), "unknown (0x0007)");
}

}  // namespace
}  // namespace tlslab::http
