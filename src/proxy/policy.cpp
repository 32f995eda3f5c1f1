#include "proxy/policy.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/address.hpp"
#include "base/failure.hpp"
#include "base/text.hpp"
#include "tls/verify.hpp"

namespace tlslab::proxy {
namespace {

bool is_any(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

bool is_loopback(const std::string& address) { return address.rfind("127.", 0) == 0 || address == "::1"; }

}  // namespace

HostPattern::HostPattern(std::string pattern) : pattern_(ascii_lower(std::move(pattern))) {
  if (pattern_.empty()) throw Failure(Kind::Usage, "--pass: empty host pattern");
}

bool HostPattern::matches(const std::string& host) const {
  auto h = ascii_lower(host);
  if (pattern_ == "*") return true;
  if (pattern_.rfind("*.", 0) == 0) {
    auto suffix = pattern_.substr(1);  // ".bank32.com"
    return h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return h == pattern_;
}

bool should_pass(const std::vector<HostPattern>& pass, const std::string& host) {
  return std::any_of(pass.begin(), pass.end(), [&](const HostPattern& p) { return p.matches(host); });
}

std::vector<std::string> forged_names(const pki::CertInfo* upstream, X509* upstream_leaf, const std::string& requested,
                                      const std::string& address) {
  std::vector<std::string> names;
  auto add = [&](const std::string& n) {
    if (n.empty()) return;
    auto l = ascii_lower(n);
    if (std::none_of(names.begin(), names.end(), [&](const std::string& x) { return ascii_lower(x) == l; }))
      names.push_back(n);
  };
  if (upstream) {
    // A CN that is not a host name ("Bank Inc") cannot go into a SAN.
    if (!upstream->common_name.empty() && upstream->common_name.find(' ') == std::string::npos)
      add(upstream->common_name);
    for (const auto& san : upstream->sans)
      if (san.type == pki::SanType::Dns || san.type == pki::SanType::Ip) add(san.value);
  }
  // The forgery carries every DNS and IP SAN of the real certificate (and its CN as one more), so
  // what the real one covers, the forged one covers too.
  auto add_uncovered = [&](const std::string& n) {
    if (!n.empty() && !(upstream_leaf && tls::certificate_covers(upstream_leaf, n))) add(n);
  };
  add_uncovered(requested);
  add_uncovered(address);
  return names;
}

std::string cache_key(const std::vector<std::string>& names, const std::string& key_type) {
  auto sorted = names;
  for (auto& n : sorted) n = ascii_lower(n);
  std::sort(sorted.begin(), sorted.end());
  std::string key = key_type;
  for (const auto& n : sorted) key += "|" + n;
  return key;
}

bool UpstreamResolve::matches(const std::string& host, std::uint16_t to_port) const {
  return (!port || *port == to_port) && HostPattern(name).matches(host);
}

UpstreamResolve parse_upstream_resolve(const std::string& text) {
  auto usage = [&](const std::string& why) {
    return Failure(Kind::Usage, fmt::format("--upstream-resolve '{}': {}", text, why));
  };
  auto unbracket = [](std::string a) {
    return a.size() > 2 && a.front() == '[' && a.back() == ']' ? a.substr(1, a.size() - 2) : a;
  };
  constexpr const char* kForms =
      "expected NAME:ADDR, or NAME:PORT:ADDR as curl's --resolve (e.g. "
      "www.bank32.com:10.0.2.15, *.bank32.com:443:10.0.2.15)";
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) throw usage(kForms);
  UpstreamResolve r{ascii_lower(text.substr(0, colon)), text.substr(colon + 1), std::nullopt};
  if (r.name.find('*') != std::string::npos && r.name != "*" &&
      (r.name.rfind("*.", 0) != 0 || r.name.size() < 3 || r.name.find('*', 1) != std::string::npos))
    throw usage(fmt::format("'{}': a wildcard is *.DOMAIN (every name under DOMAIN) or * (every name)", r.name));
  if (r.address.find(',') != std::string::npos)
    throw usage("one address per entry (repeat --upstream-resolve for more)");
  // NAME:ADDR first: "h:2001:db8::1" is an IPv6 address, not port 2001 (bracket it after a port:
  // "h:443:[2001:db8::1]").
  if (is_ip_literal(unbracket(r.address))) {
    r.address = unbracket(r.address);
    return r;
  }
  auto second = r.address.find(':');
  if (second == std::string::npos) throw usage(fmt::format("'{}' is not an IP address ({})", r.address, kForms));
  auto port_text = r.address.substr(0, second);
  auto address = unbracket(r.address.substr(second + 1));
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) == 0 || std::stoul(port_text) > 65535)
    throw usage(fmt::format("'{}' is not an IP address, nor '{}' a port ({})", r.address, port_text, kForms));
  if (!is_ip_literal(address)) throw usage(fmt::format("'{}' is not an IP address", address));
  r.port = static_cast<std::uint16_t>(std::stoul(port_text));
  r.address = address;
  return r;
}

bool is_loop(const Endpoint& target, const std::vector<Endpoint>& listeners) {
  for (const auto& l : listeners) {
    if (l.port != target.port) continue;
    if (l.address == target.address) return true;
    if (is_any(l.address) && (is_loopback(target.address) || is_any(target.address))) return true;
    if (is_loopback(l.address) && is_any(target.address)) return true;
  }
  return false;
}

ForgeChoice choose_forgery(const std::vector<std::uint16_t>& signature_schemes,
                           const std::vector<std::uint16_t>& certificate_schemes, const std::string& real_key_type,
                           std::uint16_t ca_scheme) {
  auto has = [](const std::vector<std::uint16_t>& list, std::initializer_list<std::uint16_t> any) {
    return std::any_of(any.begin(), any.end(),
                       [&](std::uint16_t s) { return std::find(list.begin(), list.end(), s) != list.end(); });
  };
  ForgeChoice choice{real_key_type == "RSA" || real_key_type == "RSA-PSS" ? "RSA" : "EC", ForgeIssuer::Ca};
  if (!signature_schemes.empty()) {
    bool ec = has(signature_schemes, {0x0403});
    bool rsa = has(signature_schemes, {0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601});
    if (choice.key_type == "EC" && !ec && rsa) choice.key_type = "RSA";
    if (choice.key_type == "RSA" && !rsa && ec) choice.key_type = "EC";
  }
  const auto& in_certificates = certificate_schemes.empty() ? signature_schemes : certificate_schemes;
  if (!in_certificates.empty() && !has(in_certificates, {ca_scheme})) {
    if (has(in_certificates, {0x0401}))
      choice.issuer = ForgeIssuer::RsaPkcs1;
    else if (has(in_certificates, {0x0804, 0x0809}))
      choice.issuer = ForgeIssuer::RsaPss;
  }
  return choice;
}

}  // namespace tlslab::proxy
