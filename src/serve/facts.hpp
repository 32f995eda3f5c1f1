// serve::PageFacts — what the built-in pages show each visitor about their own connection (the
// JSON of /.well-known/tlslab, the table of /): the connection's TLS facts and address, read once,
// and the request's protocol, HTTP version and User-Agent, updated for each request.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "http/site.hpp"
#include "tls/server_context.hpp"

namespace tlslab::serve {

class PageFacts {
 public:
  // describe returns the facts for request on this connection; tls is asked only the first time.
  [[nodiscard]] const nlohmann::json& describe(const std::function<const tls::ConnectionFacts&()>& tls,
                                               std::string_view client, const http::Request& request);

 private:
  std::optional<nlohmann::json> json_;
};

}  // namespace tlslab::serve
