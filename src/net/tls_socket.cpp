#include "net/tls_socket.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/failure.hpp"
#include "net/tls_io.hpp"
#include "ossl/error.hpp"

namespace tlslab::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TlsSocket::BioState {
  int fd = -1;
  std::string prefix;  // bytes read before TLS began, served first
  std::size_t used = 0;
  bool eof = false;
  std::string* held = nullptr;  // while set, writes are gathered here instead of sent
};

namespace {

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
  if (st->held) {
    st->held->append(in, static_cast<std::size_t>(size));
    return size;
  }
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

void TlsSocket::unread(std::string_view bytes) { state_->prefix.insert(state_->used, bytes); }

asio::awaitable<boost::system::error_code> TlsSocket::handshake(bool server) {
  if (server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
  auto r = co_await drive_tls(
      socket_, ssl_.get(), [](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); }, &failed_);
  co_return r.ec;
}

asio::awaitable<IoResult> TlsSocket::read_some(char* data, std::size_t size) {
  co_return co_await drive_tls(
      socket_, ssl_.get(), [=](SSL* ssl, std::size_t& n) { return SSL_read_ex(ssl, data, size, &n); }, &failed_);
}

asio::awaitable<boost::system::error_code> TlsSocket::write_all(const char* data, std::size_t size) {
  if (size == 0) co_return boost::system::error_code();
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write_ex succeeds only once all of data is sent; a
  // retry after WANT_WRITE passes the same buffer, as OpenSSL requires.
  auto r = co_await drive_tls(
      socket_, ssl_.get(), [=](SSL* ssl, std::size_t& n) { return SSL_write_ex(ssl, data, size, &n); }, &failed_);
  co_return r.ec;
}

asio::awaitable<boost::system::error_code> TlsSocket::shutdown() {
  // Sent (0 means the peer's close_notify is still to come — reading may go on) is done.
  auto r = co_await drive_tls(socket_, ssl_.get(), [](SSL* ssl, std::size_t&) {
    int sent = SSL_shutdown(ssl);
    return sent >= 0 || SSL_get_error(ssl, sent) == SSL_ERROR_WANT_READ ? 1 : sent;
  });
  co_return r.ec;
}

asio::awaitable<boost::system::error_code> TlsSocket::write_last(const char* data, std::size_t size) {
  std::string records;
  state_->held = &records;
  ERR_clear_error();
  std::size_t n = 0;
  int r = size ? SSL_write_ex(ssl_.get(), data, size, &n) : 1;
  if (r != 1) {  // gathering never blocks: this is an error
    state_->held = nullptr;
    failed_ = true;
    co_return tls_error(SSL_get_error(ssl_.get(), r));
  }
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
  state_->held = nullptr;
  auto sent = co_await send_all(socket_, asio::buffer(records));
  co_return sent.ec;
}

void TlsSocket::close_notify() {
  if (failed_ || !socket_.is_open() || !SSL_is_init_finished(ssl_.get()) ||
      (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN))
    return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // writes close_notify if the socket takes it; a full socket just drops it
  ERR_clear_error();
}

}  // namespace tlslab::net
