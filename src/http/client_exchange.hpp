// The client side of `tlslab connect`'s request: a request, the bytes to send for it, and a
// sans-I/O reader of the response fed the bytes that arrive. ClientExchange is the shape both HTTP
// versions share (HTTP/1.1 here, with Beast's parser underneath; HTTP/2 in h2_client_exchange.hpp),
// so the connection's driver does not depend on the version. No sockets here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/h2_frames.hpp"

namespace tlslab::http {

struct RequestSpec {
  std::string method = "GET";
  std::string target = "/";
  std::string host;                                          // Host header value ("www.bank32.com", "[::1]:4433")
  std::vector<std::pair<std::string, std::string>> headers;  // user headers; override the defaults
  std::string body;
  std::string user_agent;
};

// serialize_request renders spec as HTTP/1.1 bytes: Host, User-Agent, Accept, Connection: close,
// Content-Length when there is a body; user headers replace defaults of the same name, and an
// empty value removes one (curl's -H 'Name:').
[[nodiscard]] std::string serialize_request(const RequestSpec& spec);

// parse_header_option splits "Name: value" (-H); Failure{Usage} if there is no colon or the name
// is not a token.
[[nodiscard]] std::pair<std::string, std::string> parse_header_option(std::string_view text);

// What HTTP/2 adds: the stream the response came on and the server's SETTINGS.
struct Http2Facts {
  std::int32_t stream = 0;
  // How the stream ended: "end_stream" (the server's END_STREAM), "reset_by_server",
  // "reset_by_client" (RST_STREAM from us: a --max-filesize or file error), "open" (cut short).
  std::string stream_end = "open";
  std::uint32_t error_code = 0;                                          // the RST_STREAM's code
  std::vector<std::pair<std::uint16_t, std::uint32_t>> server_settings;  // as sent, in order
};

struct ResponseInfo {
  int status = 0;
  std::string reason;
  std::string version;  // "HTTP/1.1", "HTTP/2" (whose responses have no reason phrase: reason "")
  std::vector<std::pair<std::string, std::string>> headers;
  std::string framing;  // "content-length", "chunked", "until close", "none"; HTTP/2: "data frames", "none"
  std::uint64_t body_bytes = 0;
  std::string body_sha256;                                    // hex, of the decoded body
  bool body_has_nul = false;                                  // looks binary
  std::vector<std::pair<std::string, std::string>> trailers;  // HTTP/2: the header block after the body
  std::optional<Http2Facts> http2;                            // HTTP/2 only
};

// ResponseReader parses one response from bytes fed in arrival order. Body bytes go to the sink
// as they are decoded (de-chunked); nothing is buffered whole. Throws Failure{Receive} for bytes
// that are not HTTP, Failure{TooLarge} when the body exceeds max_body.
class ResponseReader {
 public:
  using Sink = std::function<void(std::string_view)>;
  ResponseReader(Sink sink, std::optional<std::uint64_t> max_body, bool head_request = false);
  ~ResponseReader();
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // feed consumes all of data (keeping an incomplete tail for the next call).
  void feed(std::string_view data);
  // finish_eof tells the reader the peer closed; throws Failure{Receive} if the response was cut.
  void finish_eof();
  [[nodiscard]] bool header_done() const;
  // status is the response's status code once header_done(), 0 before.
  [[nodiscard]] int status() const;
  [[nodiscard]] bool done() const;
  // info is complete once done(); header fields are set once header_done().
  [[nodiscard]] ResponseInfo info() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ClientExchange is one request and its response over a connection, for a driver that moves the
// bytes: it sends what take_output gives (before reading, and again after each feed), feeds what
// arrives, and stops when done(). Body bytes go to the sink as they are decoded. feed and
// finish_eof throw Failure{Receive} for a broken or cut response and Failure{TooLarge} past
// max_body, as ResponseReader does; a Failure thrown by the sink (a file that cannot be written)
// comes out of feed.
class ClientExchange {
 public:
  using Sink = ResponseReader::Sink;
  virtual ~ClientExchange() = default;
  // take_output appends the bytes to send now to out; false when there are none.
  virtual bool take_output(std::string& out) = 0;
  virtual void feed(std::string_view data) = 0;
  // finish_eof: the server closed the connection (TLS close_notify or TCP end).
  virtual void finish_eof() = 0;
  [[nodiscard]] virtual bool header_done() const = 0;
  [[nodiscard]] virtual int status() const = 0;
  [[nodiscard]] virtual bool done() const = 0;
  [[nodiscard]] virtual ResponseInfo info() const = 0;
  // take_frames moves the decoded HTTP/2 frames (both ways, in order) to out: with trace on, for
  // HTTP/2; nothing otherwise.
  virtual void take_frames(std::vector<H2TraceFrame>& out) { (void)out; }
};

// make_http1_exchange sends serialize_request(spec) and reads the response with ResponseReader.
[[nodiscard]] std::unique_ptr<ClientExchange> make_http1_exchange(const RequestSpec& spec, ClientExchange::Sink sink,
                                                                  std::optional<std::uint64_t> max_body,
                                                                  bool head_request);

}  // namespace tlslab::http
