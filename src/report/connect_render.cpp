#include "report/connect_render.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "base/address.hpp"
#include "base/text.hpp"
#include "http/h2_frames.hpp"
#include "report/cert_render.hpp"
#include "report/text.hpp"

namespace tlslab::report {
namespace {

std::string yes_no(bool b) { return b ? "yes" : "no"; }

// setting_key is a SETTINGS parameter as a JSON key: "max_concurrent_streams", "unknown_0x00ff".
std::string setting_key(std::uint16_t id) {
  auto name = http::h2_setting_name(id);
  if (name.starts_with("unknown")) return fmt::format("unknown_0x{:04x}", id);
  return ascii_lower(name);
}

std::string ms(double v) { return fmt::format("{:.1f} ms", v); }

std::string trust_text(const tls::TrustStoreInfo& t) {
  if (t.kind == tls::TrustStoreKind::File)
    return fmt::format("CA file {} ({} certificate{})", t.path, t.anchors, t.anchors == 1 ? "" : "s");
  auto text = fmt::format("{} {} ({} hashed entr{}{})",
                          t.kind == tls::TrustStoreKind::System ? "system store, directory" : "CA directory", t.path,
                          t.anchors, t.anchors == 1 ? "y" : "ies", t.variable.empty() ? "" : ", from " + t.variable);
  if (!t.file.empty())
    text += fmt::format(", and CA file {} ({} certificate{}, from SSL_CERT_FILE)", t.file, t.file_anchors,
                        t.file_anchors == 1 ? "" : "s");
  return text;
}

// python_name renders a CertInfo subject the way getpeercert() prints it, abridged.
std::string python_sans(const pki::CertInfo& c) {
  std::vector<std::string> parts;
  for (const auto& s : c.sans)
    parts.push_back(fmt::format("('{}', '{}')",
                                s.type == pki::SanType::Dns  ? "DNS"
                                : s.type == pki::SanType::Ip ? "IP Address"
                                                             : pki::to_string(s.type),
                                s.value));
  return fmt::format("({})", fmt::join(parts, ", "));
}

void add_connection(Text& t, const connect::ConnectReport& r, bool progressive = false) {
  t.heading("Connection");
  // Lines printed as they become known keep the column of the section's longest label.
  if (progressive) t.min_label_width(std::string_view("TCP connected").size());
  auto target = format_endpoint(r.target.host, r.target.port);  // "[::1]:4433", not "::1:4433"
  std::string via;
  if (r.route.via == connect::RouteVia::Resolve)
    via = fmt::format("  (--resolve maps it to {})", fmt::join(r.route.addresses, ", "));
  if (r.route.via == connect::RouteVia::ConnectTo)
    via = fmt::format("  (--connect-to sends it to {}:{})", r.route.host, r.route.port);
  // An IDNA name shows both forms, as `ca issue` does: "bücher.de:4433 (xn--bcher-kva.de)".
  if (!r.host_unicode.empty()) target = fmt::format("{}:{} ({})", r.host_unicode, r.target.port, r.target.host);
  if (r.tunnel) {
    // The route is the proxy's: the target is reached through the tunnel.
    t.row("Target", target + "  (through the proxy)");
    t.row("Proxy", fmt::format("http://{}  (-x){}", r.tunnel->proxy, via));
  } else {
    t.row("Target", target + via);
  }
  if (!r.addresses.empty()) t.row("Resolved", fmt::format("{}", fmt::join(r.addresses, ", ")));
  if (r.tcp_connected) {
    t.row("TCP connected", fmt::format("{} from {} in {}", r.connected_address, r.local_address, ms(r.timings.tcp_ms)));
  }
  if (r.tunnel && r.tunnel->replied) {
    const auto& tu = *r.tunnel;
    t.row("Tunnel",
          fmt::format("CONNECT {}{}: {} {} {} in {}", tu.authority, tu.credentials ? " (with Proxy-Authorization)" : "",
                      tu.version, tu.status, tu.reason, ms(tu.ms)),
          tu.established() ? Tone::Good : Tone::Bad);
  }
}

void add_tls(Text& t, const connect::ConnectReport& r) {
  const auto& h = r.handshake;
  t.heading("TLS handshake");
  t.row("Protocol", tls::to_string(h.version),
        h.version == tls::TlsVersion::Tls1_3 || h.version == tls::TlsVersion::Tls1_2 ? Tone::Good : Tone::Bad);
  t.row("Cipher suite",
        h.cipher.iana == h.cipher.openssl
            ? fmt::format("{}  (code 0x{:04X})", h.cipher.iana, h.cipher.id)
            : fmt::format("{}  (OpenSSL name {}, code 0x{:04X})", h.cipher.iana, h.cipher.openssl, h.cipher.id),
        Tone::Strong);
  t.row("Key exchange", h.cipher.key_exchange, Tone::Plain, 1);
  t.row("Authentication", h.cipher.authentication, Tone::Plain, 1);
  t.row("Encryption", fmt::format("{} ({} bits{})", h.cipher.cipher, h.cipher.bits, h.cipher.aead ? ", AEAD" : ""),
        Tone::Plain, 1);
  t.row("Hash", h.cipher.hash + (h.cipher.aead ? "" : ", MAC " + h.cipher.mac), Tone::Plain, 1);
  t.row("Key-exchange group", h.group.empty() ? "none (RSA key transport)" : h.group,
        h.group.empty() ? Tone::Warn : Tone::Plain);
  t.row("Server signature", h.signature_scheme.empty() ? "none" : h.signature_scheme);
  t.row("ALPN", h.alpn.empty() ? "none negotiated" : h.alpn);
  t.row("SNI sent", h.sni.empty() ? "none" : h.sni);
  t.row("Server hostname", r.verdict.hostname.checked ? r.verdict.hostname.name : "(not checked: --no-check-hostname)");
  t.row("Resumed", yes_no(h.resumed));
  t.row("Session ticket", h.session_ticket ? "received" : "none received");
  if (h.client_certificate_requested)
    t.row("Client certificate",
          h.client_certificate.empty() ? "requested, none sent" : "sent: " + h.client_certificate);
  if (h.version != tls::TlsVersion::Tls1_3) {
    t.row("Extended master secret", yes_no(h.extended_master_secret),
          h.extended_master_secret ? Tone::Plain : Tone::Warn);
    t.row("Secure renegotiation", yes_no(h.secure_renegotiation));
  }
  if (r.lowered_security)
    t.row("Security level", "lowered to 0 for TLS 1.0/1.1 (asked for with --tls-min/--tls-max)", Tone::Warn);
  t.row("Handshake time", ms(r.timings.tls_ms));
}

void add_python_view(Text& t, const connect::ConnectReport& r, std::int64_t) {
  const auto& h = r.handshake;
  t.heading("As the lab's Python client sees it");
  t.row("cipher()", fmt::format("('{}', '{}', {})", h.cipher.openssl, tls::to_string(h.version), h.cipher.bits));
  t.row("server_hostname", r.verdict.hostname.checked
                               ? "'" + r.verdict.hostname.name + "'"
                               : (r.handshake.sni.empty() ? "None" : "'" + r.handshake.sni + "'"));
  if (!h.peer_chain.empty()) {
    const auto& leaf = h.peer_chain.front();
    t.row("getpeercert()", fmt::format("subject {}", leaf.subject));
    t.row("", fmt::format("issuer {}", leaf.issuer), Tone::Plain);
    t.row("", fmt::format("notAfter {}", pki::format_time(leaf.not_after)), Tone::Plain);
    t.row("", fmt::format("subjectAltName {}", python_sans(leaf)), Tone::Plain);
  } else {
    t.row("getpeercert()", "{} (no certificate)");
  }
  t.row("get_ca_certs()", r.trust.lazy ? "[] until a handshake loads an anchor: a hashed directory is read lazily"
                                       : fmt::format("{} certificate{} (a CA file is loaded whole)", r.trust.anchors,
                                                     r.trust.anchors == 1 ? "" : "s"));
}

void add_chain(Text& t, const connect::ConnectReport& r, std::int64_t now) {
  const auto& chain = r.handshake.peer_chain;
  t.heading(fmt::format("Certificate chain sent by the server ({} certificate{})", chain.size(),
                        chain.size() == 1 ? "" : "s"));
  for (size_t i = 0; i < chain.size(); ++i) {
    if (i) t.line("");
    t.line(fmt::format("[{}] {}", i, chain[i].common_name.empty() ? chain[i].subject : chain[i].common_name),
           Tone::Strong);
    add_cert_rows(t, chain[i], now, 1);
  }
  const auto& path = r.handshake.verified_chain;
  if (!path.empty() && r.verdict.chain_ok) {
    t.heading("Verified path");
    for (size_t i = 0; i < path.size(); ++i) {
      bool anchor = i + 1 == path.size();
      std::string note;
      if (anchor) {
        note = "  <- trust anchor";
        if (!r.anchor_file.empty())
          note += fmt::format(" ({}/{})", r.trust.path, r.anchor_file);
        else if (r.trust.kind == tls::TrustStoreKind::File)
          note += fmt::format(" (from {})", r.trust.path);
      }
      t.line(fmt::format("{}{}{}", std::string(i * 2, ' '), path[i].subject, note), anchor ? Tone::Good : Tone::Plain);
    }
  }
}

void add_verdict(Text& t, const connect::ConnectReport& r) {
  const auto& v = r.verdict;
  t.heading("Verification");
  t.row("Trust store", trust_text(r.trust));
  t.row("Chain", v.chain_ok ? "trusted" : "NOT trusted", v.chain_ok ? Tone::Good : Tone::Bad);
  for (const auto& p : v.problems) {
    t.line(fmt::format("depth {} ({}): {}", p.depth, p.subject, p.reason), Tone::Bad, 1);
    if (!p.fix.empty()) t.line("fix: " + p.fix, Tone::Dim, 2);
  }
  if (v.hostname.checked) {
    if (v.hostname.ok) {
      t.row("Hostname", fmt::format("{} matches {}", v.hostname.name, v.hostname.matched), Tone::Good);
    } else {
      t.row("Hostname", "MISMATCH", Tone::Bad);
      t.line(v.hostname.reason, Tone::Bad, 1);
      if (!v.hostname.fix.empty()) t.line("fix: " + v.hostname.fix, Tone::Dim, 2);
    }
  } else {
    t.row("Hostname", "not checked (--no-check-hostname)", Tone::Warn);
  }
  if (!r.crl_file.empty()) {
    bool clean = std::none_of(v.problems.begin(), v.problems.end(),
                              [](const tls::VerifyProblem& p) { return tls::is_crl_problem(p.code); });
    auto checked = fmt::format("{} CRL{} from {}", r.crls, r.crls == 1 ? "" : "s", r.crl_file);
    t.row("Revocation (CRL)",
          clean ? fmt::format("no certificate of the chain is revoked ({})", checked)
                : fmt::format("FAILED against {} (see above)", checked),
          clean ? Tone::Good : Tone::Bad);
  }
  bool status_bad = v.ocsp && !v.ocsp->ok;
  if (v.ocsp) {
    const auto& o = *v.ocsp;
    if (o.ok) {
      std::string dates;
      if (o.this_update) dates += ", updated " + pki::format_time(*o.this_update);
      if (o.next_update) dates += ", next update " + pki::format_time(*o.next_update);
      t.row("OCSP staple", fmt::format("good (signed by {}{})", o.responder, dates), Tone::Good);
    } else {
      t.row("OCSP staple", o.status == "missing" ? std::string("none") : o.status, Tone::Bad);
      t.line(o.reason, Tone::Bad, 1);
      if (!o.fix.empty()) t.line("fix: " + o.fix, Tone::Dim, 2);
    }
  }
  std::string verdict = !v.ok()      ? (r.verification_enforced ? "FAILED — no data was sent"
                                                                : "FAILED — continuing anyway because of --insecure")
                        : status_bad ? "FAILED — the certificate status is not good (--cert-status); no data was sent"
                                     : "OK — the server is who it claims to be";
  t.row("Verdict", verdict, v.ok() && !status_bad ? Tone::Good : Tone::Bad);
}

void add_anchors(Text& t, const connect::ConnectReport& r, std::int64_t now) {
  t.heading(fmt::format("Trusted CA certificates ({})", r.anchors.size()));
  for (const auto& a : r.anchors) {
    t.line(a.subject, Tone::Strong);
    t.row("Expires", fmt::format("{} ({})", pki::format_time(a.not_after), validity_text(a, now)), Tone::Plain, 1);
    t.row("SHA-256", a.sha256_fingerprint, Tone::Dim, 1);
  }
}

void add_trace(Text& t, const connect::ConnectReport& r, std::size_t from, std::size_t to, const char* title) {
  if (from >= to) return;
  t.heading(title);
  for (std::size_t i = from; i < to; ++i) {
    const auto& m = r.trace[i];
    t.line(fmt::format("{} {} {} ({} bytes)", m.direction == tls::Direction::Sent ? "->" : "<-", m.content, m.type,
                       m.length),
           Tone::Strong);
    for (const auto& f : m.fields) t.row(f.name, f.value, f.name == "error" ? Tone::Bad : Tone::Plain, 1);
  }
}

void add_frames(Text& t, const connect::ConnectReport& r) {
  if (r.http2_frames.empty()) return;
  t.heading("HTTP/2 frames (--trace)");
  for (const auto& f : r.http2_frames) {
    auto line = f.type == "preface"
                    ? fmt::format("{} preface ({} bytes)", f.sent ? "->" : "<-", f.length)
                    : fmt::format("{} {} stream {} ({} bytes)", f.sent ? "->" : "<-", f.type, f.stream, f.length);
    if (!f.flags.empty()) line += fmt::format("  {}", fmt::join(f.flags, " "));
    t.line(line, Tone::Strong);
    for (const auto& field : f.fields)
      t.row(field.name, field.value, field.name == "error" ? Tone::Bad : Tone::Plain, 1);
    for (const auto& h : f.headers) t.row(h.name, h.value, Tone::Dim, 1);
  }
}

std::string stream_text(const http::Http2Facts& h) {
  auto how =
      h.stream_end == "end_stream"        ? std::string("ended by the server (END_STREAM)")
      : h.stream_end == "reset_by_server" ? fmt::format("reset by the server ({})", http::h2_error_name(h.error_code))
      : h.stream_end == "reset_by_client" ? fmt::format("reset by tlslab ({})", http::h2_error_name(h.error_code))
                                          : std::string("still open when the connection ended");
  return fmt::format("{}, {}", h.stream, how);
}

std::string settings_text(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& settings) {
  if (settings.empty()) return "none (all defaults)";
  std::vector<std::string> parts;
  for (const auto& [id, value] : settings) parts.push_back(fmt::format("{} {}", http::h2_setting_name(id), value));
  return fmt::format("{}", fmt::join(parts, ", "));
}

void add_response(Text& t, const connect::ConnectReport& r) {
  const auto& resp = *r.response;
  t.heading("HTTP response");
  auto status = fmt::format("{} {}", resp.version, resp.status);
  if (!resp.reason.empty()) status += " " + resp.reason;
  t.row("Status", status, resp.status >= 400 ? Tone::Bad : resp.status >= 300 ? Tone::Warn : Tone::Good);
  for (const auto& [name, value] : resp.headers) t.row(name, value, Tone::Dim, 1);
  t.row("Body", fmt::format("{} bytes ({}), sha256 {}", resp.body_bytes, resp.framing, resp.body_sha256));
  if (!resp.trailers.empty()) {
    t.row("Trailers", fmt::format("{}", resp.trailers.size()));
    for (const auto& [name, value] : resp.trailers) t.row(name, value, Tone::Dim, 1);
  }
  if (resp.http2) {
    t.row("HTTP/2 stream", stream_text(*resp.http2));
    t.row("Server SETTINGS", settings_text(resp.http2->server_settings));
  }
  if (!r.saved_to.empty()) t.row("Saved to", r.saved_to, Tone::Good);
  t.row("First byte after", ms(r.timings.first_byte_ms));
}

}  // namespace

std::string connect_progress(const connect::ConnectReport& r, bool color) {
  Text t(color);
  add_connection(t, r, true);
  return t.str();
}

std::string connect_text(const connect::ConnectReport& r, bool color, Part part, bool connection_shown) {
  Text t(color);
  auto now = pki::now_epoch();
  if (part != Part::Rest) {
    if (!connection_shown) add_connection(t, r);
    std::size_t until = part == Part::Handshake || !r.handshake_done ? r.trace.size() : r.trace_at_handshake;
    if (part == Part::All && r.trace_at_handshake == 0) until = r.trace.size();
    add_trace(t, r, 0, until, "Handshake messages (--trace)");
    if (r.handshake_done) {
      add_tls(t, r);
      add_chain(t, r, now);
      add_python_view(t, r, now);
      add_verdict(t, r);
    }
    if (!r.anchors.empty()) add_anchors(t, r, now);
    if (part == Part::Handshake) return t.str();
  }
  if (part == Part::Rest || (part == Part::All && r.trace_at_handshake > 0))
    add_trace(t, r, r.trace_at_handshake, r.trace.size(), "Messages after the handshake (--trace)");
  add_frames(t, r);
  if (r.response) add_response(t, r);
  t.heading("Timings");
  t.row("Total", fmt::format("{} (resolve {}, TCP {}, TLS {})", ms(r.timings.total_ms), ms(r.timings.resolve_ms),
                             ms(r.timings.tcp_ms), ms(r.timings.tls_ms)));
  return t.str();
}

namespace {

nlohmann::json time_json(const std::optional<std::int64_t>& t) {
  return t ? nlohmann::json(iso_time(*t)) : nlohmann::json(nullptr);
}

nlohmann::json revocation_json(const tls::Revocation& rev) {
  return {{"date", iso_time(rev.date)},
          {"date_epoch", rev.date},
          {"reason", rev.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(rev.reason)}};
}

nlohmann::json ocsp_json(const tls::OcspVerdict& o) {
  using nlohmann::json;
  return {{"status", o.status},
          {"ok", o.ok},
          {"reason", o.reason.empty() ? json(nullptr) : json(o.reason)},
          {"fix", o.fix.empty() ? json(nullptr) : json(o.fix)},
          {"responder", o.responder.empty() ? json(nullptr) : json(o.responder)},
          {"produced_at", time_json(o.produced)},
          {"this_update", time_json(o.this_update)},
          {"next_update", time_json(o.next_update)},
          {"revocation", o.revocation ? revocation_json(*o.revocation) : json(nullptr)}};
}

}  // namespace

nlohmann::json connect_json(const connect::ConnectReport& r) {
  using nlohmann::json;
  auto now = pki::now_epoch();
  auto certs = [&](const std::vector<pki::CertInfo>& list) {
    json a = json::array();
    for (const auto& c : list) a.push_back(cert_json(c, now));
    return a;
  };
  json j;
  j["target"] = {{"host", r.target.host}, {"port", r.target.port}, {"path", r.target.path}};
  if (!r.host_unicode.empty()) j["target"]["unicode_host"] = r.host_unicode;
  j["route"] = {{"host", r.route.host}, {"port", r.route.port}, {"via", connect::to_string(r.route.via)}};
  if (r.tunnel) {
    const auto& tu = *r.tunnel;
    j["proxy"] = {{"address", tu.proxy},
                  {"connect", tu.authority},
                  {"credentials_sent", tu.credentials},
                  {"status", tu.replied ? json(tu.status) : json(nullptr)},
                  {"reason", tu.replied ? json(tu.reason) : json(nullptr)},
                  {"established", tu.established()},
                  {"ms", tu.ms}};
  } else {
    j["proxy"] = nullptr;
  }
  j["addresses"] = r.addresses;
  j["connected_address"] = r.tcp_connected ? json(r.connected_address) : json(nullptr);
  j["local_address"] = r.tcp_connected ? json(r.local_address) : json(nullptr);
  j["timings_ms"] = {{"resolve", r.timings.resolve_ms},
                     {"tcp_connect", r.timings.tcp_ms},
                     {"tls_handshake", r.timings.tls_ms},
                     {"first_byte", r.timings.first_byte_ms},
                     {"total", r.timings.total_ms}};
  j["trust_store"] = {{"kind", tls::to_string(r.trust.kind)},
                      {"path", r.trust.path},
                      {"anchors", r.trust.anchors},
                      {"lazy", r.trust.lazy}};
  if (!r.trust.variable.empty()) j["trust_store"]["variable"] = r.trust.variable;
  if (!r.trust.file.empty())
    j["trust_store"]["file"] = {
        {"path", r.trust.file}, {"anchors", r.trust.file_anchors}, {"variable", "SSL_CERT_FILE"}};
  if (r.handshake_done) {
    const auto& h = r.handshake;
    j["tls"] = {
        {"version", tls::to_string(h.version)},
        {"cipher_suite",
         {{"iana", h.cipher.iana},
          {"openssl", h.cipher.openssl},
          {"id", h.cipher.id},
          {"key_exchange", h.cipher.key_exchange},
          {"authentication", h.cipher.authentication},
          {"encryption", h.cipher.cipher},
          {"bits", h.cipher.bits},
          {"aead", h.cipher.aead},
          {"hash", h.cipher.hash},
          {"mac", h.cipher.mac}}},
        {"group", h.group.empty() ? json(nullptr) : json(h.group)},
        {"signature_scheme", h.signature_scheme.empty() ? json(nullptr) : json(h.signature_scheme)},
        {"alpn", h.alpn.empty() ? json(nullptr) : json(h.alpn)},
        {"sni", h.sni.empty() ? json(nullptr) : json(h.sni)},
        {"resumed", h.resumed},
        {"session_ticket", h.session_ticket},
        {"extended_master_secret", h.extended_master_secret},
        {"secure_renegotiation", h.secure_renegotiation},
        {"ocsp_stapled", h.ocsp_stapled},
        {"client_certificate_requested", h.client_certificate_requested},
        {"client_certificate", h.client_certificate.empty() ? json(nullptr) : json(h.client_certificate)},
        {"security_level_lowered", r.lowered_security},
    };
    j["peer_chain"] = certs(h.peer_chain);
    j["verified_chain"] = r.verdict.chain_ok ? certs(h.verified_chain) : json::array();
    j["trust_anchor_file"] = r.anchor_file.empty() ? json(nullptr) : json(r.anchor_file);
    json problems = json::array();
    for (const auto& p : r.verdict.problems) {
      problems.push_back({{"depth", p.depth},
                          {"subject", p.subject},
                          {"code", p.code},
                          {"openssl_reason", p.code_name},
                          {"reason", p.reason},
                          {"fix", p.fix}});
      if (p.revocation) problems.back()["revocation"] = revocation_json(*p.revocation);
    }
    const auto& hn = r.verdict.hostname;
    j["verification"] = {
        {"ok", r.verdict.ok()},
        {"enforced", r.verification_enforced},
        {"chain_ok", r.verdict.chain_ok},
        {"problems", problems},
        {"hostname",
         {{"checked", hn.checked},
          {"ok", hn.ok},
          {"name", hn.name},
          {"is_ip", hn.is_ip},
          {"matched", hn.matched.empty() ? json(nullptr) : json(hn.matched)},
          {"reason", hn.reason.empty() ? json(nullptr) : json(hn.reason)},
          {"fix", hn.fix.empty() ? json(nullptr) : json(hn.fix)}}},
        {"crl", r.crl_file.empty() ? json(nullptr) : json({{"file", r.crl_file}, {"crls", r.crls}})},
        {"ocsp", r.verdict.ocsp ? ocsp_json(*r.verdict.ocsp) : json(nullptr)},
    };
  }
  if (!r.anchors.empty()) j["trusted_cas"] = certs(r.anchors);
  if (!r.trace.empty()) {
    json trace = json::array();
    for (const auto& m : r.trace) {
      json fields = json::object();
      for (const auto& f : m.fields) fields[f.name] = f.value;
      trace.push_back({{"direction", m.direction == tls::Direction::Sent ? "sent" : "received"},
                       {"content", m.content},
                       {"type", m.type},
                       {"length", m.length},
                       {"fields", fields}});
    }
    j["trace"] = trace;
  }
  if (r.response) {
    const auto& resp = *r.response;
    json headers = json::array();
    for (const auto& [name, value] : resp.headers) headers.push_back({{"name", name}, {"value", value}});
    j["http"] = {
        {"status", resp.status},           {"reason", resp.reason},
        {"version", resp.version},         {"headers", headers},
        {"framing", resp.framing},         {"body_bytes", resp.body_bytes},
        {"body_sha256", resp.body_sha256}, {"saved_to", r.saved_to.empty() ? json(nullptr) : json(r.saved_to)}};
    json trailers = json::array();
    for (const auto& [name, value] : resp.trailers) trailers.push_back({{"name", name}, {"value", value}});
    j["http"]["trailers"] = trailers;
    j["http"]["stream"] = nullptr;
    j["http"]["server_settings"] = nullptr;
    if (resp.http2) {
      const auto& h = *resp.http2;
      j["http"]["stream"] = {
          {"id", h.stream}, {"end", h.stream_end}, {"error_code", http::h2_error_name(h.error_code)}};
      json settings = json::object();
      for (const auto& [id, value] : h.server_settings) settings[setting_key(id)] = value;
      j["http"]["server_settings"] = settings;
    }
  }
  if (!r.http2_frames.empty()) {
    json frames = json::array();
    for (const auto& f : r.http2_frames) {
      json fields = json::array(), headers = json::array();
      for (const auto& field : f.fields) fields.push_back({{"name", field.name}, {"value", field.value}});
      for (const auto& h : f.headers) headers.push_back({{"name", h.name}, {"value", h.value}});
      frames.push_back({{"direction", f.sent ? "sent" : "received"},
                        {"type", f.type},
                        {"stream", f.stream},
                        {"flags", f.flags},
                        {"length", f.length},
                        {"fields", fields},
                        {"headers", headers}});
    }
    j["http2_frames"] = frames;
  }
  j["error"] = r.failure ? json({{"kind_exit_code", exit_code(r.failure->kind)}, {"message", r.failure->message}})
                         : json(nullptr);
  return j;
}

}  // namespace tlslab::report
