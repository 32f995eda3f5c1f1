// The HTTP message heads the proxy passes between an HTTP/1.1 leg and an HTTP/2 leg, and the
// translations between them (RFC 9113 §8.2 and §8.3): pseudo-header fields to and from the
// request line and Host, connection-specific fields dropped, cookies joined for HTTP/1.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/h2_session.hpp"
#include "proxy/flow.hpp"

namespace tlslab::proxy {

// strip_hop_by_hop removes the fields that concern one connection only (RFC 9110 §7.6.1):
// Connection and every field it names, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade,
// TE, and the proxy's own Proxy-Authorization and Proxy-Authenticate. Returns true when TE asked for trailers (the one
// TE value HTTP/2 carries). Names are compared without regard to case.
bool strip_hop_by_hop(Headers& fields);

// HttpHead is a request or response head as one leg received it, for the other leg to send:
// regular fields only (no pseudo-header fields), names as received.
struct HttpHead {
  std::string method, scheme, authority, target;  // a request (authority "" when only Host names it)
  int status = 0;                                 // a response
  std::string reason;
  int version = 11;  // 10, 11 (HTTP/1.x) or 20
  Headers fields;

  // content_length is the Content-Length field's value; nullopt when absent or not one number.
  [[nodiscard]] std::optional<std::uint64_t> content_length() const;
  [[nodiscard]] std::string field(std::string_view name) const;  // "" when absent
};

// head_from_h2 splits an HTTP/2 header block into a head; false (why says what) for a malformed
// one: a missing or unknown pseudo-header, pseudo-header fields after regular ones, an upper-case
// name, a connection-specific field (RFC 9113 §8.2.2). request picks which pseudo-headers apply.
bool head_from_h2(const http::H2Fields& block, bool request, HttpHead& out, std::string& why);

// A request head for an HTTP/2 leg: :method, :scheme, :authority (the head's, else its Host field,
// else fallback_authority), :path, then the regular fields lower-cased, without Host and the
// connection-specific fields; "te: trailers" kept when asked for.
[[nodiscard]] http::H2Fields h2_request_block(const HttpHead& head, std::string_view fallback_authority);
// A response head for an HTTP/2 leg: :status and the regular fields as above.
[[nodiscard]] http::H2Fields h2_response_block(const HttpHead& head);
// Trailer fields for HTTP/2: lower-case names, no connection-specific fields.
[[nodiscard]] http::H2Fields h2_trailer_block(const Headers& trailers);
[[nodiscard]] Headers headers_from_h2(const http::H2Fields& block);  // regular fields only

// How an HTTP/1.1 message's body is delimited on the wire.
enum class Framing { None, Length, Chunked, UntilClose };

// h1_request_head serializes a request head for an HTTP/1.1 leg with Beast: the request line, Host
// (from the authority when there is one), the regular fields without connection-specific ones,
// cookies joined with "; " (RFC 9113 §8.2.3), and the framing: Content-Length when known (0 for a
// POST, PUT or PATCH without a body), else chunked. has_body false: the request ends with its head.
[[nodiscard]] std::string h1_request_head(const HttpHead& head, bool has_body, std::string_view fallback_authority,
                                          Framing& framing);
// h1_response_head serializes a response head for an HTTP/1.1 leg. no_body_expected: the request
// was HEAD or the status is 1xx, 204 or 304 (Content-Length kept as it describes the absent body).
// chunked_ok: the client speaks HTTP/1.1 (else a body of unknown length runs until the connection
// closes). close adds "Connection: close".
[[nodiscard]] std::string h1_response_head(const HttpHead& head, bool has_body, bool no_body_expected, bool chunked_ok,
                                           bool close, Framing& framing);
// The wire form of a chunk, and of the last chunk with its trailers.
[[nodiscard]] std::string h1_chunk(std::string_view data);
[[nodiscard]] std::string h1_last_chunk(const Headers& trailers);

// no_response_body: a response to this method with this status has no body (RFC 9110 §6.4.1).
[[nodiscard]] bool no_response_body(std::string_view method, int status);

}  // namespace tlslab::proxy
