// tlslab proxy: options -> net::ProxyOptions -> run_proxy, its events -> report::render_proxy_log -> stdout, stderr.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <mutex>

#include "base/address.hpp"
#include "base/failure.hpp"
#include "cli/commands.hpp"
#include "connect/target.hpp"
#include "net/proxy.hpp"
#include "net/workers.hpp"
#include "pki/ca.hpp"
#include "report/proxy_log.hpp"

namespace tlslab::cli {
namespace {

struct ProxyArgs {
  std::string mode = "sni", http2 = "auto", upstream, ca_dir, upstream_cacert, har, keylog, dns, cert_cache;
  std::vector<std::string> listen, upstream_resolve, pass;
  std::uint16_t upstream_port = 443;
  bool upstream_insecure = false, dump = false, redact = false, show_forgery = false, log_json = false, force = false;
  unsigned threads = 0;
  std::size_t cert_cache_size = 1000, max_connections = 10000;
  double idle_timeout = 60, handshake_timeout = 10, connect_timeout = 10;
};

std::chrono::milliseconds ms(double seconds, const char* option) {
  if (!(seconds > 0)) throw Failure(Kind::Usage, fmt::format("{} must be a positive number of seconds", option));
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

int run(const ProxyArgs& a) {
  net::ProxyOptions o;
  auto mode = proxy::parse_mode(a.mode);
  if (!mode) throw Failure(Kind::Usage, fmt::format("--mode {}: use sni, explicit or reverse", a.mode));
  o.mode = *mode;
  if (o.mode == proxy::Mode::Reverse && a.upstream.empty())
    throw Failure(Kind::Usage, "--mode reverse needs --upstream HOST:PORT");
  if (o.mode != proxy::Mode::Reverse && !a.upstream.empty())
    throw Failure(Kind::Usage, "--upstream is for --mode reverse");
  o.upstream = a.upstream;
  o.listen = a.listen.empty()
                 ? std::vector<std::string>{o.mode == proxy::Mode::Explicit ? "127.0.0.1:8080" : "127.0.0.1:8443"}
                 : a.listen;
  for (const auto& r : a.upstream_resolve) o.upstream_resolve.push_back(proxy::parse_upstream_resolve(r));
  o.upstream_port = a.upstream_port;
  if (!a.dns.empty()) {
    auto t = connect::parse_target(a.dns, 53);
    if (!is_ip_literal(t.host))
      throw Failure(Kind::Usage,
                    fmt::format("--dns {}: give the DNS server as an IP address (ADDR or ADDR:PORT)", a.dns));
    o.dns = proxy::Endpoint{t.host, t.port};
  }
  for (const auto& p : a.pass) o.pass.emplace_back(p);
  if (!a.upstream_cacert.empty()) o.upstream_cacert = a.upstream_cacert;
  o.upstream_insecure = a.upstream_insecure;
  if (a.http2 != "auto" && a.http2 != "off")
    throw Failure(Kind::Usage, fmt::format("--http2 {}: use auto (h2 on each leg where both ends offer it) or off "
                                           "(HTTP/1.1 only, on both legs)",
                                           a.http2));
  o.http2 = a.http2 == "off" ? proxy::Http2Mode::Off : proxy::Http2Mode::Auto;
  o.dump = a.dump;
  o.redact = a.redact;
  o.show_forgery = a.show_forgery;
  o.har_file = a.har;
  if (a.force && a.har.empty()) throw Failure(Kind::Usage, "--force is for --har FILE: nothing to replace without it");
  o.har_force = a.force;
  o.keylog_file = a.keylog;
  if (o.keylog_file.empty())
    if (const char* env = std::getenv("SSLKEYLOGFILE"); env && *env) o.keylog_file = env;
  o.threads = a.threads;
  if (a.cert_cache_size == 0) throw Failure(Kind::Usage, "--cert-cache-size must be at least 1");
  o.cert_cache = a.cert_cache_size;
  // --cert-cache used to be the in-memory size: a bare number is far likelier that than a folder.
  if (!a.cert_cache.empty() && a.cert_cache.find_first_not_of("0123456789") == std::string::npos &&
      !std::filesystem::is_directory(a.cert_cache))
    throw Failure(Kind::Usage, fmt::format("--cert-cache {}: give a folder to keep forged certificates in (./{} if "
                                           "that is one); the number kept in memory is --cert-cache-size N",
                                           a.cert_cache, a.cert_cache));
  o.cert_cache_dir = a.cert_cache;
  o.max_connections = a.max_connections;
  o.idle_timeout = ms(a.idle_timeout, "--idle-timeout");
  o.handshake_timeout = ms(a.handshake_timeout, "--handshake-timeout");
  o.connect_timeout = ms(a.connect_timeout, "--connect-timeout");
  o.version = TLSLAB_VERSION;
  // Each event is one write(2), so threads never mix lines; stdout's are also taken in turn, so a
  // long --dump block is never split by another thread's line.
  std::mutex out_mutex;
  o.log = [&out_mutex, style = report::ProxyLogStyle{a.log_json, a.dump}](const proxy::LogEvent& event) {
    auto rendered = report::render_proxy_log(event, style);
    if (rendered.stream == report::LogStream::Out) {
      std::lock_guard lock(out_mutex);
      net::Workers::write_line(1, std::move(rendered.text));
    } else {
      net::Workers::write_line(2, std::move(rendered.text));
    }
  };
  auto dir = a.ca_dir.empty() ? pki::default_ca_dir() : std::filesystem::path(a.ca_dir);
  auto ca = pki::Ca::load(dir);
  o.on_ready = [&](const std::vector<std::string>& addresses, unsigned threads) {
    std::string how = o.mode == proxy::Mode::Sni
                          ? "clients reach it through DNS or /etc/hosts pointing their server names here"
                      : o.mode == proxy::Mode::Explicit
                          ? fmt::format("clients use it as an HTTP proxy (curl -x http://{})", addresses.front())
                          : fmt::format("every client goes to {}", a.upstream);
    fmt::print(stderr,
               "tlslab proxy: {} mode on {} ({} thread{}); {}\n"
               "  forging certificates with the CA {} ({}); clients must trust it\n"
               "  the real servers are {}\n{}",
               proxy::to_string(o.mode), fmt::join(addresses, ", "), threads, threads == 1 ? "" : "s", how,
               dir.string(), ca.name(),
               a.upstream_insecure ? "NOT verified (--upstream-insecure)"
                                   : fmt::format("verified against {}",
                                                 a.upstream_cacert.empty() ? "the system store" : a.upstream_cacert),
               a.cert_cache.empty() ? std::string()
                                    : fmt::format("  forged certificates are kept in {} across runs\n", a.cert_cache));
  };
  net::run_proxy(o, ca);
  return 0;
}

}  // namespace

void setup_proxy(CLI::App& app) {
  auto a = std::make_shared<ProxyArgs>();
  auto* cmd = app.add_subcommand("proxy", "A man-in-the-middle HTTPS proxy that forges certificates with your CA");
  cmd->footer(
      "Examples:\n"
      "  tlslab proxy --mode sni --listen 127.0.0.1:443 --upstream-resolve www.bank32.com:10.0.2.15 --dump\n"
      "  tlslab proxy --mode explicit --har flows.har          # then: curl -x http://127.0.0.1:8080 https://...\n"
      "  tlslab proxy --mode reverse --upstream 127.0.0.1:4433 --upstream-cacert ca.pem\n\n"
      "For teaching and for inspecting your own applications: intercept only traffic you are allowed to.");
  cmd->add_option("--mode", a->mode, "sni (default), explicit (HTTP CONNECT proxy) or reverse");
  cmd->add_option("--listen", a->listen, "ADDR:PORT (default 127.0.0.1:8443; explicit mode 127.0.0.1:8080)");
  cmd->add_option("--upstream", a->upstream, "reverse mode: the one real server, HOST:PORT");
  cmd->add_option("--upstream-resolve", a->upstream_resolve,
                  "NAME:ADDR — where the real NAME lives (repeatable); NAME may be *.DOMAIN or *; curl's "
                  "NAME:PORT:ADDR applies to connections to that port only (the CONNECT port, or --upstream-port)");
  cmd->add_option("--dns", a->dns,
                  "ADDR[:PORT] — find real servers with this DNS server (UDP), not /etc/hosts and the system resolver");
  cmd->add_option("--upstream-port", a->upstream_port, "Port of the real servers in sni mode (default 443)");
  cmd->add_option("--pass", a->pass, "Relay hosts matching PATTERN untouched (www.x.com, *.x.com)");
  cmd->add_option("--ca", a->ca_dir, "The CA that signs forged certificates (default: tlslab ca's folder)");
  cmd->add_option("--upstream-cacert", a->upstream_cacert,
                  "Verify real servers against FILE instead of the system store");
  cmd->add_flag("--upstream-insecure", a->upstream_insecure, "Do not verify the real servers");
  cmd->add_option("--http2", a->http2,
                  "auto (default): HTTP/2 with each side that offers it, translated to HTTP/1.1 where the other "
                  "side lacks it; off: HTTP/1.1 only, on both sides")
      ->option_text("auto|off");
  auto* see = "Seeing the traffic";
  cmd->add_flag("--dump", a->dump, "Print requests and responses; passwords, tokens and cookies highlighted")
      ->group(see);
  cmd->add_flag("--redact", a->redact,
                "Mask passwords, tokens, API keys, credentials and cookies (form, query, JSON, headers; in every "
                "spelling) in the log, --dump and --har")
      ->group(see);
  cmd->add_flag("--show-forgery", a->show_forgery, "Show the real and the forged certificate side by side")->group(see);
  cmd->add_option("--har", a->har,
                  "Keep the exchanges in FILE (HAR 1.2, mode 0600), rewritten whole at most once a second and at "
                  "exit; an existing FILE is replaced only if it is a HAR")
      ->type_name("FILE")
      ->group(see);
  cmd->add_flag("--force", a->force, "With --har: replace FILE even if it is not a HAR")->group(see);
  cmd->add_option("--keylog", a->keylog, "NSS key log of both legs (also SSLKEYLOGFILE)")->group(see);
  cmd->add_flag("--log-json", a->log_json, "Log lines as JSON")->group(see);
  auto* limits = "Limits";
  cmd->add_option("--threads", a->threads, "Worker threads (default: one per core)")->group(limits);
  cmd->add_option("--cert-cache", a->cert_cache,
                  "Keep forged certificates and their keys in DIR (created 0700), so a restart mints nothing for "
                  "hosts already seen")
      ->type_name("DIR");
  cmd->add_option("--cert-cache-size", a->cert_cache_size, "Forged certificates kept in memory (default 1000)")
      ->group(limits);
  cmd->add_option("--max-connections", a->max_connections, "Open connections at most (default 10000)")->group(limits);
  cmd->add_option("--idle-timeout", a->idle_timeout, "Seconds without traffic before a connection is closed")
      ->group(limits);
  cmd->add_option("--handshake-timeout", a->handshake_timeout, "Seconds for a client's ClientHello and handshake")
      ->group(limits);
  cmd->add_option("--connect-timeout", a->connect_timeout, "Seconds to reach a real server")->group(limits);
  cmd->callback([a] { select([a] { return run(*a); }); });
}

}  // namespace tlslab::cli
