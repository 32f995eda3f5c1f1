// proxy DNS messages — the small stub resolver behind `tlslab proxy --dns SERVER`, as bytes in and
// bytes out (RFC 1035 §4): the proxy can find the real servers with a DNS server of its choice,
// bypassing /etc/hosts, which in the lab maps the real names to the proxy itself. The driver
// sends the queries over UDP; nothing here touches a socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::proxy {

inline constexpr std::uint16_t kDnsTypeA = 1;
inline constexpr std::uint16_t kDnsTypeAaaa = 28;

// dns_query returns a query for name's records of type (A or AAAA), recursion desired, with id.
// Failure{Usage} for a name that cannot be encoded (an empty label, a label over 63 bytes).
[[nodiscard]] std::string dns_query(std::string_view name, std::uint16_t type, std::uint16_t id);

struct DnsAnswer {
  bool matched = false;                // the message answers query id (else: ignore it)
  std::vector<std::string> addresses;  // "127.0.0.1", "::1" — every record of the asked type
  std::string error;                   // "" or why there is no address ("no such name (NXDOMAIN)")
};

// read_dns_answer reads a response to query id for records of type; a malformed message is an
// error, never a crash (the bytes come from the network).
[[nodiscard]] DnsAnswer read_dns_answer(std::string_view message, std::uint16_t id, std::uint16_t type);

}  // namespace tlslab::proxy
