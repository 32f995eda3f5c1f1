// The HTTP/1.1 side of `connect --get`: a request serialised to bytes, and a sans-I/O response
// reader fed the bytes that arrive (Beast's parser underneath). No sockets here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

struct ResponseInfo {
  int status = 0;
  std::string reason;
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string framing;  // "content-length", "chunked", "until close", "none"
  std::uint64_t body_bytes = 0;
  std::string body_sha256;    // hex, of the decoded body
  bool body_has_nul = false;  // looks binary
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

}  // namespace tlslab::http
