#include "http/auth.hpp"

#include <openssl/evp.h>

#include <vector>

namespace tlslab::http {

std::string basic_credentials(std::string_view user, std::string_view password) {
  std::string plain;
  plain.reserve(user.size() + 1 + password.size());
  plain.append(user).append(":").append(password);
  std::vector<unsigned char> out(4 * ((plain.size() + 2) / 3) + 1);
  int n =
      EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  return "Basic " + std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
}

}  // namespace tlslab::http
