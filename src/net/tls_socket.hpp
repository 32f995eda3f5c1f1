// net::TlsSocket — TLS over a connected TCP socket without Asio's ssl::stream: OpenSSL reads and
// writes the non-blocking socket itself (through a small BIO), and the coroutine waits for
// readiness only when OpenSSL asks for it (drive), the way nginx runs OpenSSL; serve and the
// proxy use it for every TLS connection they take or make. It keeps no buffers of its own beyond
// 4 KiB for what a wait receives — an idle connection costs little more than what OpenSSL
// holds (released while idle with SSL_MODE_RELEASE_BUFFERS) — where ssl::stream adds two 17 KiB
// buffers and a BIO pair per stream.
//
// One reader and one writer may use it at a time from the same thread (the proxy's two relay
// directions); errors come back as error_codes: asio::error::eof for a close_notify,
// ssl::error::stream_truncated for an end without one, OpenSSL's reason in the SSL category.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string_view>

#include "net/tls_io.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::net {

class TlsSocket {
 public:
  // TlsSocket makes an SSL from ctx on socket, which must be non-blocking (accepted by net::Workers,
  // or connected by Asio). prefix holds bytes already read from the socket (a buffered
  // ClientHello): OpenSSL reads them first.
  TlsSocket(boost::asio::ip::tcp::socket& socket, SSL_CTX* ctx, std::string_view prefix = {});
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  [[nodiscard]] SSL* native_handle() const { return ssl_.get(); }

  // unread gives OpenSSL bytes already taken from the socket, to be read before the socket's.
  void unread(std::string_view bytes);

  // handshake runs the handshake as a server or a client.
  boost::asio::awaitable<boost::system::error_code> handshake(bool server);
  // wait_for_data returns once OpenSSL has bytes to work on: at once if it holds some already,
  // else after a wait that received them. A reader that takes its buffer only then holds none while
  // the connection is idle.
  boost::asio::awaitable<boost::system::error_code> wait_for_data();
  // read_some reads at least one byte of application data (at most size).
  boost::asio::awaitable<IoResult> read_some(char* data, std::size_t size);
  // write_all writes every byte or fails.
  boost::asio::awaitable<boost::system::error_code> write_all(const char* data, std::size_t size);
  // shutdown sends close_notify and returns without waiting for the peer's (reading may go on).
  boost::asio::awaitable<boost::system::error_code> shutdown();
  // write_last writes data and then close_notify in one send(2): the end of a response on a
  // connection about to close, one TCP segment where two writes make two.
  boost::asio::awaitable<boost::system::error_code> write_last(const char* data, std::size_t size);
  // close_notify sends close_notify, once, if the handshake finished, no TLS error happened and the
  // socket takes it at once; it never waits.
  void close_notify();

  struct BioState;  // what the socket BIO reads and writes (public for the BIO's callbacks)

 private:
  // drive calls op(ssl, bytes) — an SSL_* call that returns 1 once done — until it is done, waiting
  // for the socket whenever OpenSSL wants to read or write. A failure that is not the peer's
  // close_notify sets *fatal (after it no close_notify may be sent: SSL_shutdown(3)). Cancelling
  // the socket ends a pending wait with operation_aborted and leaves the connection usable:
  // OpenSSL keeps partial records.
  template <class Op>
  boost::asio::awaitable<IoResult> drive(Op op, bool* fatal = nullptr);
  // wait_readable waits until the socket has bytes for OpenSSL and receives the first of them
  // (into the BIO's landing area).
  boost::asio::awaitable<boost::system::error_code> wait_readable();

  boost::asio::ip::tcp::socket& socket_;
  std::unique_ptr<BioState> state_;
  ossl::Ptr<SSL> ssl_;
  bool failed_ = false;
  bool receiving_ = false;  // a wait_readable is under way
};

}  // namespace tlslab::net
