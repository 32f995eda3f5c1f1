// The HTTP/2 side of `tlslab connect`'s request: one stream of a client H2Session (nghttp2), in the
// same ClientExchange shape as HTTP/1.1, so the connection's driver moves bytes the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "http/client_exchange.hpp"
#include "http/h2_session.hpp"

namespace tlslab::http {

// h2_request_fields is spec as an HTTP/2 header block (RFC 9113 §8.3.1): :method, :scheme https,
// :authority (a Host given with -H replaces spec.host), :path, then user-agent, accept,
// content-length (as serialize_request sends them) and the user's headers, names lower-cased;
// user headers replace defaults of the same name and an empty value removes one. Fields that
// concern one HTTP/1.1 connection only (Connection, Keep-Alive, Proxy-Connection,
// Transfer-Encoding, Upgrade, TE other than "trailers") are left out, as curl does: RFC 9113
// §8.2.2 makes a message that carries them malformed.
[[nodiscard]] H2Fields h2_request_fields(const RequestSpec& spec);

// make_h2_exchange opens a client session: its output starts with the connection preface and our
// SETTINGS, then the request on stream 1 (its body framed as the server's windows allow). The
// response is done at the server's END_STREAM; a GOAWAY follows it. A stream the server resets,
// a GOAWAY that leaves our stream out, or a connection error fails with Failure{Receive}. With
// trace, take_frames gives every frame both ways, decoded.
[[nodiscard]] std::unique_ptr<ClientExchange> make_h2_exchange(const RequestSpec& spec, ClientExchange::Sink sink,
                                                               std::optional<std::uint64_t> max_body, bool head_request,
                                                               bool trace);

}  // namespace tlslab::http
