// Addresses as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlslab {

// is_ip_literal tells whether s is an IPv4 or IPv6 address as written in text (no brackets, no port).
[[nodiscard]] bool is_ip_literal(std::string_view s);

// format_endpoint returns "host:port", with an IPv6 address in brackets so the port stays apart
// ("[::1]:443", "127.0.0.1:443", "www.bank32.com:443"): host is a name or an address without
// brackets (an IPv6 address may carry a zone, "fe80::1%eth0").
[[nodiscard]] std::string format_endpoint(std::string_view host, std::uint16_t port);

}  // namespace tlslab
