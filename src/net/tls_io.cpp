#include "net/tls_io.hpp"

#include <openssl/err.h>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include "net/coro.hpp"

namespace tlslab::net {

boost::system::error_code tls_error(int err) {
  if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return asio::ssl::error::stream_truncated;
  if (err == SSL_ERROR_SSL || (err == SSL_ERROR_SYSCALL && e))
    return {static_cast<int>(e), asio::error::get_ssl_category()};
  if (err == SSL_ERROR_SYSCALL && errno) return {errno, boost::system::system_category()};
  return asio::ssl::error::stream_truncated;
}

namespace {
// SocketState reaches the state flags Asio keeps for a socket (what adopt_socket sets) through a
// member pointer formed in a derived class: no cast, no copy of Asio's layout.
struct SocketState : boost::asio::ip::tcp::socket {
  static constexpr auto impl = &SocketState::impl_;
};
}  // namespace

boost::system::error_code adopt_socket(boost::asio::ip::tcp::socket& socket, const boost::asio::ip::tcp& protocol,
                                       int fd) {
  boost::system::error_code ec;
  socket.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
#if !defined(BOOST_ASIO_HAS_IOCP) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  namespace ops = boost::asio::detail::socket_ops;
  auto& state = (socket.*SocketState::impl).get_implementation().state_;
  state = static_cast<ops::state_type>((state | ops::internal_non_blocking) & ~ops::possible_dup);
#endif
  return ec;
}

boost::asio::awaitable<IoResult> receive(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer into) {
  auto [ec, n] = co_await socket.async_receive(into, use_tuple);
  if (ec == boost::asio::error::eof) ec = {};
  co_return IoResult{ec, n};
}

boost::asio::awaitable<IoResult> send_all(boost::asio::ip::tcp::socket& socket, boost::asio::const_buffer data) {
  const char* p = static_cast<const char*>(data.data());
  std::size_t left = data.size();
  while (left) {
    auto n = ::send(socket.native_handle(), p, left, MSG_NOSIGNAL);
    if (n >= 0) {
      p += n;
      left -= static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      co_return IoResult{{errno, boost::system::system_category()}, data.size() - left};
    auto [ec] = co_await socket.async_wait(boost::asio::ip::tcp::socket::wait_write, use_tuple);
    if (ec) co_return IoResult{ec, data.size() - left};
  }
  co_return IoResult{{}, data.size()};
}

std::string tls_error_words(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category())
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return reason;
  if (ec == asio::ssl::error::stream_truncated) return "closed without a TLS close_notify";
  return ec.message();
}

}  // namespace tlslab::net
