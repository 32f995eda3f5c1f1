// scan's look at the server as a web server: the request sent after the main handshake, and what
// the head of the response says (the status and Strict-Transport-Security). No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlslab::scan {

// probe_request returns "GET / HTTP/1.1" for host_header ("www.bank32.com", "[::1]:4433") with
// User-Agent: tlslab/scan and Connection: close (http::serialize_request without its Accept).
[[nodiscard]] std::string probe_request(std::string_view host_header);

// HttpHead is what the response's head tells the scan; all empty when it is not an HTTP/1.x
// response.
struct HttpHead {
  std::optional<int> status;
  std::optional<std::string> hsts;           // the Strict-Transport-Security value; the last one when repeated
  std::optional<std::int64_t> hsts_max_age;  // its max-age (RFC 6797 section 6.1.1)
};

// read_http_head reads the first bytes of the server's response with Beast's parser: the status
// and the Strict-Transport-Security field. Bytes that are not an HTTP/1.x response head, or a head
// not complete yet, give an empty HttpHead; what follows the head is not read.
[[nodiscard]] HttpHead read_http_head(std::string_view response);

// hsts_max_age reads the max-age directive of a Strict-Transport-Security value, in any case and
// quoted or not ("max-age=31536000; includeSubDomains"); nothing when there is none.
[[nodiscard]] std::optional<std::int64_t> hsts_max_age(std::string_view value);

}  // namespace tlslab::scan
