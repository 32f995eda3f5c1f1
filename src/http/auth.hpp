// HTTP Basic authentication (RFC 7617), as curl sends it for a URL's user:password@ and -x's.
#pragma once

#include <string>
#include <string_view>

namespace tlslab::http {

// basic_credentials returns the value of an Authorization (or Proxy-Authorization) field:
// "Basic " followed by base64 of "user:password", the bytes sent as they are (UTF-8, as curl does).
[[nodiscard]] std::string basic_credentials(std::string_view user, std::string_view password);

}  // namespace tlslab::http
