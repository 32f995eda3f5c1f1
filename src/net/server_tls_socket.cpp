#include "net/server_tls_socket.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string_view>

namespace tlslab::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

ServerTlsSocket::ServerTlsSocket(tcp::socket socket, SSL_CTX* ctx) : socket_(std::move(socket)), tls_(socket_, ctx) {}

asio::awaitable<IoResult> ServerTlsSocket::read_first(asio::mutable_buffer into) {
  auto r = co_await receive(socket_, into);
  tls_.unread(std::string_view(static_cast<const char*>(into.data()), r.bytes));
  co_return r;
}

asio::awaitable<error_code> ServerTlsSocket::handshake() { co_return co_await tls_.handshake(true); }

asio::awaitable<IoResult> ServerTlsSocket::read_some(asio::mutable_buffer into) {
  auto [ec, n] = co_await tls_.read_some(static_cast<char*>(into.data()), into.size());
  co_return IoResult{ec, n};
}

asio::awaitable<error_code> ServerTlsSocket::write(asio::const_buffer data) {
  co_return co_await tls_.write_all(static_cast<const char*>(data.data()), data.size());
}

asio::awaitable<error_code> ServerTlsSocket::write_last(asio::const_buffer data) {
  co_return co_await tls_.write_last(static_cast<const char*>(data.data()), data.size());
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

void ServerTlsSocket::close() {
  tls_.close_notify();
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace tlslab::net
