// In-memory HTTP/2 peers for the tests of http::H2Session and the h2_session fuzzer's seeds
// (tests/fuzz/write_seeds.cpp): a listener that records what a session says, requests, raw frames.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/h2_session.hpp"

namespace tlslab::http::session_sample {

constexpr std::uint32_t kNoError = 0, kProtocolError = 1, kRefusedStream = 7, kCancel = 8, kEnhanceYourCalm = 11;

// Records what a session tells its owner; consumes received bytes at once unless told not to.
struct Recorder : H2Listener {
  struct Stream {
    std::vector<H2Fields> headers;  // every header block that opened a message (1xx first)
    bool headers_end = false;
    H2Fields trailers;
    std::string body;
    std::size_t unconsumed = 0;
    bool ended = false;  // on_end_stream
    int closes = 0;
    std::uint32_t close_code = 0;
    bool reset_by_peer = false;
    std::size_t sent = 0;
  };
  H2Session* session = nullptr;
  bool auto_consume = true;
  std::map<std::int32_t, Stream> streams;
  std::function<void(std::int32_t)> on_request;  // server: called when a request's headers arrive
  int goaways = 0;
  std::int32_t goaway_last = -1;
  std::uint32_t goaway_code = 0;
  int settings = 0;

  void on_headers(std::int32_t stream, H2Fields fields, bool end_stream) override {
    streams[stream].headers.push_back(std::move(fields));
    streams[stream].headers_end = end_stream;
    if (on_request) on_request(stream);
  }
  void on_trailers(std::int32_t stream, H2Fields fields) override { streams[stream].trailers = std::move(fields); }
  void on_data(std::int32_t stream, std::string_view bytes) override {
    auto& s = streams[stream];
    s.body.append(bytes);
    if (auto_consume)
      session->consume(stream, bytes.size());
    else
      s.unconsumed += bytes.size();
  }
  void on_end_stream(std::int32_t stream) override { streams[stream].ended = true; }
  void on_stream_closed(std::int32_t stream, std::uint32_t error_code, bool reset_by_peer) override {
    auto& s = streams[stream];
    ++s.closes;
    s.close_code = error_code;
    s.reset_by_peer = reset_by_peer;
  }
  void on_goaway(std::int32_t last_stream, std::uint32_t error_code) override {
    ++goaways;
    goaway_last = last_stream;
    goaway_code = error_code;
  }
  void on_settings() override { ++settings; }
  void on_data_sent(std::int32_t stream, std::size_t bytes) override { streams[stream].sent += bytes; }

  void consume_all() {
    for (auto& [id, s] : streams) {
      session->consume(id, s.unconsumed);
      s.unconsumed = 0;
    }
  }
};

inline H2Fields request(std::string method = "GET", std::string path = "/") {
  return {
      {":method", std::move(method)}, {":scheme", "https"}, {":authority", "example.com"}, {":path", std::move(path)}};
}

inline H2Fields status(std::string code) { return {{":status", std::move(code)}}; }

inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// Raw frames, for a peer that misbehaves.
inline std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string f;
  auto len = payload.size();
  f += static_cast<char>(len >> 16);
  f += static_cast<char>(len >> 8);
  f += static_cast<char>(len);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += static_cast<char>(stream >> 24);
  f += static_cast<char>(stream >> 16);
  f += static_cast<char>(stream >> 8);
  f += static_cast<char>(stream);
  f.append(payload);
  return f;
}

inline std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

constexpr std::uint8_t kData = 0, kHeaders = 1, kRstStream = 3, kSettings = 4, kPushPromise = 5, kPing = 6, kGoaway = 7,
                       kContinuation = 9;
constexpr std::uint8_t kEndStream = 1, kAck = 1, kEndHeaders = 4;

inline const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A request header block in HPACK: GET https / (static table), :authority as a literal without indexing.
inline std::string hpack_request() { return std::string("\x82\x87\x84\x01\x0b", 5) + "example.com"; }

inline std::string drain(H2Session& session) {
  std::string out;
  while (session.take_output(out)) {
  }
  return out;
}

}  // namespace tlslab::http::session_sample
