#include "proxy/alpn.hpp"

#include <algorithm>

namespace tlslab::proxy {
namespace {

bool offers(const std::vector<std::string>& list, const std::string& protocol) {
  return std::find(list.begin(), list.end(), protocol) != list.end();
}

}  // namespace

std::vector<std::string> upstream_offer(const std::vector<std::string>& client_offer, Http2Mode mode) {
  std::vector<std::string> out;
  for (const auto& p : client_offer) {
    if (p == "h2" && mode == Http2Mode::Off) continue;
    out.push_back(p);
    // A client that offers h2 without http/1.1 can still be served over h2 by a proxy that speaks
    // HTTP/1.1 to the real server.
    if (p == "h2" && !offers(client_offer, "http/1.1")) out.emplace_back("http/1.1");
  }
  if (mode == Http2Mode::Off && offers(client_offer, "h2") && !offers(out, "http/1.1")) out.emplace_back("http/1.1");
  return out;
}

std::string client_choice(const std::vector<std::string>& client_offer, const std::string& upstream, Http2Mode mode) {
  if (!is_http_alpn(upstream)) return offers(client_offer, upstream) ? upstream : std::string();
  for (const auto& p : client_offer) {
    if (p == "h2" && mode == Http2Mode::Auto) return p;
    if (p == "http/1.1") return p;
  }
  // A client that offered only http/1.0, or nothing HTTP at all: mirror what the server chose.
  return offers(client_offer, upstream) ? upstream : std::string();
}

bool http_protocol(std::string_view alpn, HttpProtocol& out) {
  if (alpn == "h2") {
    out = HttpProtocol::Http2;
    return true;
  }
  if (alpn.empty() || alpn == "http/1.1" || alpn == "http/1.0") {
    out = HttpProtocol::Http1;
    return true;
  }
  return false;
}

bool is_http_alpn(const std::string& protocol) {
  return protocol.empty() || protocol == "http/1.1" || protocol == "http/1.0" || protocol == "h2";
}

}  // namespace tlslab::proxy
