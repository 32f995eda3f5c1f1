// serve::Limits — the time and size limits of `tlslab serve`, per connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tlslab::serve {

struct Limits {
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{10'000};   // first request line + headers
  std::chrono::milliseconds idle_timeout{60'000};     // between keep-alive requests
  std::chrono::milliseconds request_timeout{30'000};  // request body
  std::chrono::milliseconds write_timeout{60'000};    // per write of the response
  std::chrono::milliseconds grace{5'000};             // SIGINT/SIGTERM: time for in-flight requests
  std::size_t max_connections = 10'000;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::uint32_t max_streams = 100;  // HTTP/2 streams open at once per connection (nginx's default)
};

}  // namespace tlslab::serve
