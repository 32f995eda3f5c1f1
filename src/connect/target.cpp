#include "connect/target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <cstring>

#include "base/address.hpp"
#include "base/failure.hpp"
#include "base/text.hpp"

namespace tlslab::connect {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::uint16_t need_port(std::string_view text, std::string_view whole, std::string_view option) {
  auto port = parse_port(text);
  if (!port)
    throw Failure(Kind::Usage, fmt::format("{}'{}': '{}' is not a port number (1-65535)", option, whole, text));
  return *port;
}

// split_host_port splits "host:port", "[v6]:port" or "host" (port "" then).
std::pair<std::string, std::string> split_host_port(std::string_view text, std::string_view option) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      throw Failure(Kind::Usage, fmt::format("{}'{}': missing ']' after the IPv6 address", option, text));
    std::string host(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (rest.empty()) return {host, ""};
    if (rest.front() != ':')
      throw Failure(Kind::Usage, fmt::format("{}'{}': expected ':PORT' after ']'", option, text));
    return {host, std::string(rest.substr(1))};
  }
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(':') != colon)
    return {std::string(text), ""};  // a bare IPv6 address
  if (colon == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

// Fields of --resolve / --connect-to separated by ':' where IPv6 addresses are bracketed.
std::vector<std::string> split_fields(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ':' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string unbracket(std::string s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') return s.substr(1, s.size() - 2);
  return s;
}

// printable shows text in a one-line message: control characters as \xNN.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

// is_host_name tells whether a decoded host holds only what DNS names (and IDNA names before their
// encoding) may hold: letters, digits, '-', '_', '.' and non-ASCII bytes.
bool is_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c >= 0x80;
  });
}

Target parse_url(std::string_view text) {
  namespace urls = boost::urls;
  std::string encoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c == 0x7f)
      throw Failure(Kind::Url, fmt::format("'{}': {} at position {} is not allowed in a URL (write it as %{:02X})",
                                           printable(text), c == ' ' ? "a space" : "a control character", i + 1, c));
    if (c >= 0x80 || std::strchr("\"<>\\^`{|}", c))
      encoded += fmt::format("%{:02X}", c);
    else
      encoded += static_cast<char>(c);
  }
  auto parsed = urls::parse_uri(encoded);
  if (!parsed) throw Failure(Kind::Url, fmt::format("'{}' is not a valid URL ({})", text, parsed.error().message()));
  const auto& u = *parsed;
  // After an authority the path is empty or starts with '/' (RFC 3986 section 3.3); Boost 1.81
  // reads "https://h:x/" as port "" and path "x/", so the rule is checked here.
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/')
    throw Failure(Kind::Url, fmt::format("'{}' is not a valid URL (a port must be a number)", text));
  auto scheme = ascii_lower(std::string(u.scheme()));
  if (scheme == "http")
    throw Failure(Kind::Usage, fmt::format("'{}' is plain HTTP; tlslab connect speaks TLS: use https://", text));
  if (scheme != "https")
    throw Failure(Kind::Usage, fmt::format("'{}': unsupported scheme {}:// (use https://)", text, scheme));
  Target t;
  t.is_url = true;
  switch (u.host_type()) {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      t.host = u.host_address();
      break;
    case urls::host_type::name:
      t.host = u.host_name();
      if (t.host.empty()) throw Failure(Kind::Url, fmt::format("'{}': no host name", text));
      if (!is_host_name(t.host))
        throw Failure(Kind::Url, fmt::format("'{}': '{}' is not a host name", text, printable(t.host)));
      break;
    default:
      throw Failure(Kind::Url, fmt::format("'{}': no host name", text));
  }
  if (u.has_port() && !u.port().empty()) {
    auto port = parse_port(u.port());
    if (!port)
      throw Failure(Kind::Url, fmt::format("'{}': '{}' is not a port number (1-65535)", text, std::string(u.port())));
    t.port = *port;
  }
  t.path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());
  if (u.has_userinfo()) {
    t.user = u.user();
    t.password = u.password();
  }
  return t;
}

}  // namespace

Target parse_target(std::string_view text, std::uint16_t default_port, bool allow_any_port) {
  if (text.find("://") != std::string_view::npos) return parse_url(text);
  Target t;
  t.port = default_port;
  std::string_view rest = text;
  auto [host, port] = split_host_port(rest, "");
  if (host.empty()) throw Failure(Kind::Usage, fmt::format("'{}': no host name", text));
  if (allow_any_port && port == "0")
    t.port = 0;
  else if (!port.empty())
    t.port = need_port(port, text, "");
  t.host = host;
  return t;
}

Proxy parse_proxy(std::string_view text) {
  namespace urls = boost::urls;
  std::string url(text);
  if (url.find("://") == std::string::npos) url = "http://" + url;
  auto parsed = urls::parse_uri(url);
  auto bad = [&](std::string_view why) {
    return Failure(Kind::Usage, fmt::format("-x '{}': {} (expected http://HOST:PORT)", printable(text), why));
  };
  if (!parsed) throw bad("not a valid proxy URL");
  const auto& u = *parsed;
  auto scheme = ascii_lower(std::string(u.scheme()));
  if (scheme != "http")
    throw bad(fmt::format("{}:// proxies are not supported; tlslab talks to an HTTP proxy with CONNECT", scheme));
  if (!u.encoded_path().empty() && u.encoded_path() != "/") throw bad("a proxy has no path");
  Proxy p;
  switch (u.host_type()) {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      p.host = u.host_address();
      break;
    case urls::host_type::name:
      p.host = u.host_name();
      if (p.host.empty()) throw bad("no host name");
      if (!is_host_name(p.host)) throw bad(fmt::format("'{}' is not a host name", printable(p.host)));
      break;
    default:
      throw bad("no host name");
  }
  if (u.has_port() && !u.port().empty()) {
    auto port = parse_port(u.port());
    if (!port) throw bad(fmt::format("'{}' is not a port number (1-65535)", std::string(u.port())));
    p.port = *port;
  }
  if (u.has_userinfo()) {
    p.user = u.user();
    p.password = u.password();
  }
  return p;
}

std::string authority(const std::string& host, std::uint16_t port) { return format_endpoint(host, port); }

std::string host_header(const Target& target) {
  std::string host = target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  return target.port == 443 ? host : fmt::format("{}:{}", host, target.port);
}

ResolveOverride parse_resolve(std::string_view text) {
  auto fields = split_fields(text);
  if (fields.size() < 3 || fields[0].empty())
    throw Failure(Kind::Usage, fmt::format("--resolve '{}': expected HOST:PORT:ADDR[,ADDR...]", text));
  ResolveOverride r;
  r.host = ascii_lower(fields[0]);
  r.port = need_port(fields[1], text, "--resolve ");
  std::string addrs;
  for (size_t i = 2; i < fields.size(); ++i) addrs += (i > 2 ? ":" : "") + fields[i];
  size_t start = 0;
  while (start <= addrs.size()) {
    auto comma = addrs.find(',', start);
    auto addr = unbracket(addrs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!is_ip_literal(addr))
      throw Failure(Kind::Usage, fmt::format("--resolve '{}': '{}' is not an IP address", text, addr));
    r.addresses.push_back(addr);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return r;
}

ConnectTo parse_connect_to(std::string_view text) {
  auto fields = split_fields(text);
  if (fields.size() != 4)
    throw Failure(Kind::Usage,
                  fmt::format("--connect-to '{}': expected HOST1:PORT1:HOST2:PORT2 (parts may be empty)", text));
  ConnectTo c;
  c.from_host = ascii_lower(unbracket(fields[0]));
  if (!fields[1].empty()) c.from_port = need_port(fields[1], text, "--connect-to ");
  c.to_host = unbracket(fields[2]);
  if (!fields[3].empty()) c.to_port = need_port(fields[3], text, "--connect-to ");
  return c;
}

std::string_view to_string(RouteVia via) {
  switch (via) {
    case RouteVia::Dns:
      return "dns";
    case RouteVia::Literal:
      return "literal";
    case RouteVia::Resolve:
      return "--resolve";
    case RouteVia::ConnectTo:
      return "--connect-to";
  }
  return "unknown";
}

Route route(const Target& target, const std::vector<ResolveOverride>& resolves,
            const std::vector<ConnectTo>& connect_tos) {
  Route r{target.host, target.port, {}, RouteVia::Dns};
  auto host = ascii_lower(target.host);
  for (const auto& c : connect_tos) {
    if ((c.from_host.empty() || c.from_host == host) && (!c.from_port || *c.from_port == target.port)) {
      if (!c.to_host.empty()) r.host = c.to_host;
      if (c.to_port) r.port = *c.to_port;
      r.via = RouteVia::ConnectTo;
      break;
    }
  }
  auto rhost = ascii_lower(r.host);
  for (const auto& res : resolves) {
    if ((res.host == rhost || res.host == "*") && res.port == r.port) {
      r.addresses = res.addresses;
      r.via = RouteVia::Resolve;
      return r;
    }
  }
  if (is_ip_literal(r.host)) {
    r.addresses = {r.host};
    if (r.via == RouteVia::Dns) r.via = RouteVia::Literal;
  }
  return r;
}

}  // namespace tlslab::connect
