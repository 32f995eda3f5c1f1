#include "http/tunnel.hpp"

#include <fmt/format.h>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "base/failure.hpp"
#include "base/text.hpp"

namespace tlslab::http {
namespace bhttp = boost::beast::http;

std::string connect_request(std::string_view authority, std::string_view user_agent,
                            std::string_view proxy_authorization) {
  auto out = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\nUser-Agent: {1}\r\nProxy-Connection: Keep-Alive\r\n",
                         authority, user_agent);
  if (!proxy_authorization.empty()) out += fmt::format("Proxy-Authorization: {}\r\n", proxy_authorization);
  return out + "\r\n";
}

std::string TunnelReply::field(std::string_view name) const {
  auto wanted = ascii_lower(std::string(name));
  for (const auto& [n, v] : headers)
    if (ascii_lower(n) == wanted) return v;
  return "";
}

struct TunnelReplyReader::Impl {
  bhttp::response_parser<bhttp::empty_body> parser;
  std::string pending;  // bytes of an incomplete header, fed again with the next ones
  TunnelReply reply;
  bool done = false;
};

TunnelReplyReader::TunnelReplyReader() : impl_(std::make_unique<Impl>()) {
  // A 2xx reply to CONNECT has no body whatever its fields say (RFC 9110 section 9.3.6), and the
  // body of a refusal is not needed: the reader stops at the end of the header.
  impl_->parser.skip(true);
  impl_->parser.header_limit(16 * 1024);
}

TunnelReplyReader::~TunnelReplyReader() = default;

std::size_t TunnelReplyReader::feed(std::string_view data) {
  auto& d = *impl_;
  if (d.done) return 0;
  d.pending.append(data);
  // Beast takes the start line and each whole field as soon as they are there: what it used is
  // dropped, the rest is offered again with the next bytes.
  boost::beast::error_code ec;
  while (!d.pending.empty() && !d.parser.is_header_done()) {
    auto used = d.parser.put(boost::asio::const_buffer(d.pending.data(), d.pending.size()), ec);
    d.pending.erase(0, used);
    if (ec == bhttp::error::need_more) return data.size();
    if (ec == bhttp::error::header_limit)
      throw Failure(Kind::Receive, "the proxy's reply header is larger than 16 KiB");
    if (ec)
      throw Failure(Kind::Receive,
                    fmt::format("the proxy's reply to CONNECT is not an HTTP response ({})", ec.message()));
    if (used == 0) break;
  }
  if (!d.parser.is_header_done()) return data.size();
  const auto& msg = d.parser.get();
  d.reply.status = static_cast<int>(msg.result_int());
  d.reply.reason = std::string(msg.reason());
  d.reply.version = fmt::format("HTTP/{}.{}", msg.version() / 10, msg.version() % 10);
  for (const auto& f : msg) d.reply.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  d.done = true;
  // What is left came after the header (it arrived with its end, in this call).
  std::size_t after = d.pending.size();
  d.pending.clear();
  return data.size() - after;
}

bool TunnelReplyReader::done() const { return impl_->done; }
const TunnelReply& TunnelReplyReader::reply() const { return impl_->reply; }

std::string refusal_text(const TunnelReply& reply, std::string_view proxy, std::string_view authority,
                         bool sent_credentials) {
  auto text = fmt::format("the proxy {} refused CONNECT {}: {} {}", proxy, authority, reply.status, reply.reason);
  if (reply.status == 407) {
    auto challenge = reply.field("Proxy-Authenticate");
    auto asks = challenge.empty() ? std::string("it wants credentials") : "it asks for " + challenge;
    text += sent_credentials ? fmt::format(" ({}; the ones in -x were not accepted)", asks)
                             : fmt::format(" ({}; give them as -x http://USER:PASSWORD@HOST:PORT)", asks);
  } else if (reply.status == 502 || reply.status == 504) {
    text += fmt::format(" (the proxy could not reach {})", authority);
  } else if (reply.status == 403) {
    text += " (its rules do not allow this destination)";
  } else if (reply.status == 405 || reply.status == 400 || reply.status == 501) {
    text += " (is it an HTTP proxy? it does not take CONNECT)";
  }
  return text;
}

}  // namespace tlslab::http
