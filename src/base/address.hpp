// Addresses as text.
#pragma once

#include <string_view>

namespace tlslab {

// is_ip_literal tells whether s is an IPv4 or IPv6 address as written in text (no brackets, no port).
[[nodiscard]] bool is_ip_literal(std::string_view s);

}  // namespace tlslab
