// tlslab connect: options -> net::ConnectOptions -> run_connect -> text or JSON.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "net/connect.hpp"
#include "report/connect_render.hpp"
#include "report/text.hpp"
#include "tls/verify.hpp"

namespace tlslab::cli {
namespace {

struct ConnectArgs {
  std::string target;
  std::vector<std::string> resolve, connect_to, headers, alpn;
  std::string cacert, capath, servername, tls_min, tls_max, ciphers, ciphersuites, groups, sigalgs, cert, key;
  bool insecure = false, no_check_hostname = false, show_ca = false, trace = false, pause = false, json = false,
       quiet = false, fail = false, head = false;
  std::string get, method, data, output, keylog;
  double connect_timeout = 0, max_time = 0;
  std::uint64_t max_filesize = 0;
};

net::ConnectOptions to_options(const ConnectArgs& a) {
  net::ConnectOptions o;
  o.target = net::parse_target(a.target);
  for (const auto& r : a.resolve) o.resolves.push_back(net::parse_resolve(r));
  for (const auto& c : a.connect_to) o.connect_tos.push_back(net::parse_connect_to(c));
  auto& t = o.tls;
  t.servername = a.servername.empty() ? o.target.host : a.servername;
  t.verify_name = t.servername;
  if (tls::is_ip_literal(t.servername)) t.servername.clear();  // RFC 6066: no IP literals in SNI
  if (!a.cacert.empty()) t.cafile = a.cacert;
  if (!a.capath.empty()) t.capath = a.capath;
  if (t.cafile && t.capath) throw Failure(Kind::Usage, "--cacert and --capath cannot be used together");
  t.insecure = a.insecure;
  t.check_hostname = !a.no_check_hostname;
  t.tls_min = a.tls_min;
  t.tls_max = a.tls_max;
  t.ciphers = a.ciphers;
  t.ciphersuites = a.ciphersuites;
  t.groups = a.groups;
  t.sigalgs = a.sigalgs;
  for (const auto& list : a.alpn) {
    size_t start = 0;
    while (start <= list.size()) {
      auto comma = list.find(',', start);
      t.alpn.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  t.cert_file = a.cert;
  t.key_file = a.key;
  if (!a.key.empty() && a.cert.empty()) throw Failure(Kind::Usage, "--key needs --cert");
  t.keylog_file = a.keylog;
  if (t.keylog_file.empty())
    if (const char* env = std::getenv("SSLKEYLOGFILE"); env && *env) t.keylog_file = env;
  if (a.connect_timeout > 0) o.connect_timeout = a.connect_timeout;
  if (a.max_time > 0) o.max_time = a.max_time;
  o.trace = a.trace;
  o.show_ca = a.show_ca;
  std::string path = !a.get.empty() ? a.get : o.target.path;
  bool wants_request = !path.empty() || !a.data.empty() || !a.method.empty() || a.head || !a.output.empty();
  if (wants_request) {
    http::RequestSpec req;
    req.target = path.empty() ? "/" : path;
    if (req.target.front() != '/') req.target = "/" + req.target;
    req.method = !a.method.empty() ? a.method : a.head ? "HEAD" : !a.data.empty() ? "POST" : "GET";
    req.host = net::host_header(o.target);
    req.user_agent = std::string("tlslab/") + TLSLAB_VERSION;
    req.body = a.data;
    if (!a.data.empty()) req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    for (const auto& h : a.headers) req.headers.push_back(http::parse_header_option(h));
    o.request = req;
    o.head_request = req.method == "HEAD";
    if (t.alpn.empty()) t.alpn = {"http/1.1"};  // the only protocol we speak after the handshake
  }
  o.output_file = a.output == "-" ? "" : a.output;
  if (a.max_filesize > 0) o.max_filesize = a.max_filesize;
  o.fail_on_http_error = a.fail;
  return o;
}

bool wait_for_enter(const std::string& stage, const std::string& detail) {
  fmt::print(stderr, "{}. Press Enter to {}... ", detail, stage == "tcp" ? "start the TLS handshake" : "continue");
  std::fflush(stderr);
  std::string line;
  std::getline(std::cin, line);
  return true;
}

int run(const ConnectArgs& a) {
  auto options = to_options(a);
  if (a.pause) options.pause = [](const std::string& s, const std::string& d) { wait_for_enter(s, d); };
  bool binary_refused = false;
  bool tty = ::isatty(STDOUT_FILENO) == 1;
  if (!a.json) {
    options.body_sink = [&](std::string_view data) {
      if (binary_refused) return;
      if (tty && data.find('\0') != std::string_view::npos) {
        binary_refused = true;
        return;
      }
      std::fwrite(data.data(), 1, data.size(), stdout);
    };
  }
  // The report goes to standard output unless the body does. Its handshake part is printed as
  // soon as the handshake is verified, so it comes before a streamed body.
  bool body_on_stdout = options.request && options.output_file.empty();
  std::FILE* stream = body_on_stdout ? stderr : stdout;
  bool color = report::use_color(fileno(stream));
  bool head_printed = false;
  if (!a.json && !a.quiet) {
    options.on_handshake = [&](const net::ConnectReport& r) {
      fmt::print(stream, "{}\n", report::connect_text(r, color, report::Part::Handshake));
      std::fflush(stream);
      head_printed = true;
    };
  }
  auto report = net::run_connect(options);
  if (a.json) {
    fmt::print("{}\n", report::connect_json(report).dump(2));
  } else if (!a.quiet) {
    std::fflush(stdout);
    if (body_on_stdout && report.response && report.response->body_bytes) fmt::print(stream, "\n");
    fmt::print(stream, "{}",
               report::connect_text(report, color, head_printed ? report::Part::Rest : report::Part::All));
  }
  if (binary_refused) fmt::print(stderr, "tlslab: the body is binary; not printed to the terminal (use -o FILE)\n");
  if (report.failure) {
    std::fflush(stdout);
    fmt::print(stderr, "tlslab: {}\n", report.failure->message);
    return exit_code(report.failure->kind);
  }
  return 0;
}

}  // namespace

void setup_connect(CLI::App& app) {
  auto args = std::make_shared<ConnectArgs>();
  auto* cmd = app.add_subcommand("connect", "Handshake with a TLS server and report everything about it");
  cmd->footer(
      "Examples:\n"
      "  tlslab connect www.bank32.com:4433 --cacert ca.pem\n"
      "  tlslab connect https://www.bank32.com:4433/ --resolve www.bank32.com:4433:127.0.0.1 --capath ./client-certs\n"
      "  tlslab connect 127.0.0.1:4433 --servername www.bank32.com -k --trace\n"
      "  tlslab connect https://localhost:4433/image.png -o image.png --cacert ca.pem\n\n"
      "The report goes to standard output, or to standard error when a response body goes to standard\n"
      "output (no -o). With --json, standard output holds only the JSON report.");
  cmd->add_option("target", args->target, "HOST[:PORT] or https://HOST[:PORT]/PATH (default port 443)")->required();
  auto* verify = "Verification";
  cmd->add_option("--cacert", args->cacert, "Trust the CA certificates in FILE instead of the system store")
      ->group(verify);
  cmd->add_option("--capath", args->capath, "Trust the hashed CA directory DIR (HASH.0 files; see tlslab ca rehash)")
      ->group(verify);
  cmd->add_flag("-k,--insecure", args->insecure, "Report verification problems but go on")->group(verify);
  cmd->add_flag("--no-check-hostname", args->no_check_hostname, "Verify the chain but not the host name")
      ->group(verify);
  cmd->add_option("--servername", args->servername, "Send this SNI and check the certificate for this name")
      ->group(verify);
  cmd->add_flag("--show-ca", args->show_ca, "List the trusted CA certificates")->group(verify);
  auto* route = "Routing";
  cmd->add_option("--resolve", args->resolve, "HOST:PORT:ADDR — use ADDR for HOST:PORT (no /etc/hosts edit)")
      ->group(route);
  cmd->add_option("--connect-to", args->connect_to, "HOST1:PORT1:HOST2:PORT2 — connect there instead")->group(route);
  cmd->add_option("--connect-timeout", args->connect_timeout, "Seconds allowed until the TLS handshake is done")
      ->group(route);
  cmd->add_option("--max-time", args->max_time, "Seconds allowed for everything")->group(route);
  auto* proto = "Protocol";
  cmd->add_option("--tls-min", args->tls_min, "Lowest TLS version: 1.0, 1.1, 1.2, 1.3")->group(proto);
  cmd->add_option("--tls-max", args->tls_max, "Highest TLS version")->group(proto);
  cmd->add_option("--ciphers", args->ciphers, "TLS 1.2 and lower cipher list (OpenSSL syntax)")->group(proto);
  cmd->add_option("--ciphersuites", args->ciphersuites, "TLS 1.3 cipher suites")->group(proto);
  cmd->add_option("--groups", args->groups, "Key-exchange groups, e.g. X25519:P-256")->group(proto);
  cmd->add_option("--sigalgs", args->sigalgs, "Signature algorithms, e.g. ECDSA+SHA256:RSA-PSS+SHA256")->group(proto);
  cmd->add_option("--alpn", args->alpn, "ALPN protocols to offer (comma separated or repeated)")->group(proto);
  cmd->add_option("--cert", args->cert, "Client certificate (PEM, chain may follow)")->group(proto);
  cmd->add_option("--key", args->key, "Client key (default: in --cert)")->group(proto);
  auto* http = "HTTP";
  cmd->add_option("--get", args->get, "Send GET PATH after the handshake")->group(http);
  cmd->add_option("-X,--request", args->method, "HTTP method")->group(http);
  cmd->add_option("-H,--header", args->headers, "Extra header 'Name: value' ('Name:' removes a default)")->group(http);
  cmd->add_option("-d,--data", args->data, "Request body (makes the method POST)")->group(http);
  cmd->add_flag("-I,--head", args->head, "Send HEAD")->group(http);
  cmd->add_option("-o,--output", args->output, "Write the body to FILE (byte-exact, only when complete)")->group(http);
  cmd->add_flag("--fail", args->fail, "Exit 22 when the HTTP status is 400 or more")->group(http);
  cmd->add_option("--max-filesize", args->max_filesize, "Refuse bodies larger than BYTES (exit 63)")->group(http);
  auto* out = "Output";
  cmd->add_flag("--trace", args->trace, "Show every handshake message with its important fields")->group(out);
  cmd->add_option("--keylog", args->keylog, "Append NSS key-log lines to FILE (also SSLKEYLOGFILE)")->group(out);
  cmd->add_flag("--pause", args->pause, "Wait for Enter after TCP connect and after the handshake")->group(out);
  cmd->add_flag("--json", args->json, "Print the report as JSON on standard output")->group(out);
  cmd->add_flag("-q,--quiet", args->quiet, "No report; only errors and the body")->group(out);
  cmd->callback([args] { select([args] { return run(*args); }); });
}

}  // namespace tlslab::cli
