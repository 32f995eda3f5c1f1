#include "net/tls_io.hpp"

#include <openssl/err.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace tlslab::net {

boost::system::error_code tls_error(int err) {
  namespace asio = boost::asio;
  if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return asio::ssl::error::stream_truncated;
  if (err == SSL_ERROR_SSL || (err == SSL_ERROR_SYSCALL && e))
    return {static_cast<int>(e), asio::error::get_ssl_category()};
  if (err == SSL_ERROR_SYSCALL && errno) return {errno, boost::system::system_category()};
  return asio::ssl::error::stream_truncated;
}

std::string tls_error_words(const boost::system::error_code& ec) {
  namespace asio = boost::asio;
  if (ec.category() == asio::error::get_ssl_category())
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return reason;
  if (ec == asio::ssl::error::stream_truncated) return "closed without a TLS close_notify";
  return ec.message();
}

}  // namespace tlslab::net
