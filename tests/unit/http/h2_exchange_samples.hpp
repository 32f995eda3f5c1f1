// connect's HTTP/2 exchange against an in-memory server H2Session, for its tests and the seeds of
// the h2_client and h2_frames fuzzers (tests/fuzz/write_seeds.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/client_exchange.hpp"
#include "http/h2_client_exchange.hpp"
#include "http/h2_session.hpp"

namespace tlslab::http::exchange_sample {

constexpr std::uint32_t kCancel = 8, kRefusedStream = 7;

inline RequestSpec get(std::string path = "/") {
  return RequestSpec{
      .method = "GET", .target = std::move(path), .host = "www.bank32.com:4433", .user_agent = "tlslab/0"};
}

inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 % 251);
  return s;
}

// A server H2Session in memory that answers each request with respond(stream, request, body).
struct Server : H2Listener {
  H2Session session{H2Session::Role::Server, *this};
  H2Fields request;
  std::string body;
  bool request_ended = false;
  std::uint32_t closed_code = 0;
  bool closed = false;
  std::function<void(std::int32_t)> respond;

  void on_headers(std::int32_t stream, H2Fields fields, bool end_stream) override {
    request = std::move(fields);
    if (end_stream) ended(stream);
  }
  void on_trailers(std::int32_t stream, H2Fields) override { ended(stream); }
  void on_data(std::int32_t stream, std::string_view bytes) override {
    body.append(bytes);
    session.consume(stream, bytes.size());
  }
  void on_end_stream(std::int32_t stream) override { ended(stream); }
  void on_stream_closed(std::int32_t, std::uint32_t error_code, bool) override {
    closed = true;
    closed_code = error_code;
  }
  void ended(std::int32_t stream) {
    request_ended = true;
    if (respond) respond(stream);
  }
};

// Talk runs an exchange against the server, moving the server's bytes in pieces of step.
struct Talk {
  explicit Talk(RequestSpec spec = get(), std::optional<std::uint64_t> max_body = {}, bool trace = false)
      : exchange(make_h2_exchange(
            spec, [this](std::string_view d) { received.append(d); }, max_body, spec.method == "HEAD", trace)) {}

  // run pumps until the exchange is done or nothing moves; the server's bytes are fed step at a time.
  void run(std::size_t step = 100000) {
    for (int round = 0; round < 1000 && !exchange->done(); ++round) {
      std::string out;
      bool any = exchange->take_output(out);
      if (any) {
        from_client += out;
        EXPECT_TRUE(server.session.receive(out)) << server.session.error();
      }
      std::string back;
      if (server.session.take_output(back)) {
        any = true;
        from_server += back;
        for (std::size_t i = 0; i < back.size(); i += step) exchange->feed(std::string_view(back).substr(i, step));
      }
      if (!any) break;
    }
  }

  std::string received;
  std::string from_server;  // every byte the server sent, for the fuzzers' seeds
  std::string from_client;
  Server server;
  std::unique_ptr<ClientExchange> exchange;
};

inline H2Fields status(std::string code) { return {{":status", std::move(code)}}; }

}  // namespace tlslab::http::exchange_sample
