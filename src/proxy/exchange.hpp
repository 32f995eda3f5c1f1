// proxy::Exchange — the HTTP layer between an intercepted client and the real server, without
// I/O. Each leg speaks HTTP/1.1 or HTTP/2 (chosen by ALPN, independently: a client on h2 with a
// server on HTTP/1.1 works, and the reverse). The executor (net/proxy.cpp) feeds it the decrypted
// bytes of each leg and writes what it gives back; the exchange parses both legs (nghttp2 for
// HTTP/2, Beast for HTTP/1.1), forwards each request and response to the other leg, and emits one
// Flow per request/response pair (an HTTP/2 stream or an HTTP/1.1 exchange).
//
// Flow control is end to end: bytes received on one leg are acknowledged to their sender (HTTP/2
// WINDOW_UPDATE) only once the other leg's session has taken them, and a leg's unsent output is
// bounded, so a slow reader on either side makes the proxy stop reading from the other instead of
// buffering without bound. RST_STREAM and GOAWAY are passed on; trailers are relayed; server push
// is refused towards the real server (SETTINGS_ENABLE_PUSH 0).
//
// The executor's loop, per leg: read only while wants_*_data(); after feeding or writing anything,
// drain both take_*_output() and write what they gave; once *_done() and the leg's output is
// empty, end the leg (close_notify); stop when finished().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/flow.hpp"

namespace tlslab::proxy {

enum class HttpProtocol { Http1, Http2 };

// http_protocol maps a negotiated ALPN protocol to the leg's HTTP version ("h2" -> Http2; "",
// "http/1.1", "http/1.0" -> Http1); any other protocol is not HTTP and returns false.
[[nodiscard]] bool http_protocol(std::string_view alpn, HttpProtocol& out);

struct ExchangeOptions {
  std::string client;  // the client's address, for flows: "127.0.0.1:50312"
  std::string host;    // the name the client asked for: the authority when a request names none
  std::string scheme = "https";
  std::size_t body_cap = 64 * 1024;        // bytes of each body kept in a Flow
  std::size_t leg_buffer = 1024 * 1024;    // unsent output per leg before reading the other leg pauses
  std::uint32_t max_streams = 100;         // concurrent streams offered to an HTTP/2 client
  std::uint32_t stream_window = 1 << 20;   // HTTP/2 per-stream receive window (bytes in flight per stream)
};

class Exchange {
 public:
  using Sink = std::function<void(Flow&&)>;
  // on_flow is called once per request: when its response ended, or when it was cut (reset,
  // connection ended) with complete = false and status 0 if no response began.
  Exchange(HttpProtocol client_leg, HttpProtocol upstream_leg, ExchangeOptions options, Sink on_flow);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Bytes from each leg (decrypted); now_ms is the wall clock in milliseconds since the epoch.
  void client_data(std::string_view bytes, double now_ms);
  void upstream_data(std::string_view bytes, double now_ms);
  // The leg ended: clean is a close_notify/FIN after complete messages, false a cut or an error.
  void client_closed(bool clean, double now_ms);
  void upstream_closed(bool clean, double now_ms);

  // take_*_output appends the bytes to write to that leg to out; false when there are none.
  bool take_client_output(std::string& out);
  bool take_upstream_output(std::string& out);

  // Backpressure: read from a leg only while this is true.
  [[nodiscard]] bool wants_client_data() const;
  [[nodiscard]] bool wants_upstream_data() const;

  // Nothing more will be written to that leg once its output is taken: end it (close_notify).
  [[nodiscard]] bool client_done() const;
  [[nodiscard]] bool upstream_done() const;
  // Both legs are done: close both connections.
  [[nodiscard]] bool finished() const;

  // A protocol error that ended or will end the exchange ("" if none), for the log.
  [[nodiscard]] const std::string& error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlslab::proxy
