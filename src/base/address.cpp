#include "base/address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <string>

namespace tlslab {

bool is_ip_literal(std::string_view s) {
  std::string text(s);  // inet_pton reads a NUL-terminated string
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

std::string format_endpoint(std::string_view host, std::uint16_t port) {
  // Only an IPv6 address holds a ':' (a name never does).
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", host, port)
                                                  : fmt::format("{}:{}", host, port);
}

}  // namespace tlslab
