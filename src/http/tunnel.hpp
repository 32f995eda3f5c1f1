// The client side of an HTTP proxy tunnel (RFC 9110 section 9.3.6), as curl's -x opens one: the
// CONNECT request, and a sans-I/O reader of the proxy's reply (Beast's parser fed bytes).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlslab::http {

// connect_request returns the CONNECT request for authority ("www.bank32.com:443"), with the
// fields curl sends: Host, User-Agent, Proxy-Connection, and Proxy-Authorization when given.
[[nodiscard]] std::string connect_request(std::string_view authority, std::string_view user_agent,
                                          std::string_view proxy_authorization = {});

struct TunnelReply {
  int status = 0;
  std::string reason;
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;
  [[nodiscard]] bool established() const { return status >= 200 && status < 300; }
  // field returns the first value of the named field (case-insensitive); "" when absent.
  [[nodiscard]] std::string field(std::string_view name) const;
};

// TunnelReplyReader reads the proxy's reply to CONNECT up to the end of its header: a 2xx reply
// has no body (the tunnel starts right after it). Throws Failure{Receive} for bytes that are not an
// HTTP/1.x response and for a header larger than 16 KiB.
class TunnelReplyReader {
 public:
  TunnelReplyReader();
  ~TunnelReplyReader();
  TunnelReplyReader(const TunnelReplyReader&) = delete;
  TunnelReplyReader& operator=(const TunnelReplyReader&) = delete;

  // feed takes bytes as they arrive and returns how many of data belong to the reply's header;
  // once done(), the rest (if any) came after it.
  std::size_t feed(std::string_view data);
  [[nodiscard]] bool done() const;
  // reply is complete once done().
  [[nodiscard]] const TunnelReply& reply() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// refusal_text explains a reply that did not open the tunnel, naming the proxy ("127.0.0.1:8080")
// and the destination: "the proxy 127.0.0.1:8080 refused CONNECT www.bank32.com:443: 407 Proxy
// Authentication Required (it asks for credentials: Basic realm="x"; give them as -x
// http://USER:PASSWORD@HOST:PORT)".
[[nodiscard]] std::string refusal_text(const TunnelReply& reply, std::string_view proxy, std::string_view authority,
                                       bool sent_credentials);

}  // namespace tlslab::http
