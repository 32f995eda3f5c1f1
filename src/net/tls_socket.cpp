#include "net/tls_socket.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/failure.hpp"
#include "ossl/error.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TlsSocket::BioState {
  int fd = -1;
  std::string prefix;  // bytes read before TLS began, served first
  std::size_t used = 0;
  bool eof = false;
};

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

int bio_read(BIO* bio, char* out, int size) {
  auto* st = static_cast<TlsSocket::BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (st->used < st->prefix.size()) {
    auto n = std::min(static_cast<std::size_t>(size), st->prefix.size() - st->used);
    std::memcpy(out, st->prefix.data() + st->used, n);
    st->used += n;
    if (st->used == st->prefix.size()) std::string().swap(st->prefix), st->used = 0;
    return static_cast<int>(n);
  }
  auto n = ::recv(st->fd, out, static_cast<std::size_t>(size), 0);
  if (n > 0) return static_cast<int>(n);
  if (n == 0) {
    st->eof = true;
    return 0;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

int bio_write(BIO* bio, const char* in, int size) {
  auto* st = static_cast<TlsSocket::BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  auto n = ::send(st->fd, in, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  auto* st = static_cast<TlsSocket::BioState*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return st && st->eof ? 1 : 0;
    case BIO_CTRL_PENDING:
      return st ? static_cast<long>(st->prefix.size() - st->used) : 0;
    default:
      return 0;
  }
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tlslab socket");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return method;
}

}  // namespace

TlsSocket::TlsSocket(tcp::socket& socket, SSL_CTX* ctx, std::string_view prefix)
    : socket_(socket), state_(std::make_unique<BioState>()), ssl_(SSL_new(ctx)) {
  ossl::check(ssl_.get(), Kind::Generic, "creating a TLS connection");
  // OpenSSL reads and writes the descriptor itself: it must not block. (Asio has usually made it
  // so already, for its own asynchronous operations.)
  if (!socket_.native_non_blocking()) socket_.native_non_blocking(true);
  state_->fd = socket_.native_handle();
  state_->prefix.assign(prefix);
  BIO* bio = BIO_new(socket_method());
  ossl::check(bio, Kind::Generic, "creating a socket BIO");
  BIO_set_data(bio, state_.get());
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);
  SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
  // Read whatever the socket has, not a record header and then its body: half the recv calls.
  SSL_set_read_ahead(ssl_.get(), 1);
}

TlsSocket::~TlsSocket() = default;

asio::awaitable<boost::system::error_code> TlsSocket::settle(int result, bool& retry) {
  retry = false;
  int err = SSL_get_error(ssl_.get(), result);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    auto [ec] = co_await socket_.async_wait(
        err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write, use_tuple);
    retry = !ec;
    co_return ec;
  }
  if (err == SSL_ERROR_ZERO_RETURN) co_return asio::error::eof;
  unsigned long e = ERR_peek_last_error();
  if (err == SSL_ERROR_SYSCALL && e == 0) {
    if (errno != 0 && !state_->eof) co_return boost::system::error_code(errno, boost::system::system_category());
    co_return asio::ssl::error::stream_truncated;
  }
  if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    co_return asio::ssl::error::stream_truncated;
  }
  ERR_clear_error();
  co_return boost::system::error_code(static_cast<int>(e), asio::error::get_ssl_category());
}

asio::awaitable<boost::system::error_code> TlsSocket::handshake(bool server) {
  if (server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) co_return boost::system::error_code();
    bool retry = false;
    auto ec = co_await settle(r, retry);
    if (!retry) co_return ec;
  }
}

asio::awaitable<std::pair<boost::system::error_code, std::size_t>> TlsSocket::read_some(char* data, std::size_t size) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_.get(), data, size, &n);
    if (r == 1) co_return std::pair{boost::system::error_code(), n};
    bool retry = false;
    auto ec = co_await settle(r, retry);
    if (!retry) co_return std::pair{ec, std::size_t{0}};
  }
}

asio::awaitable<boost::system::error_code> TlsSocket::write_all(const char* data, std::size_t size) {
  while (size) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    int r = SSL_write_ex(ssl_.get(), data, size, &n);
    if (r == 1) {
      data += n;
      size -= n;
      continue;
    }
    bool retry = false;
    auto ec = co_await settle(r, retry);
    if (!retry) co_return ec;
  }
  co_return boost::system::error_code();
}

asio::awaitable<boost::system::error_code> TlsSocket::shutdown() {
  for (int i = 0; i < 8; ++i) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_shutdown(ssl_.get());
    // 0 or 1: sent (0 means the peer's close_notify is still to come — reading may go on).
    if (r >= 0 || SSL_get_error(ssl_.get(), r) == SSL_ERROR_WANT_READ) co_return boost::system::error_code();
    bool retry = false;
    auto ec = co_await settle(r, retry);
    if (!retry) co_return ec;
  }
  co_return asio::error::timed_out;
}

}  // namespace tlslab::net
