// Where to connect: the target given on the command line, and curl's --resolve / --connect-to
// overrides. Pure parsing, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::net {

struct Target {
  std::string host;  // as given, without brackets ("www.bank32.com", "127.0.0.1", "::1")
  std::uint16_t port = 443;
  std::string path;     // "/index.html" from a URL; "" when none was given
  bool is_url = false;  // given as https://...
};

// parse_target reads HOST, HOST:PORT, [V6]:PORT or https://HOST[:PORT]/PATH; Failure{Usage} for
// anything else (http:// is refused with a hint: this is a TLS tool).
// With allow_any_port, port 0 is accepted (a listener: "let the system pick").
[[nodiscard]] Target parse_target(std::string_view text, std::uint16_t default_port = 443, bool allow_any_port = false);

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

struct Route {
  std::string host;  // what to resolve / connect to
  std::uint16_t port = 0;
  std::vector<std::string> addresses;  // fixed addresses (from --resolve or an IP literal); empty: use DNS
  std::string via;                     // "dns", "literal", "--resolve", "--connect-to"
};

// route decides where a connection to target really goes after the overrides.
[[nodiscard]] Route route(const Target& target, const std::vector<ResolveOverride>& resolves,
                          const std::vector<ConnectTo>& connect_tos);

}  // namespace tlslab::net
