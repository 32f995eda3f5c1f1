#include "support/server_flight.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace tlslab::testing {

std::string server_flight(SSL_CTX* ctx, std::string_view hello) {
  ossl::Ptr<SSL> ssl(SSL_new(ctx));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_write(in, hello.data(), static_cast<int>(hello.size()));
  SSL_set_bio(ssl.get(), in, out);  // the SSL owns both now
  SSL_set_accept_state(ssl.get());
  (void)SSL_do_handshake(ssl.get());
  ERR_clear_error();
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace tlslab::testing
