// net::ServerTlsSocket — one server-side TLS connection: the accepted socket and a TlsSocket on it.
//
// OpenSSL reads and writes the file descriptor itself and Asio only waits until the socket is
// ready (drive_tls), the way nginx runs OpenSSL. asio::ssl::stream instead keeps four buffers per
// connection (2 × 17 kB of its own and a BIO pair of 2 × 17 kB) and copies every byte through
// them: 75 kB per idle connection measured, against a few kB here, where OpenSSL gives its record
// buffers back between requests (SSL_MODE_RELEASE_BUFFERS) and bytes are copied once.
//
// Operations are coroutines that return their error as a value. Cancelling the socket
// (socket().cancel(), as a connection's deadline does) ends a pending operation with
// operation_aborted and leaves the connection usable: OpenSSL keeps partial records.
// The process must ignore SIGPIPE for the plain writes; run_server does.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "net/tls_io.hpp"
#include "net/tls_socket.hpp"

namespace tlslab::net {

class ServerTlsSocket {
 public:
  // ServerTlsSocket takes the accepted, non-blocking socket and starts a server-side SSL on it from
  // ctx. Failure{Generic} if OpenSSL cannot make the SSL object.
  ServerTlsSocket(boost::asio::ip::tcp::socket socket, SSL_CTX* ctx);

  [[nodiscard]] boost::asio::ip::tcp::socket& socket() { return socket_; }
  [[nodiscard]] SSL* ssl() const { return tls_.native_handle(); }

  // read_first waits for the client's first bytes and copies up to into.size() of them (0 bytes:
  // the client closed). The handshake reads them again: one recv, where peeking costs two.
  boost::asio::awaitable<IoResult> read_first(boost::asio::mutable_buffer into);
  // handshake runs the TLS handshake as the server.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // read_some reads at least one byte of application data; eof when the client closed
  // (close_notify) and ssl::error::stream_truncated when it closed without one.
  boost::asio::awaitable<IoResult> read_some(boost::asio::mutable_buffer into);
  // write sends all of data.
  boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer data);
  // write_last sends all of data and close_notify after it, in one TCP segment if it fits.
  boost::asio::awaitable<boost::system::error_code> write_last(boost::asio::const_buffer data);
  // write_plain sends data on the socket itself, outside TLS (answering a plain-HTTP client).
  boost::asio::awaitable<boost::system::error_code> write_plain(boost::asio::const_buffer data);

  // read_raw reads bytes from the socket itself, outside TLS (dropping what a client still sends
  // after close_notify); 0 bytes: the client closed.
  boost::asio::awaitable<IoResult> read_raw(boost::asio::mutable_buffer into);

  // close_notify sends TLS close_notify, once, when the handshake finished and the socket takes it
  // at once: nobody waits for the client's (for HTTP the end of the connection carries no meaning).
  void close_notify() { tls_.close_notify(); }
  // close sends close_notify (as above) and closes the socket.
  void close();

 private:
  boost::asio::ip::tcp::socket socket_;
  TlsSocket tls_;  // on socket_
};

}  // namespace tlslab::net
