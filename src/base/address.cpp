#include "base/address.hpp"

#include <arpa/inet.h>

#include <string>

namespace tlslab {

bool is_ip_literal(std::string_view s) {
  std::string text(s);  // inet_pton reads a NUL-terminated string
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace tlslab
