// net::drive_tls — the loop under TlsSocket: OpenSSL reads and writes the non-blocking descriptor
// itself and Asio only waits until the socket is ready, the way nginx runs OpenSSL. With it, the
// plain reads and writes the servers make outside TLS (receive, send_all) and the error mapping.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <cstddef>
#include <string>

namespace tlslab::net {

struct IoResult {
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

// tls_error says what a failed SSL_* call means, as asio::ssl::stream reports it: asio::error::eof
// for a close_notify, ssl::error::stream_truncated for an end without one, OpenSSL's reason in the
// SSL category for a protocol error, errno for a failed system call. err is SSL_get_error's answer;
// OpenSSL's error queue is left empty.
[[nodiscard]] boost::system::error_code tls_error(int err);

// tls_error_words says in words what a TLS error_code means: OpenSSL's reason for a protocol
// error, "closed without a TLS close_notify" for a truncated stream, else the code's message.
[[nodiscard]] std::string tls_error_words(const boost::system::error_code& ec);

// receive reads what the socket has (at most into.size() bytes), waiting until it has something; 0
// bytes: the peer closed. It calls recv(2) itself, so a socket accepted non-blocking (net::Workers)
// needs no ioctl from Asio.
boost::asio::awaitable<IoResult> receive(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer into);

// send_all writes all of data with send(2) (no SIGPIPE), waiting whenever the socket is full.
boost::asio::awaitable<IoResult> send_all(boost::asio::ip::tcp::socket& socket, boost::asio::const_buffer data);

// drive_tls calls op(ssl, bytes) — an SSL_* call that returns 1 once done — until it is done,
// waiting for the socket whenever OpenSSL wants to read or write. A failure that is not the peer's
// close_notify sets *fatal (after it no close_notify may be sent: SSL_shutdown(3)). Cancelling the
// socket ends a pending wait with operation_aborted and leaves the connection usable: OpenSSL keeps
// partial records.
template <class Op>
boost::asio::awaitable<IoResult> drive_tls(boost::asio::ip::tcp::socket& socket, SSL* ssl, Op op,
                                           bool* fatal = nullptr) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    int r = op(ssl, n);
    if (r == 1) co_return IoResult{{}, n};
    int err = SSL_get_error(ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      if (fatal && err != SSL_ERROR_ZERO_RETURN) *fatal = true;
      co_return IoResult{tls_error(err), 0};
    }
    auto [ec] = co_await socket.async_wait(
        err == SSL_ERROR_WANT_READ ? boost::asio::ip::tcp::socket::wait_read : boost::asio::ip::tcp::socket::wait_write,
        boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return IoResult{ec, 0};
  }
}

}  // namespace tlslab::net
