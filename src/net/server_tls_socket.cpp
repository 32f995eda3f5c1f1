#include "net/server_tls_socket.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "base/failure.hpp"
#include "net/tls_io.hpp"
#include "ossl/error.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

asio::awaitable<IoResult> ServerTlsSocket::drive(auto op) {
  co_return co_await drive_tls(socket_, ssl_.get(), op, &failed_);
}

ServerTlsSocket::ServerTlsSocket(tcp::socket socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
  ossl::check(ssl_.get(), Kind::Generic, "creating a TLS connection");
  error_code ec;
  socket_.non_blocking(true, ec);
  SSL_set_fd(ssl_.get(), socket_.native_handle());
  SSL_set_accept_state(ssl_.get());
}

asio::awaitable<IoResult> ServerTlsSocket::peek(asio::mutable_buffer into) {
  for (;;) {
    auto n = ::recv(socket_.native_handle(), into.data(), into.size(), MSG_PEEK);
    if (n >= 0) co_return IoResult{{}, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return IoResult{{errno, boost::system::system_category()}, 0};
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec) co_return IoResult{ec, 0};
  }
}

asio::awaitable<error_code> ServerTlsSocket::handshake() {
  auto r = co_await drive([](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); });
  co_return r.ec;
}

asio::awaitable<IoResult> ServerTlsSocket::read_some(asio::mutable_buffer into) {
  co_return co_await drive([into](SSL* ssl, std::size_t& n) { return SSL_read_ex(ssl, into.data(), into.size(), &n); });
}

asio::awaitable<error_code> ServerTlsSocket::write(asio::const_buffer data) {
  if (data.size() == 0) co_return error_code{};
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write_ex succeeds only once all of data is sent; a
  // retry after WANT_WRITE passes the same buffer, as OpenSSL requires.
  auto r = co_await drive([data](SSL* ssl, std::size_t& n) { return SSL_write_ex(ssl, data.data(), data.size(), &n); });
  co_return r.ec;
}

asio::awaitable<error_code> ServerTlsSocket::write_plain(asio::const_buffer data) {
  auto [ec, n] = co_await asio::async_write(socket_, data, use_tuple);
  co_return ec;
}

asio::awaitable<IoResult> ServerTlsSocket::read_raw(asio::mutable_buffer into) {
  auto [ec, n] = co_await socket_.async_read_some(into, use_tuple);
  if (ec == asio::error::eof) co_return IoResult{{}, 0};
  co_return IoResult{ec, n};
}

void ServerTlsSocket::close_notify() {
  if (failed_ || !socket_.is_open() || !SSL_is_init_finished(ssl_.get()) ||
      (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN))
    return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // writes close_notify if the socket takes it; a full socket just drops it
  ERR_clear_error();
}

void ServerTlsSocket::close() {
  close_notify();
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace tlslab::net
