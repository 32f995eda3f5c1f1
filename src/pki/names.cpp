#include "pki/names.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <idn2.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace tlslab::pki {
namespace {

// RFC 1035 §2.3.4: labels of at most 63 octets, names of at most 255 octets on the wire, which is
// 253 characters in dotted text without the final dot.
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 253;
// RFC 5321 §4.5.3.1.1.
constexpr size_t kMaxLocalPart = 64;

struct Idn2Free {
  void operator()(char* p) const noexcept { idn2_free(p); }
};

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::vector<std::string_view> split_labels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::string shorten(std::string_view s) {
  return s.size() <= 20 ? std::string(s) : fmt::format("{}…", s.substr(0, 16));
}

// check_ldh returns why the ASCII host name s is not a valid LDH name (RFC 1123 §2.1, RFC 5890
// §2.3.1), or nullopt.
std::optional<std::string> check_ldh(std::string_view s) {
  if (s.size() > kMaxName)
    return fmt::format("the name is {} characters long; the limit is {} (RFC 1035 §2.3.4)", s.size(), kMaxName);
  auto labels = split_labels(s);
  for (size_t i = 0; i < labels.size(); ++i) {
    auto label = labels[i];
    if (label.empty())
      return std::string(i == 0 ? "it starts with a dot" : "it has an empty label (two dots in a row)");
    if (label.size() > kMaxLabel)
      return fmt::format("label \"{}\" is {} characters long; the limit is {} (RFC 1035 §2.3.4)", shorten(label),
                         label.size(), kMaxLabel);
    for (char c : label) {
      if (c == '_')
        return fmt::format("label \"{}\" contains '_', which host names may not (RFC 1123) and CAs refuse",
                           shorten(label));
      if (!is_alpha(c) && !is_digit(c) && c != '-')
        return fmt::format("'{}' is not allowed in a host name (letters, digits, '-' and '.' only)", c);
    }
    if (label.front() == '-' || label.back() == '-')
      return fmt::format("label \"{}\" {} with a hyphen", shorten(label), label.front() == '-' ? "starts" : "ends");
  }
  // RFC 3696 §2: a top-level domain is never all-numeric, so "foo.123" is neither a name nor an address.
  if (std::all_of(labels.back().begin(), labels.back().end(), is_digit))
    return std::string("the last label is all digits: not a host name, and not an IPv4 address");
  return std::nullopt;
}

struct Host {
  std::string ascii;
  std::string unicode;
};

// to_host validates a host name (no wildcard) and returns its IDNA (A-label) and Unicode forms.
std::variant<Host, std::string> to_host(std::string_view in) {
  if (in.empty()) return std::string("the name is empty");
  std::string ascii;
  if (is_ascii(in)) {
    ascii = lowercase(in);
  } else {
    // UTS #46 non-transitional processing with NFC, as browsers do (ß stays ß: xn--zca).
    char* out = nullptr;
    std::string input(in);
    int rc = idn2_to_ascii_8z(input.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    std::unique_ptr<char, Idn2Free> owned(out);
    if (rc != IDN2_OK) return fmt::format("cannot be IDNA-encoded: {}", idn2_strerror(rc));
    ascii = owned.get();
  }
  if (auto why = check_ldh(ascii)) return *why;
  std::string unicode = ascii;
  if (ascii.find("xn--") != std::string::npos) {
    char* out = nullptr;
    int rc = idn2_to_unicode_8z8z(ascii.c_str(), &out, 0);
    std::unique_ptr<char, Idn2Free> owned(out);
    if (rc != IDN2_OK) return fmt::format("an \"xn--\" label is not valid IDNA: {}", idn2_strerror(rc));
    unicode = owned.get();
  }
  return Host{std::move(ascii), std::move(unicode)};
}

std::variant<Name, NameError> dns_name(std::string_view input, std::string_view host) {
  // One trailing dot names the root explicitly ("example.com."); certificates never carry it.
  if (host.size() > 1 && host.back() == '.' && host[host.size() - 2] != '.') host.remove_suffix(1);
  if (host.find('*') != std::string_view::npos) {
    if (host == "*") return NameError{std::string(input), "a lone * would match every name; write *.example.com"};
    auto labels = split_labels(host);
    for (size_t i = 1; i < labels.size(); ++i)
      if (labels[i].find('*') != std::string_view::npos)
        return NameError{std::string(input), labels[0] == "*"
                                                 ? "only one wildcard is allowed, as the whole left-most label"
                                                 : "a wildcard is only allowed as the whole left-most label"};
    if (labels[0] != "*")
      return NameError{std::string(input),
                       "a wildcard must be the whole left-most label (*.example.com), not part of one"};
    auto base = to_host(host.substr(2));
    if (auto* why = std::get_if<std::string>(&base)) return NameError{std::string(input), *why};
    auto& h = std::get<Host>(base);
    return Name{
        .kind = NameKind::Wildcard, .input = std::string(input), .value = "*." + h.ascii, .unicode = "*." + h.unicode};
  }
  auto result = to_host(host);
  if (auto* why = std::get_if<std::string>(&result)) return NameError{std::string(input), *why};
  auto& h = std::get<Host>(result);
  return Name{.kind = NameKind::Dns, .input = std::string(input), .value = h.ascii, .unicode = h.unicode};
}

std::variant<Name, NameError> email_name(std::string_view input) {
  auto at = input.rfind('@');
  auto local = input.substr(0, at);
  auto domain = input.substr(at + 1);
  auto error = [&](std::string why) { return NameError{std::string(input), std::move(why)}; };
  if (local.empty()) return error("the email address has nothing before the @");
  if (domain.empty()) return error("the email address has no domain after the @");
  if (local.size() > kMaxLocalPart)
    return error(fmt::format("the part before the @ is {} characters long; the limit is {} (RFC 5321)", local.size(),
                             kMaxLocalPart));
  if (!is_ascii(local))
    return error("a non-ASCII mailbox needs an SmtpUTF8Mailbox name (RFC 8398), which tlslab does not issue");
  // RFC 5322 §3.2.3 dot-atom: atext characters, dots only between them.
  static constexpr std::string_view atext_specials = "!#$%&'*+-/=?^_`{|}~";
  for (char c : local)
    if (!is_alpha(c) && !is_digit(c) && c != '.' && atext_specials.find(c) == std::string_view::npos)
      return error(fmt::format("'{}' is not allowed before the @ of an email address", c));
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return error("dots before the @ must sit between other characters");
  if (domain.find('*') != std::string_view::npos) return error("an email domain cannot be a wildcard");
  auto host = to_host(domain);
  if (auto* why = std::get_if<std::string>(&host)) return error(fmt::format("domain \"{}\": {}", domain, *why));
  auto& h = std::get<Host>(host);
  return Name{.kind = NameKind::Email,
              .input = std::string(input),
              .value = fmt::format("{}@{}", local, h.ascii),
              .unicode = fmt::format("{}@{}", local, h.unicode)};
}

std::variant<Name, NameError> ipv6_name(std::string_view input, std::string_view text) {
  auto error = [&](std::string why) { return NameError{std::string(input), std::move(why)}; };
  if (text.find("://") != std::string_view::npos) return error("URIs are not supported; give the host name alone");
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.find('%') != std::string_view::npos)
    return error("a zone index (%eth0) is local to one machine and cannot appear in a certificate");
  unsigned char bytes[16];
  std::string copy(text);
  if (inet_pton(AF_INET6, copy.c_str(), bytes) != 1) return error("not a valid IPv6 address");
  char canonical[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes, canonical, sizeof canonical);
  return Name{.kind = NameKind::Ipv6,
              .input = std::string(input),
              .value = canonical,
              .unicode = canonical,
              .ip_bytes = std::string(reinterpret_cast<char*>(bytes), sizeof bytes)};
}

bool looks_numeric(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || c == '.'; });
}

}  // namespace

std::string NameError::message() const { return fmt::format("invalid name \"{}\": {}", input, reason); }

std::variant<Name, NameError> classify_name(std::string_view input) {
  if (input.empty()) return NameError{"", "the name is empty"};
  for (char c : input) {
    if (c == ' ' || c == '\t') return NameError{std::string(input), "it contains a space"};
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return NameError{std::string(input), "it contains a control character"};
  }
  if (input.find('/') != std::string_view::npos)
    return NameError{std::string(input), input.find("://") != std::string_view::npos
                                             ? "URIs are not supported; give the host name alone"
                                             : "'/' is not allowed in a name (an address range is not a name)"};
  if (input.find('@') != std::string_view::npos) return email_name(input);
  if (input.find(':') != std::string_view::npos) return ipv6_name(input, input);
  if (looks_numeric(input)) {
    unsigned char bytes[4];
    std::string copy(input);
    // inet_pton accepts only the dotted quad (no "1.2.3", no octal "010.0.0.1"), as browsers expect.
    if (inet_pton(AF_INET, copy.c_str(), bytes) != 1)
      return NameError{std::string(input), "not a valid IPv4 address (four numbers 0-255 without leading zeros)"};
    return Name{.kind = NameKind::Ipv4,
                .input = std::string(input),
                .value = copy,
                .unicode = copy,
                .ip_bytes = std::string(reinterpret_cast<char*>(bytes), sizeof bytes)};
  }
  return dns_name(input, input);
}

std::vector<Name> parse_names(const std::vector<std::string>& inputs, Kind kind) {
  std::vector<Name> out;
  for (const auto& input : inputs) {
    auto result = classify_name(input);
    if (auto* error = std::get_if<NameError>(&result)) throw Failure(kind, error->message());
    auto& name = std::get<Name>(result);
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const Name& n) { return n.kind == name.kind && n.value == name.value; });
    if (!seen) out.push_back(std::move(name));
  }
  return out;
}

std::string_view kind_label(NameKind kind) {
  switch (kind) {
    case NameKind::Dns:
      return "DNS";
    case NameKind::Wildcard:
      return "wildcard";
    case NameKind::Ipv4:
      return "IPv4";
    case NameKind::Ipv6:
      return "IPv6";
    case NameKind::Email:
      return "email";
  }
  return "?";
}

std::vector<std::string> browser_warnings(const std::vector<Name>& names) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (name.kind != NameKind::Wildcard) continue;
    auto base = std::string_view(name.value).substr(2);
    if (base.find('.') == std::string_view::npos)
      out.push_back(
          fmt::format("{}: browsers refuse a wildcard directly under a top-level domain; list the hosts "
                      "or go one level down (*.lab.{})",
                      name.value, base));
  }
  return out;
}

bool permitted_by(const Name& name, const std::vector<std::string>& permitted_dns) {
  if (permitted_dns.empty()) return true;
  if (name.is_ip()) return false;
  std::string_view host = name.value;
  if (name.kind == NameKind::Email) host = host.substr(host.rfind('@') + 1);
  return std::any_of(permitted_dns.begin(), permitted_dns.end(), [&](const std::string& base) {
    if (host == base) return true;
    return host.size() > base.size() && host.ends_with(base) && host[host.size() - base.size() - 1] == '.';
  });
}

std::string normalize_dns_constraint(std::string_view input, Kind kind) {
  std::string_view host = input;
  if (host.size() > 1 && host.front() == '.') host.remove_prefix(1);
  auto result = to_host(host);
  if (auto* why = std::get_if<std::string>(&result))
    throw Failure(kind, fmt::format("invalid --permit-dns \"{}\": {}", input, *why));
  return std::get<Host>(result).ascii;
}

}  // namespace tlslab::pki
