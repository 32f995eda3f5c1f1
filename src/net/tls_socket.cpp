#include "net/tls_socket.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>

#include "base/failure.hpp"
#include "net/coro.hpp"
#include "net/tls_io.hpp"
#include "ossl/error.hpp"

namespace tlslab::net {

struct TlsSocket::BioState {
  int fd = -1;
  std::string prefix;  // bytes read before TLS began, served first
  std::size_t used = 0;
  // What a wait for reading received (wait_readable), served next. It holds a handshake flight, a
  // request or a small response; more is read straight into OpenSSL's buffer.
  std::array<char, 4096> landing;
  std::uint16_t landed = 0, landing_used = 0;
  // The last read left the socket empty (it returned less than asked): asking again would only
  // get EAGAIN, so the BIO says "retry" at once and the wait's own read tries the socket. So it is
  // at first too: a peer speaks only once spoken to, or its first bytes were read already.
  bool drained = true;
  bool eof = false;
  std::string* held = nullptr;  // while set, writes are gathered here instead of sent

  // buffered is how many bytes already taken from the socket OpenSSL has still to read.
  [[nodiscard]] std::size_t buffered() const { return prefix.size() - used + landed - landing_used; }
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
  if (st->landing_used < st->landed) {
    auto n = std::min(size, st->landed - st->landing_used);
    std::memcpy(out, st->landing.data() + st->landing_used, static_cast<std::size_t>(n));
    st->landing_used = static_cast<std::uint16_t>(st->landing_used + n);
    return n;
  }
  if (st->eof) return 0;
  if (!st->drained) {
    auto n = ::recv(st->fd, out, static_cast<std::size_t>(size), 0);
    if (n > 0) {
      st->drained = n < size;
      return static_cast<int>(n);
    }
    if (n == 0) {
      st->eof = true;
      return 0;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    st->drained = true;
  }
  BIO_set_retry_read(bio);
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
      return st ? static_cast<long>(st->buffered()) : 0;
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
  if (!prefix.empty()) unread(prefix);
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

template <class Op>
asio::awaitable<IoResult> TlsSocket::drive(Op op, bool* fatal) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    int r = op(ssl_.get(), n);
    if (r == 1) co_return IoResult{{}, n};
    int err = SSL_get_error(ssl_.get(), r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      if (fatal && err != SSL_ERROR_ZERO_RETURN) *fatal = true;
      co_return IoResult{tls_error(err), 0};
    }
    boost::system::error_code ec;
    if (err == SSL_ERROR_WANT_READ)
      ec = co_await wait_readable();
    else
      std::tie(ec) = co_await socket_.async_wait(tcp::socket::wait_write, use_tuple);
    if (ec) co_return IoResult{ec, 0};
  }
}

asio::awaitable<boost::system::error_code> TlsSocket::wait_readable() {
  auto& st = *state_;
  if (receiving_) {
    // The other direction already waits to read (a TLS 1.2 renegotiation makes a write read):
    // wait alongside it for the socket to be readable; its receive lands the bytes.
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
    co_return ec;
  }
  // A receive rather than an async_wait: Asio tries the socket once and then waits without
  // re-arming epoll, where a wait re-arms it (an epoll_ctl) every time.
  receiving_ = true;
  auto [ec, n] = co_await socket_.async_receive(asio::buffer(st.landing), use_tuple);
  receiving_ = false;
  if (ec == asio::error::eof) {
    st.eof = true;
    co_return boost::system::error_code();
  }
  if (ec) co_return ec;
  st.landed = static_cast<std::uint16_t>(n);
  st.landing_used = 0;
  st.drained = n < st.landing.size();
  co_return boost::system::error_code();
}

void TlsSocket::unread(std::string_view bytes) {
  state_->prefix.insert(state_->used, bytes);
  // They come from a read that took what the socket had; if more came since, the wait's own read
  // finds it.
  state_->drained = true;
}

asio::awaitable<boost::system::error_code> TlsSocket::handshake(bool server) {
  if (server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
  auto r = co_await drive([](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); }, &failed_);
  co_return r.ec;
}

asio::awaitable<boost::system::error_code> TlsSocket::wait_for_data() {
  if (SSL_has_pending(ssl_.get()) || state_->buffered() || state_->eof) co_return boost::system::error_code();
  co_return co_await wait_readable();
}

asio::awaitable<IoResult> TlsSocket::read_some(char* data, std::size_t size) {
  co_return co_await drive([=](SSL* ssl, std::size_t& n) { return SSL_read_ex(ssl, data, size, &n); }, &failed_);
}

asio::awaitable<boost::system::error_code> TlsSocket::write_all(const char* data, std::size_t size) {
  if (size == 0) co_return boost::system::error_code();
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write_ex succeeds only once all of data is sent; a
  // retry after WANT_WRITE passes the same buffer, as OpenSSL requires.
  auto r = co_await drive([=](SSL* ssl, std::size_t& n) { return SSL_write_ex(ssl, data, size, &n); }, &failed_);
  co_return r.ec;
}

asio::awaitable<boost::system::error_code> TlsSocket::shutdown() {
  // Sent (0 means the peer's close_notify is still to come — reading may go on) is done.
  auto r = co_await drive([](SSL* ssl, std::size_t&) {
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
