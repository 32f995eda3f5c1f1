// ALPN decisions of the proxy, apart from any socket: what it offers the real server for a client's
// offer, and what it answers the client once it knows what the real server chose. The two legs are
// independent for HTTP: the proxy serves h2 to a client that offers it whatever the real server
// speaks (it translates), and with --http2 off neither leg is offered h2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlslab::proxy {

enum class Http2Mode { Auto, Off };

enum class HttpProtocol { Http1, Http2 };

// http_protocol maps a negotiated ALPN protocol to the leg's HTTP version ("h2" -> Http2; "",
// "http/1.1", "http/1.0" -> Http1); any other protocol is not HTTP and returns false.
[[nodiscard]] bool http_protocol(std::string_view alpn, HttpProtocol& out);

// upstream_offer is the ALPN list sent to the real server for the client's offer: the client's
// list without h2 when HTTP/2 is off; with an HTTP/1.1 fallback added after h2 when the client
// offered h2 only (so a server without HTTP/2 can still answer, and the proxy translates).
[[nodiscard]] std::vector<std::string> upstream_offer(const std::vector<std::string>& client_offer, Http2Mode mode);

// client_choice is the protocol the proxy selects for the client ("" for none), given what the
// real server selected ("" for none). HTTP is served in the client's preferred version the proxy
// can give (h2 first when offered and allowed, then http/1.1); any other protocol is mirrored only
// if it is the real server's choice (it is relayed as bytes).
[[nodiscard]] std::string client_choice(const std::vector<std::string>& client_offer, const std::string& upstream,
                                        Http2Mode mode);

// is_http_alpn tells whether a negotiated protocol is HTTP the proxy can read: "", "http/1.1",
// "http/1.0" or "h2".
[[nodiscard]] bool is_http_alpn(const std::string& protocol);

}  // namespace tlslab::proxy
