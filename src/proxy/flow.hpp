// proxy::Flow and HttpObserver — what the proxy saw of one HTTP/1.1 exchange.
//
// The relay hands the observer a copy of every byte it forwards, in each direction; the observer
// never changes, holds back or reorders the relayed bytes. It parses requests and responses with
// Beast's parser and emits a Flow when a response completes. Bodies are kept up to a cap (for
// --dump and HAR); their full sizes are always counted. Anything that stops parsing as HTTP/1.1
// (a protocol upgrade, HTTP/2, garbage) turns the observer off; the relay goes on regardless.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlslab::proxy {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Flow {
  std::string client;  // "127.0.0.1:50312"
  std::string host;    // the server name the client asked for
  std::string scheme = "https";
  std::string method;
  std::string target;  // as sent: "/login?x=1" (or absolute-form through an explicit proxy)
  std::string http_version = "HTTP/1.1";  // the client's leg: "HTTP/1.1", "HTTP/2.0"
  std::string authority;                   // HTTP/2's :authority ("" over HTTP/1.1: the Host field)
  std::int32_t stream_id = 0;              // the client's HTTP/2 stream (0 over HTTP/1.1)
  Headers request_headers;
  std::string request_body;  // first body_cap bytes
  std::uint64_t request_body_bytes = 0;
  std::uint64_t request_header_bytes = 0;
  int status = 0;
  std::string reason;
  std::string response_version = "HTTP/1.1";
  Headers response_headers;
  std::string response_body;
  std::uint64_t response_body_bytes = 0;
  std::uint64_t response_header_bytes = 0;
  Headers request_trailers, response_trailers;
  std::string error;  // why the exchange was cut ("stream reset by the client (CANCEL)"), "" if not
  // Milliseconds since the epoch: request started, request fully sent, first response byte, done.
  double started_ms = 0, request_done_ms = 0, response_start_ms = 0, response_done_ms = 0;
  bool complete = false;  // the response ended normally

  [[nodiscard]] std::string url() const;  // "https://www.bank32.com/login?x=1"
  [[nodiscard]] std::string request_header(std::string_view name) const;
  [[nodiscard]] std::string response_header(std::string_view name) const;
};

class HttpObserver {
 public:
  using Sink = std::function<void(Flow&&)>;
  // body_cap: bytes of each body kept; on_flow: called for each finished (or cut) exchange.
  HttpObserver(std::string client, std::string host, std::size_t body_cap, Sink on_flow);
  ~HttpObserver();
  HttpObserver(const HttpObserver&) = delete;
  HttpObserver& operator=(const HttpObserver&) = delete;

  void client_bytes(std::string_view bytes, double now_ms);
  void server_bytes(std::string_view bytes, double now_ms);
  // closed flushes an exchange cut by the end of the connection (complete = false).
  void closed(double now_ms);
  // active is false once the traffic stopped being HTTP/1.1; why() says what it became.
  [[nodiscard]] bool active() const;
  [[nodiscard]] const std::string& why() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Secret is something --dump spotlights (and --redact masks): a password form field, an
// Authorization header, a cookie, a token.
struct Secret {
  std::string where;  // "form field", "header", "query", "JSON field"
  std::string name;   // "password", "Authorization", "Cookie"
  std::string value;  // decoded ("alice:secret" for Basic auth)
};

// find_secrets lists the secrets in a flow's request (and Set-Cookie in its response).
[[nodiscard]] std::vector<Secret> find_secrets(const Flow& flow);

// redact returns text with every secret value replaced by "********".
[[nodiscard]] std::string redact(std::string text, const std::vector<Secret>& secrets);

}  // namespace tlslab::proxy
