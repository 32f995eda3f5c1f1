// http::request_start_error — whether the first bytes of a request can already be told malformed,
// before its header is complete.
//
// Beast's parser reads a header only once it has all of it (up to the blank line), so a client that
// sends garbage without a blank line — a TLS ClientHello sent to a plain-HTTP port, random bytes —
// would be answered only at the timeout. This looks at what has arrived: a complete request line is
// parsed by Beast, and a partial one is checked for bytes no request line holds. A prefix of a valid
// request is never called malformed.
#pragma once

#include <string>
#include <string_view>

namespace tlslab::http {

// request_start_error returns why received (the first bytes of a request, possibly incomplete) is
// no HTTP/1 request; "" when it may still become one.
[[nodiscard]] std::string request_start_error(std::string_view received);

}  // namespace tlslab::http
