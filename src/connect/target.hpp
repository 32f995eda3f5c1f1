// Where to connect: the target given on the command line, and curl's --resolve / --connect-to
// overrides. Pure parsing, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::connect {

struct Target {
  std::string host;  // as given, without brackets ("www.bank32.com", "127.0.0.1", "::1")
  std::uint16_t port = 443;
  std::string path;     // "/index.html" from a URL; "" when none was given
  bool is_url = false;  // given as https://...
  // user and password from a URL's userinfo ("https://alice:s3cret@host/"), percent-decoded;
  // user is empty when the URL has none. curl sends them as Basic authentication.
  std::optional<std::string> user;
  std::string password;
};

// parse_target reads HOST, HOST:PORT, [V6]:PORT or https://[USER[:PASSWORD]@]HOST[:PORT]/PATH.
// URLs are parsed as curl reads them: a space or a control character, a bad port or a host that
// is not a name nor an address is Failure{Url} (curl's exit 3); other bytes RFC 3986 does not allow
// in a URL (non-ASCII, '"', '<', '>', '\\', '^', '`', '{', '|', '}') are percent-encoded, and a
// non-ASCII host is returned decoded (for IDNA). The other forms are Failure{Usage} when wrong, as
// are schemes other than https:// (http:// with a hint: this is a TLS tool).
// With allow_any_port, port 0 is accepted (a listener: "let the system pick").
[[nodiscard]] Target parse_target(std::string_view text, std::uint16_t default_port = 443, bool allow_any_port = false);

// Proxy is -x/--proxy: an HTTP proxy that opens a tunnel with CONNECT, as curl uses one.
struct Proxy {
  std::string host;  // without brackets
  std::uint16_t port = 1080;
  std::optional<std::string> user;  // from http://USER:PASSWORD@HOST:PORT, percent-decoded
  std::string password;
};

// parse_proxy reads -x's value as curl does: [http://][USER[:PASSWORD]@]HOST[:PORT], port 1080 by
// default. Failure{Usage} naming -x for anything else (https:// and socks proxies are refused:
// tlslab speaks to proxies in plain HTTP only).
[[nodiscard]] Proxy parse_proxy(std::string_view text);

// authority returns "host:port" with an IPv6 address in brackets ("[::1]:443").
[[nodiscard]] std::string authority(const std::string& host, std::uint16_t port);

// host_header returns the Host header value for target: the name, bracketed if IPv6, with the
// port when it is not 443.
[[nodiscard]] std::string host_header(const Target& target);

struct ResolveOverride {  // --resolve HOST:PORT:ADDR[,ADDR...]
  std::string host;
  std::uint16_t port = 0;
  std::vector<std::string> addresses;
};
struct ConnectTo {  // --connect-to HOST1:PORT1:HOST2:PORT2 (empty parts match any / keep)
  std::string from_host;
  std::optional<std::uint16_t> from_port;
  std::string to_host;
  std::optional<std::uint16_t> to_port;
};

[[nodiscard]] ResolveOverride parse_resolve(std::string_view text);
[[nodiscard]] ConnectTo parse_connect_to(std::string_view text);

// RouteVia is what decided where a connection goes: DNS, the target being an address, or an override.
enum class RouteVia { Dns, Literal, Resolve, ConnectTo };

// to_string names it as the output does: "dns", "literal", "--resolve", "--connect-to".
[[nodiscard]] std::string_view to_string(RouteVia via);

struct Route {
  std::string host;  // what to resolve / connect to
  std::uint16_t port = 0;
  std::vector<std::string> addresses;  // fixed addresses (from --resolve or an IP literal); empty: use DNS
  RouteVia via = RouteVia::Dns;
};

// route decides where a connection to target really goes after the overrides.
[[nodiscard]] Route route(const Target& target, const std::vector<ResolveOverride>& resolves,
                          const std::vector<ConnectTo>& connect_tos);

}  // namespace tlslab::connect
