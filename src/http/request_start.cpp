#include "http/request_start.hpp"

#include <fmt/format.h>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace tlslab::http {
namespace {

// token characters (RFC 9110 §5.6.2), which make up a method.
bool is_tchar(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string request_start_error(std::string_view received) {
  auto eol = received.find('\n');
  auto line = received.substr(0, eol);
  if (eol != std::string_view::npos) {
    // The request line is all there: Beast parses it, as a request without header fields.
    std::string alone(line);
    if (!alone.empty() && alone.back() == '\r') alone.pop_back();
    alone += "\r\n\r\n";
    boost::beast::http::request_parser<boost::beast::http::empty_body> parser;
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(alone), ec);
    if (ec) return fmt::format("malformed request line: {}", ec.message());
    return {};
  }
  // A partial line: a method of token characters, a space, a target of visible bytes, a space, then
  // the start of "HTTP/d.d".
  auto space = line.find(' ');
  auto second = space == std::string_view::npos ? space : line.find(' ', space + 1);
  for (std::size_t i = 0; i < line.size() && i < second; ++i) {
    auto u = static_cast<unsigned char>(line[i]);
    if (i < space ? !is_tchar(line[i]) : (u < 0x20 || u == 0x7f))
      return fmt::format("byte 0x{:02x} at offset {} cannot be part of an HTTP request line", u, i);
  }
  if (second != std::string_view::npos) {
    auto version = line.substr(second + 1);
    static constexpr std::string_view shape = "HTTP/0.0\r";
    for (std::size_t i = 0; i < version.size(); ++i) {
      bool fits = i >= shape.size() ? false
                  : shape[i] == '0' ? std::isdigit(static_cast<unsigned char>(version[i])) != 0
                                    : version[i] == shape[i];
      if (!fits) return fmt::format("the request line ends in \"{}\", not an HTTP version", version.substr(0, 16));
    }
  }
  return {};
}

}  // namespace tlslab::http
