// tlslab serve: options -> net::ServeOptions -> run_server.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "base/failure.hpp"
#include "cli/commands.hpp"
#include "net/server.hpp"
#include "net/workers.hpp"
#include "pki/ca.hpp"
#include "report/cert_render.hpp"
#include "report/listener_render.hpp"
#include "report/serve_render.hpp"

namespace tlslab::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> listen, certs, keys, snis, alpn, names;
  std::string root, tls_min = "1.2", tls_max, ciphers, ciphersuites, groups, ticket_key_file, client_ca, verify_client,
                    ocsp, keylog;
  bool echo = false, no_resumption = false, log_json = false, no_access_log = false;
  unsigned threads = 0;
  double handshake_timeout = 10, header_timeout = 10, idle_timeout = 60, request_timeout = 30, grace = 5;
  std::size_t max_connections = 10000;
  std::uint32_t max_header_size = 16 * 1024;
  std::uint64_t max_body_size = 1024 * 1024;
  std::uint32_t max_streams = 100;
};

// kMaxSeconds bounds the timeouts: a week, far beyond any use, well within a timer's range (a
// larger number would overflow the clock's count and expire at once).
constexpr double kMaxSeconds = 7 * 24 * 3600;

std::chrono::milliseconds seconds(double s, const char* option) {
  if (!(s > 0)) throw Failure(Kind::Usage, fmt::format("{} must be a positive number of seconds", option));
  if (s > kMaxSeconds)
    throw Failure(Kind::Usage, fmt::format("{} {}: at most {} seconds (a week)", option, s, kMaxSeconds));
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

// LogWriter writes serve's events as report renders them: the access log to stdout, the rest to
// stderr, each line with one write(2) from a buffer each thread keeps (no allocation per request).
class LogWriter final : public serve::LogSink {
 public:
  explicit LogWriter(bool json) : json_(json) {}
  void access(const serve::AccessEvent& event) override {
    auto& out = empty_line();
    report::append_access_line(out, event, json_);
    net::Workers::write_all(1, out);
  }
  void client_error(const serve::ClientError& event) override {
    auto& out = empty_line();
    report::append_error_line(out, event, json_);
    net::Workers::write_all(2, out);
  }
  void notice(const serve::Notice& event) override {
    auto& out = empty_line();
    report::append_notice_line(out, event);
    net::Workers::write_all(2, out);
  }
  void listener(const ListenerEvent& event) override { net::Workers::write_line(2, report::listener_line(event)); }

 private:
  // empty_line: this thread's buffer, emptied.
  static std::string& empty_line() {
    thread_local std::string buffer;
    buffer.clear();
    return buffer;
  }
  bool json_;
};

// local_certificate issues, in memory, a certificate for localhost, 127.0.0.1, ::1 and the --name
// values from the local CA (tlslab ca's folder), creating that CA first when there is none. notes
// gets what the user should know: where the CA is and how to trust it.
tls::ServerCertFiles local_certificate(const std::vector<std::string>& names, std::vector<std::string>& notes) {
  namespace fs = std::filesystem;
  auto dir = pki::default_ca_dir();
  std::error_code ec;
  bool exists = fs::exists(dir / pki::kCaCertFile, ec) || fs::exists(dir / pki::kCaKeyFile, ec);
  auto ca = exists ? pki::Ca::load(dir) : pki::Ca::create({});
  if (!exists) {
    ca.save(dir);
    notes.push_back(fmt::format("no CA yet: created one in {} (as `tlslab ca init` does)", dir.string()));
  }
  std::vector<std::string> inputs = {"localhost", "127.0.0.1", "::1"};
  inputs.insert(inputs.end(), names.begin(), names.end());
  auto issued = std::make_shared<pki::IssuedCert>(ca.issue({.names = pki::parse_names(inputs)}));
  notes.push_back(
      fmt::format("no --cert given: the certificate was issued by the local CA \"{}\" in {}", ca.name(), dir.string()));
  notes.push_back(fmt::format("to trust it: tlslab ca trust (--apply does it), or curl --cacert {}",
                              (dir / (ca.is_intermediate() ? pki::kCaRootFile : pki::kCaCertFile)).string()));
  return {.cert_file = fmt::format("issued by \"{}\"", ca.name()), .issued = std::move(issued)};
}

tls::ServerTlsOptions tls_options(const ServeArgs& a, std::vector<std::string>& notes) {
  tls::ServerTlsOptions t;
  if (a.certs.size() != a.keys.size())
    throw Failure(Kind::Usage,
                  fmt::format("give one --key per --cert ({} --cert, {} --key)", a.certs.size(), a.keys.size()));
  for (size_t i = 0; i < a.certs.size(); ++i) t.certs.push_back({a.certs[i], a.keys[i], ""});
  for (const auto& s : a.snis) {
    auto eq = s.find('='), comma = s.find(',', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || comma == std::string::npos || eq == 0)
      throw Failure(Kind::Usage, fmt::format("--sni '{}': expected NAME=CERT,KEY", s));
    t.certs.push_back({s.substr(eq + 1, comma - eq - 1), s.substr(comma + 1), s.substr(0, eq)});
  }
  if (!t.certs.empty() && !a.names.empty())
    throw Failure(Kind::Usage, "--name is for the certificate made when no --cert or --sni is given");
  if (t.certs.empty()) t.certs.push_back(local_certificate(a.names, notes));
  t.tls_min = a.tls_min;
  t.tls_max = a.tls_max;
  t.ciphers = a.ciphers;
  t.ciphersuites = a.ciphersuites;
  t.groups = a.groups;
  // HTTP/2 first, as nginx with http2 on; --alpn chooses otherwise.
  t.alpn = a.alpn.empty() ? std::vector<std::string>{"h2", "http/1.1"} : a.alpn;
  t.keylog_file = a.keylog;
  if (t.keylog_file.empty())
    if (const char* env = std::getenv("SSLKEYLOGFILE"); env && *env)
      t.keylog_file = env, t.keylog_variable = "SSLKEYLOGFILE";
  t.resumption = !a.no_resumption;
  t.ticket_key_file = a.ticket_key_file;
  t.client_ca_file = a.client_ca;
  t.verify_client = a.verify_client.empty() && !a.client_ca.empty() ? "required" : a.verify_client;
  t.ocsp_file = a.ocsp;
  return t;
}

int run(const ServeArgs& a) {
  net::ServeOptions o;
  if (!a.listen.empty()) o.listen = a.listen;
  std::vector<std::string> notes;
  o.tls = tls_options(a, notes);
  if (!a.root.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(a.root, ec))
      throw Failure(Kind::Input, fmt::format("--root {}: not a directory", a.root));
    o.root = a.root;
  }
  if (a.echo && !o.root.empty()) throw Failure(Kind::Usage, "--echo and --root cannot be used together");
  o.echo = a.echo;
  o.threads = a.threads;
  o.limits.handshake_timeout = seconds(a.handshake_timeout, "--handshake-timeout");
  o.limits.header_timeout = seconds(a.header_timeout, "--header-timeout");
  o.limits.idle_timeout = seconds(a.idle_timeout, "--idle-timeout");
  o.limits.request_timeout = seconds(a.request_timeout, "--request-timeout");
  o.limits.grace = seconds(a.grace, "--grace");
  o.limits.max_connections = a.max_connections;
  o.limits.max_header_bytes = a.max_header_size;
  o.limits.max_body_bytes = a.max_body_size;
  if (a.max_streams == 0) throw Failure(Kind::Usage, "--max-streams must be at least 1");
  o.limits.max_streams = a.max_streams;
  LogWriter log(a.log_json);
  o.log = &log;
  o.access_log = !a.no_access_log;
  auto tls_config = o.tls;
  o.reload = [tls_config] { return tls::ServerContexts::load(tls_config); };
  auto contexts = tls::ServerContexts::load(o.tls);
  std::vector<std::string> cert_lines;
  auto now = pki::now_epoch();
  for (const auto& c : contexts->certs())
    cert_lines.push_back(fmt::format("  certificate {}{}: {} ({}), {}", c.source,
                                     c.sni.empty() ? "" : " for SNI " + c.sni, report::sans_text(c.info),
                                     report::key_text(c.info), report::validity_text(c.info, now)));
  std::string notes_text;
  for (const auto& n : notes) notes_text += "  " + n + "\n";
  o.on_ready = [&](const std::vector<std::string>& addresses, unsigned threads) {
    std::string lines;
    for (const auto& addr : addresses) lines += fmt::format("  https://{}/\n", addr);
    fmt::print(stderr,
               "tlslab serve: listening ({} thread{}, TLS {}+{}) on\n{}{}\n{}  Ctrl-C stops, SIGHUP reloads the "
               "certificates\n",
               threads, threads == 1 ? "" : "s", tls_config.tls_min,
               tls_config.resumption ? ", resumption on" : ", resumption off", lines, fmt::join(cert_lines, "\n"),
               notes_text);
  };
  net::run_server(o, contexts);
  return 0;
}

}  // namespace

void setup_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve HTTPS: built-in connection page, files, or echo");
  cmd->footer(
      "Examples:\n"
      "  tlslab serve                        # a certificate for localhost from the local CA\n"
      "  tlslab serve --name www.bank32.com  # ... also valid for www.bank32.com\n"
      "  tlslab serve --cert server.pem --key server-key.pem\n"
      "  tlslab serve --listen 127.0.0.1:8443 --cert a.pem --key a-key.pem --sni "
      "shop.bank32.com=shop.pem,shop-key.pem\n"
      "  tlslab serve --cert s.pem --key k.pem --root ./site --client-ca ca.pem --verify-client optional\n\n"
      "The built-in page shows each visitor their own connection (TLS version, cipher suite, group,\n"
      "SNI, ALPN, resumption, client certificate), as HTML, or JSON at /.well-known/tlslab.");
  cmd->add_option("--listen", a->listen, "ADDR:PORT to listen on (repeatable; default 127.0.0.1:4433)");
  cmd->add_option("--cert", a->certs, "Certificate chain file (PEM, leaf first); repeat with --key for several");
  cmd->add_option("--key", a->keys, "Private key of the --cert in the same position");
  cmd->add_option("--sni", a->snis, "NAME=CERT,KEY: serve this certificate when the client asks for NAME");
  cmd->add_option("--name", a->names,
                  "Without --cert: the certificate issued from the local CA (tlslab ca) is also for NAME "
                  "(repeatable; always for localhost, 127.0.0.1, ::1)");
  auto* content = "Content";
  cmd->add_option("--root", a->root, "Serve static files from DIR")->group(content);
  cmd->add_flag("--echo", a->echo, "Answer every request with the request itself")->group(content);
  auto* tls = "TLS";
  cmd->add_option("--tls-min", a->tls_min, "Lowest TLS version (default 1.2)")->group(tls);
  cmd->add_option("--tls-max", a->tls_max, "Highest TLS version")->group(tls);
  cmd->add_option("--ciphers", a->ciphers, "TLS 1.2 cipher list (default ECDHE with AES-GCM or ChaCha20)")->group(tls);
  cmd->add_option("--ciphersuites", a->ciphersuites, "TLS 1.3 cipher suites")->group(tls);
  cmd->add_option("--groups", a->groups, "Key-exchange groups (default X25519:P-256:P-384)")->group(tls);
  cmd->add_option("--alpn", a->alpn,
                  "ALPN protocols to accept, in the server's order of preference (comma separated or repeated; default "
                  "h2,http/1.1)")
      ->delimiter(',')
      ->group(tls);
  cmd->add_flag("--no-resumption", a->no_resumption, "No session tickets or cache: every handshake is full")
      ->group(tls);
  cmd->add_option("--ticket-key-file", a->ticket_key_file, "80-byte session ticket key shared by several instances")
      ->group(tls);
  cmd->add_option("--client-ca", a->client_ca, "Ask for client certificates issued by the CAs in FILE")->group(tls);
  cmd->add_option("--verify-client", a->verify_client, "optional or required (default required with --client-ca)")
      ->group(tls);
  cmd->add_option("--ocsp", a->ocsp, "Staple this DER OCSP response")->group(tls);
  cmd->add_option("--keylog", a->keylog, "Append NSS key-log lines of every connection to FILE (also SSLKEYLOGFILE)")
      ->group(tls);
  auto* limits = "Limits";
  cmd->add_option("--threads", a->threads, "Worker threads (default: one per core)")->group(limits);
  cmd->add_option("--handshake-timeout", a->handshake_timeout, "Seconds (default 10)")->group(limits);
  cmd->add_option("--header-timeout", a->header_timeout, "Seconds for a request's header (default 10)")->group(limits);
  cmd->add_option("--idle-timeout", a->idle_timeout, "Seconds between keep-alive requests (default 60)")->group(limits);
  cmd->add_option("--request-timeout", a->request_timeout, "Seconds for a request body (default 30)")->group(limits);
  cmd->add_option("--grace", a->grace, "Seconds in-flight requests get at SIGINT/SIGTERM (default 5)")->group(limits);
  cmd->add_option("--max-connections", a->max_connections, "Open connections at most (default 10000)")->group(limits);
  cmd->add_option("--max-header-size", a->max_header_size, "Bytes of request header at most (default 16384; 431)")
      ->group(limits);
  cmd->add_option("--max-body-size", a->max_body_size, "Bytes of request body at most (default 1 MiB; 413)")
      ->group(limits);
  cmd->add_option("--max-streams", a->max_streams, "HTTP/2 streams open at once per connection (default 100)")
      ->group(limits);
  auto* log = "Logging";
  cmd->add_flag("--log-json", a->log_json, "Access log as JSON lines")->group(log);
  cmd->add_flag("--no-access-log", a->no_access_log, "No access log")->group(log);
  cmd->callback([a] { select([a] { return run(*a); }); });
}

}  // namespace tlslab::cli
