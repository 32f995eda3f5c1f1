#include "proxy/translate.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <charconv>
#include <set>

#include "base/text.hpp"

namespace tlslab::proxy {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f for each comma-separated token of a list field (RFC 9110 §5.6.1), trimmed, non-empty.
template <class F>
void each_token(std::string_view list, F f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto token = trim(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// The fields RFC 9110 §7.6.1 and RFC 9113 §8.2.2 name as connection-specific.
// Proxy-Authorization and Proxy-Authenticate are for the proxy the client talks to, not the server.
constexpr std::array<std::string_view, 8> kHopByHop = {
    "connection",        "keep-alive", "proxy-connection",    "te",
    "transfer-encoding", "upgrade",    "proxy-authorization", "proxy-authenticate"};

bool is_pseudo(std::string_view name) { return !name.empty() && name.front() == ':'; }

}  // namespace

bool strip_hop_by_hop(Headers& fields) {
  std::set<std::string, std::less<>> named;
  bool te_trailers = false;
  for (const auto& [name, value] : fields) {
    auto lower = ascii_lower(name);
    if (lower == "connection") each_token(value, [&](std::string_view t) { named.insert(ascii_lower(t)); });
    if (lower == "te")
      each_token(value, [&](std::string_view t) {
        auto semi = t.find(';');  // "trailers" takes no parameters, but be lenient
        if (ascii_lower(trim(t.substr(0, semi))) == "trailers") te_trailers = true;
      });
  }
  std::erase_if(fields, [&](const auto& field) {
    auto lower = ascii_lower(field.first);
    return std::find(kHopByHop.begin(), kHopByHop.end(), lower) != kHopByHop.end() || named.contains(lower);
  });
  return te_trailers;
}

std::optional<std::uint64_t> HttpHead::content_length() const {
  std::optional<std::uint64_t> out;
  for (const auto& [name, value] : fields) {
    if (ascii_lower(name) != "content-length") continue;
    auto v = trim(value);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
    if (out && *out != n) return std::nullopt;
    out = n;
  }
  return out;
}

std::string HttpHead::field(std::string_view name) const {
  auto l = ascii_lower(name);
  for (const auto& [n, v] : fields)
    if (ascii_lower(n) == l) return v;
  return {};
}

bool head_from_h2(const http::H2Fields& block, bool request, HttpHead& out, std::string& why) {
  out = HttpHead{};
  out.version = 20;
  bool regular_seen = false, have_method = false, have_path = false, have_scheme = false, have_status = false;
  for (const auto& f : block) {
    if (is_pseudo(f.name)) {
      if (regular_seen) return why = "a pseudo-header field after a regular field", false;
      if (request && f.name == ":method" && !have_method) {
        out.method = f.value, have_method = true;
      } else if (request && f.name == ":path" && !have_path) {
        out.target = f.value, have_path = true;
      } else if (request && f.name == ":scheme" && !have_scheme) {
        out.scheme = f.value, have_scheme = true;
      } else if (request && f.name == ":authority" && out.authority.empty()) {
        out.authority = f.value;
      } else if (request && f.name == ":protocol") {
        return why = "extended CONNECT (RFC 8441) is not offered", false;
      } else if (!request && f.name == ":status" && !have_status) {
        auto [end, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), out.status);
        if (ec != std::errc() || end != f.value.data() + f.value.size() || f.value.size() != 3 || out.status < 100)
          return why = "a malformed :status", false;
        have_status = true;
      } else {
        return why = "an unexpected pseudo-header field " + f.name, false;
      }
      continue;
    }
    regular_seen = true;
    if (f.name != ascii_lower(f.name)) return why = "an upper-case field name", false;
    if (std::find(kHopByHop.begin(), kHopByHop.end(), f.name) != kHopByHop.end() &&
        !(f.name == "te" && ascii_lower(trim(f.value)) == "trailers"))
      return why = "a connection-specific field (" + f.name + ")", false;
    out.fields.emplace_back(f.name, f.value);
  }
  if (request) {
    if (!have_method) return why = "no :method", false;
    if (out.method == "CONNECT") return true;  // :authority only (RFC 9113 §8.5); refused by the caller
    if (!have_path || out.target.empty()) return why = "no :path", false;
    if (!have_scheme) return why = "no :scheme", false;
  } else if (!have_status) {
    return why = "no :status", false;
  }
  return true;
}

namespace {

void append_regular(http::H2Fields& out, const Headers& fields, bool te_trailers, bool drop_host) {
  Headers copy = fields;
  strip_hop_by_hop(copy);
  for (auto& [name, value] : copy) {
    auto lower = ascii_lower(name);
    if (drop_host && lower == "host") continue;
    out.push_back({std::move(lower), std::move(value)});
  }
  if (te_trailers) out.push_back({"te", "trailers"});
}

}  // namespace

http::H2Fields h2_request_block(const HttpHead& head, std::string_view fallback_authority) {
  Headers copy = head.fields;
  bool te_trailers = strip_hop_by_hop(copy);
  std::string authority = head.authority;
  if (authority.empty()) authority = head.field("host");
  if (authority.empty()) authority = std::string(fallback_authority);
  http::H2Fields out = {{":method", head.method},
                        {":scheme", head.scheme.empty() ? "https" : head.scheme},
                        {":authority", authority},
                        {":path", head.target}};
  // RFC 9113 §8.3.1: :authority carries the origin; a Host field would repeat it.
  append_regular(out, copy, te_trailers, true);
  return out;
}

http::H2Fields h2_response_block(const HttpHead& head) {
  http::H2Fields out = {{":status", std::to_string(head.status)}};
  append_regular(out, head.fields, false, false);
  return out;
}

http::H2Fields h2_trailer_block(const Headers& trailers) {
  http::H2Fields out;
  append_regular(out, trailers, false, false);
  return out;
}

Headers headers_from_h2(const http::H2Fields& block) {
  Headers out;
  for (const auto& f : block)
    if (!is_pseudo(f.name)) out.emplace_back(f.name, f.value);
  return out;
}

namespace {

template <bool isRequest>
std::string serialize(const bhttp::header<isRequest>& h) {
  if constexpr (isRequest) {
    bhttp::fields::writer w(h, h.version(), h.method());
    return beast::buffers_to_string(w.get());
  } else {
    bhttp::fields::writer w(h, h.version(), h.result_int());
    return beast::buffers_to_string(w.get());
  }
}

// Copies the regular fields into h: connection-specific ones dropped, "cookie" crumbs (HTTP/2
// may split them) joined into one field (RFC 9113 §8.2.3), Content-Length only when keep_length.
void copy_fields(const Headers& fields, bhttp::fields& h, bool keep_length, bool drop_host) {
  Headers copy = fields;
  strip_hop_by_hop(copy);
  std::string cookie;
  bool cookie_seen = false;
  for (const auto& [name, value] : copy) {
    auto lower = ascii_lower(name);
    if ((drop_host && lower == "host") || (!keep_length && lower == "content-length")) continue;
    if (lower == "cookie") {
      if (cookie_seen) cookie += "; ";
      cookie += value;
      cookie_seen = true;
      continue;
    }
    h.insert(name, value);
  }
  if (cookie_seen) h.insert(bhttp::field::cookie, cookie);
}

bool method_means_content(std::string_view method) { return method == "POST" || method == "PUT" || method == "PATCH"; }

}  // namespace

std::string h1_request_head(const HttpHead& head, bool has_body, std::string_view fallback_authority,
                            Framing& framing) {
  bhttp::request_header<> h;
  h.version(11);
  h.method_string(head.method);
  h.target(head.target);
  std::string host = head.authority;
  if (host.empty()) host = head.field("host");
  if (host.empty()) host = std::string(fallback_authority);
  h.insert(bhttp::field::host, host);
  Headers copy = head.fields;
  bool te_trailers = strip_hop_by_hop(copy);
  auto length = head.content_length();
  copy_fields(copy, h, length.has_value(), true);
  if (te_trailers) {
    h.insert(bhttp::field::te, "trailers");
    h.insert(bhttp::field::connection, "TE");
  }
  if (length) {
    framing = *length ? Framing::Length : Framing::None;
  } else if (!has_body) {
    framing = Framing::None;
    if (method_means_content(head.method)) h.insert(bhttp::field::content_length, "0");
  } else {
    framing = Framing::Chunked;
    h.insert(bhttp::field::transfer_encoding, "chunked");
  }
  return serialize<true>(h);
}

std::string h1_response_head(const HttpHead& head, bool has_body, bool no_body_expected, bool chunked_ok, bool close,
                             Framing& framing) {
  bhttp::response_header<> h;
  h.version(11);
  h.result(static_cast<unsigned>(head.status));
  if (!head.reason.empty()) h.reason(head.reason);
  auto length = head.content_length();
  copy_fields(head.fields, h, length.has_value(), false);
  if (head.status / 100 == 1) {
    framing = Framing::None;
  } else if (no_body_expected) {
    framing = Framing::None;
  } else if (length) {
    framing = *length ? Framing::Length : Framing::None;
  } else if (!has_body) {
    framing = Framing::None;
    h.insert(bhttp::field::content_length, "0");
  } else if (chunked_ok) {
    framing = Framing::Chunked;
    h.insert(bhttp::field::transfer_encoding, "chunked");
  } else {
    framing = Framing::UntilClose;
    close = true;
  }
  if (close && head.status / 100 != 1) h.insert(bhttp::field::connection, "close");
  return serialize<false>(h);
}

std::string h1_chunk(std::string_view data) {
  if (data.empty()) return {};
  std::string out = beast::buffers_to_string(bhttp::chunk_header(data.size()));
  out.append(data);
  out += beast::buffers_to_string(bhttp::chunk_crlf());
  return out;
}

std::string h1_last_chunk(const Headers& trailers) {
  if (trailers.empty()) return beast::buffers_to_string(bhttp::chunk_last<>());
  bhttp::fields f;
  copy_fields(trailers, f, true, false);
  return beast::buffers_to_string(bhttp::make_chunk_last(f));
}

bool no_response_body(std::string_view method, int status) {
  return method == "HEAD" || status / 100 == 1 || status == 204 || status == 304;
}

}  // namespace tlslab::proxy
