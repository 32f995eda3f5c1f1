#include "report/proxy_log.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "report/cert_render.hpp"
#include "report/flow_render.hpp"
#include "report/listener_render.hpp"
#include "report/text.hpp"

namespace tlslab::report {
namespace {

namespace ev = proxy::log_event;

LogOutput out(std::string text) { return {LogStream::Out, std::move(text)}; }

// note is a line about the proxy itself, on stderr.
LogOutput note(const std::string& what, const ProxyLogStyle& style) {
  if (style.json) return {LogStream::Err, nlohmann::json{{"note", what}}.dump()};
  return {LogStream::Err, fmt::format("tlslab proxy: {}", what)};
}

// error is a line about one client that went wrong, on stderr.
LogOutput error(const std::string& client, const std::string& what, const ProxyLogStyle& style) {
  if (style.json) return {LogStream::Err, nlohmann::json{{"client", client}, {"error", what}}.dump()};
  return {LogStream::Err, fmt::format("tlslab proxy: {}: {}", client, what)};
}

LogOutput render(const ev::FlowEnded& e, const ProxyLogStyle& style) {
  auto text = style.json ? flow_json_line(e.flow, e.client) : flow_line(e.flow, e.client);
  if (style.dump) text += "\n" + flow_dump(e.flow, e.secrets, {e.masked, e.body_cap}, {e.client, e.upstream, e.legs});
  return out(std::move(text));
}

LogOutput render(const ev::CertificateForged& e, const ProxyLogStyle& style) {
  const auto& f = *e.forging.forged;
  if (style.json)
    return out(nlohmann::json{
        {"client", e.client},
        {"host", e.host},
        {"forged", proxy::source_name(e.forging.source)},
        {"us", f.mint_us},
        {"serial", f.info.serial_hex},
        {"file",
         f.file}}.dump());
  return out(fmt::format("{} {} forged certificate {} (serial {})", e.client, e.host, proxy::provenance(e.forging),
                         f.info.serial_hex));
}

LogOutput render(const ev::ConnectionEnded& e, const ProxyLogStyle&) {
  switch (e.end) {
    case ev::RelayEnd::PassedThrough:
      return out(
          fmt::format("{} {} passed through untouched (--pass): up {} B, down {} B", e.client, e.host, e.up, e.down));
    case ev::RelayEnd::Closed:
      return out(
          fmt::format("{} {} ({}): closed, up {} B, down {} B", e.client, e.host, legs_text(e.legs), e.up, e.down));
    case ev::RelayEnd::Opaque:
      return out(fmt::format("{} {} ({}): relayed as opaque bytes, up {} B, down {} B", e.client, e.host,
                             legs_text(e.legs), e.up, e.down));
    case ev::RelayEnd::StoppedParsing:
      break;
  }
  return out(fmt::format("{} {}: stopped parsing HTTP ({}); relayed the rest as bytes, up {} B, down {} B", e.client,
                         e.host, e.why, e.up, e.down));
}

LogOutput render(const ev::ClientRefused& e, const ProxyLogStyle& style) {
  if (style.json)
    return {LogStream::Err, nlohmann::json{{"client", e.client},
                                           {"host", e.host},
                                           {"error", e.failure.why},
                                           {"client_failure", proxy::client_failure_name(e.failure.kind)}}
                                .dump()};
  return error(e.client, fmt::format("the TLS handshake with the client for {} failed: {}", e.host, e.failure.why),
               style);
}

LogOutput render(const ev::UnreadableHello& e, const ProxyLogStyle& style) {
  auto answered =
      e.openssl_read
          ? std::string(
                "OpenSSL read a ClientHello there nonetheless, refused with handshake_failure (please report "
                "this)")
          : fmt::format("OpenSSL answered it: {}", e.answer.why);
  return error(e.client,
               fmt::format("{} ({}); {}; closed", e.not_tls ? "not a TLS client" : "an unreadable ClientHello",
                           e.reader_error, answered),
               style);
}

// average is " (812 µs each on average)", or nothing when nothing was counted.
std::string average(double total_us, std::uint64_t n) {
  return n ? fmt::format(" ({:.0f} µs each on average)", total_us / static_cast<double>(n)) : std::string();
}

LogOutput render(const ev::ForgesCounted& e, const ProxyLogStyle&) {
  const auto& s = e.stats;
  return {LogStream::Err,
          fmt::format("tlslab proxy: forged {} certificate{}{}, {}{} cache hit{}", s.misses, s.misses == 1 ? "" : "s",
                      average(s.mint_us_total, s.misses),
                      e.cert_cache_dir.empty() ? std::string()
                                               : fmt::format("loaded {} from {}{}, ", s.loaded, e.cert_cache_dir,
                                                             average(s.load_us_total, s.loaded)),
                      s.hits, s.hits == 1 ? "" : "s")};
}

LogOutput render(const ev::ForgeryShown& e, const ProxyLogStyle&) { return out(forgery_text(e)); }

LogOutput render(const ev::ClientError& e, const ProxyLogStyle& style) { return error(e.client, e.reason, style); }

LogOutput render(const ev::ClientLine& e, const ProxyLogStyle&) { return out(fmt::format("{} {}", e.client, e.text)); }

LogOutput render(const ev::ConnectionFailed& e, const ProxyLogStyle& style) {
  return error(e.client, fmt::format("connection failed: {}", e.what), style);
}

LogOutput render(const ev::HttpStopped& e, const ProxyLogStyle& style) {
  return error(e.client, fmt::format("{}: HTTP stopped: {}", e.host, e.why), style);
}

LogOutput render(const ev::Note& e, const ProxyLogStyle& style) { return note(e.text, style); }

// The workers' own lines are text in either style, as before --log-json existed.
LogOutput render(const ListenerEvent& e, const ProxyLogStyle&) { return {LogStream::Err, listener_line(e)}; }

LogOutput render(const ev::HarNotWritten& e, const ProxyLogStyle& style) {
  return note(fmt::format("{} (trying again every second)", e.why), style);
}

LogOutput render(const ev::HarWritten& e, const ProxyLogStyle&) {
  return {LogStream::Err,
          fmt::format("tlslab proxy: wrote {} exchange{} to {}", e.entries, e.entries == 1 ? "" : "s", e.file)};
}

}  // namespace

std::string forgery_text(const ev::ForgeryShown& e) {
  Text t(false);
  t.heading(fmt::format("Forged certificate for {} ({})", e.host, proxy::provenance(e.forging)));
  if (e.real) {
    t.line("real (from the server)", Tone::Strong);
    add_cert_rows(t, *e.real, e.now, 1);
  }
  t.line("forged (sent to the client)", Tone::Strong);
  add_cert_rows(t, e.forging.forged->info, e.now, 1);
  return t.str();
}

LogOutput render_proxy_log(const proxy::LogEvent& event, const ProxyLogStyle& style) {
  return std::visit([&](const auto& e) { return render(e, style); }, event);
}

}  // namespace tlslab::report
