// The plain socket work under TlsSocket and beside it: the reads and writes the servers make outside
// TLS (receive, send_all), how TLS errors are told (tls_error), and adopt_socket.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
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

// adopt_socket gives socket the descriptor fd — made non-blocking by its creator (accept4 or
// socket with SOCK_NONBLOCK) and held by no one else — and tells Asio both: it then makes no
// ioctl(FIONBIO) before the first wait and no EPOLL_CTL_DEL when the socket closes (closing the
// only descriptor takes it out of the epoll set), as for a socket its own accept made. On failure
// fd is closed.
boost::system::error_code adopt_socket(boost::asio::ip::tcp::socket& socket, const boost::asio::ip::tcp& protocol,
                                       int fd);

// receive reads what the socket has (at most into.size() bytes), waiting until it has something; 0
// bytes: the peer closed. Asio tries the read at once and, if the socket is empty, waits without
// re-arming epoll (an async_wait for reading re-arms: one epoll_ctl more per wait).
boost::asio::awaitable<IoResult> receive(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer into);

// send_all writes all of data with send(2) (no SIGPIPE), waiting whenever the socket is full.
boost::asio::awaitable<IoResult> send_all(boost::asio::ip::tcp::socket& socket, boost::asio::const_buffer data);

}  // namespace tlslab::net
