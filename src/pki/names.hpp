// pki names — what a certificate may be issued for, classified and validated before any work.
//
// classify_name() is a pure function: it takes what the user typed ("www.bank32.com",
// "*.bank32.com", "127.0.0.1", "::1", "me@bücher.de") and returns either a typed Name holding the
// exact value to put in the subjectAltName (lower case, IDNA-encoded, canonical address text) or a
// NameError saying precisely why not. Nothing here touches OpenSSL.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/failure.hpp"

namespace tlslab::pki {

enum class NameKind { Dns, Wildcard, Ipv4, Ipv6, Email };

struct Name {
  NameKind kind = NameKind::Dns;
  std::string input;     // as typed: "Bücher.de."
  std::string value;     // as certified: "xn--bcher-kva.de", "*.bank32.com", "2001:db8::1", "me@xn--bcher-kva.de"
  std::string unicode;   // for people: "bücher.de" (= value unless IDNA changed it)
  std::string ip_bytes;  // 4 or 16 network-order bytes for Ipv4/Ipv6, empty otherwise

  [[nodiscard]] bool is_ip() const { return kind == NameKind::Ipv4 || kind == NameKind::Ipv6; }
  [[nodiscard]] bool idna() const { return unicode != value; }
  friend bool operator==(const Name&, const Name&) = default;
};

struct NameError {
  std::string input;
  std::string reason;  // "a wildcard is only allowed as the whole left-most label"
  // message returns `invalid name "a.*.com": a wildcard is only allowed as the whole left-most label`.
  [[nodiscard]] std::string message() const;
};

// classify_name returns the Name for input, or why it cannot be certified.
[[nodiscard]] std::variant<Name, NameError> classify_name(std::string_view input);

// parse_names classifies every input, drops repeats (same kind and value; the first is kept) and
// returns them in input order. The first invalid input throws Failure{kind, NameError::message()}.
[[nodiscard]] std::vector<Name> parse_names(const std::vector<std::string>& inputs, Kind kind = Kind::Usage);

// kind_label returns "DNS", "wildcard", "IPv4", "IPv6", "email".
[[nodiscard]] std::string_view kind_label(NameKind kind);

// browser_warnings returns one sentence per name that browsers will refuse although it is valid
// X.509 ("*.test: ..."); empty when every name is fine.
[[nodiscard]] std::vector<std::string> browser_warnings(const std::vector<Name>& names);

// permitted_by returns whether name falls under one of the permitted DNS subtrees, with RFC 5280
// §4.2.1.10 semantics ("test" permits "test" and anything ending in ".test"). IP addresses are never
// permitted by DNS subtrees (tlslab's name-constrained CAs exclude all addresses); emails are
// checked by their domain.
[[nodiscard]] bool permitted_by(const Name& name, const std::vector<std::string>& permitted_dns);

// normalize_dns_constraint validates a --permit-dns value (".test", "Lab.Example") and returns it as
// RFC 5280 wants it: IDNA-encoded, lower case, without the leading dot. Throws Failure{kind}.
[[nodiscard]] std::string normalize_dns_constraint(std::string_view input, Kind kind = Kind::Usage);

}  // namespace tlslab::pki
