// tlslab connect: options -> net::ConnectOptions -> run_connect -> text or JSON.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <variant>

#include "base/address.hpp"
#include "base/files.hpp"
#include "cli/commands.hpp"
#include "cli/seconds.hpp"
#include "http/auth.hpp"
#include "net/connect.hpp"
#include "pki/names.hpp"
#include "report/connect_render.hpp"
#include "report/text.hpp"

namespace tlslab::cli {
namespace {

struct ConnectArgs {
  std::string target;
  std::vector<std::string> resolve, connect_to, headers, alpn;
  std::string cacert, capath, servername, tls_min, tls_max, ciphers, ciphersuites, groups, sigalgs, cert, key;
  bool insecure = false, no_check_hostname = false, show_ca = false, trace = false, pause = false, json = false,
       quiet = false, fail = false, head = false, http2 = false, http11 = false;
  std::string get, method, output, keylog;
  // The request body's parts, in command-line order: -d, --data-binary and --data-raw values with
  // the option that gave each (curl joins them with '&').
  std::vector<std::pair<std::string, std::string>> data;
  std::string proxy, crlfile;
  bool ipv4 = false, ipv6 = false, cert_status = false;
  std::string connect_timeout, max_time;
  std::uint64_t max_filesize = 0;
};

// read_data returns the bytes of -d/--data-binary @FILE ("@-": standard input). what names the
// option in errors.
std::string read_data(const std::string& name, const std::string& what) {
  if (name == "-") {
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) throw Failure(Kind::Input, fmt::format("{} @-: could not read standard input", what));
    return all;
  }
  return read_file(name, fmt::format("{} file", what), Kind::Input);
}

// request_body joins the body's parts as curl does: -d @FILE reads the file and strips its
// carriage returns and newlines, --data-binary @FILE sends the file's bytes as they are, --data-raw
// takes '@' literally; parts are joined with '&'. nullopt when no part was given.
std::optional<std::string> request_body(const std::vector<std::pair<std::string, std::string>>& parts) {
  if (parts.empty()) return std::nullopt;
  std::string body;
  for (const auto& [option, value] : parts) {
    if (!body.empty()) body += '&';
    if (option == "--data-raw" || value.empty() || value.front() != '@') {
      body += value;
      continue;
    }
    auto bytes = read_data(value.substr(1), option);
    if (option == "--data-binary") {
      body += bytes;
    } else {
      bytes.erase(std::remove_if(bytes.begin(), bytes.end(), [](char c) { return c == '\r' || c == '\n'; }),
                  bytes.end());
      body += bytes;
    }
  }
  return body;
}

// ascii_host returns a host name as DNS, SNI, the Host header and certificates carry it: names
// with non-ASCII characters are IDNA-encoded (UTS #46, as `tlslab ca issue` does: "bücher.de" ->
// "xn--bcher-kva.de"), everything else is returned as it is. unicode, when given, receives the
// name for people when the two forms differ. what names the name's origin in errors.
std::string ascii_host(const std::string& host, const std::string& what, std::string* unicode = nullptr) {
  bool ascii = std::all_of(host.begin(), host.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return host;
  auto name = pki::classify_name(host);
  if (const auto* error = std::get_if<pki::NameError>(&name))
    throw Failure(Kind::Usage, fmt::format("{}: {}", what, error->message()));
  const auto& n = std::get<pki::Name>(name);
  if (n.kind != pki::NameKind::Dns) throw Failure(Kind::Usage, fmt::format("{}: '{}' is not a host name", what, host));
  if (unicode) *unicode = n.unicode;
  return n.value;
}

net::ConnectOptions to_options(const ConnectArgs& a) {
  net::ConnectOptions o;
  o.target = connect::parse_target(a.target);
  o.target.host = ascii_host(o.target.host, "the target", &o.host_unicode);
  for (const auto& r : a.resolve) {
    o.resolves.push_back(connect::parse_resolve(r));
    o.resolves.back().host = ascii_host(o.resolves.back().host, "--resolve " + r);
  }
  for (const auto& c : a.connect_to) {
    auto rule = connect::parse_connect_to(c);
    rule.from_host = ascii_host(rule.from_host, "--connect-to " + c);
    rule.to_host = ascii_host(rule.to_host, "--connect-to " + c);
    o.connect_tos.push_back(rule);
  }
  auto& t = o.tls;
  t.servername = a.servername.empty() ? o.target.host : ascii_host(a.servername, "--servername");
  t.verify_name = t.servername;
  if (is_ip_literal(t.servername)) t.servername.clear();  // RFC 6066: no IP literals in SNI
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
    if (const char* env = std::getenv("SSLKEYLOGFILE"); env && *env)
      t.keylog_file = env, t.keylog_variable = "SSLKEYLOGFILE";
  if (!a.connect_timeout.empty())
    if (double s = parse_seconds(a.connect_timeout, "--connect-timeout", "the default"); s > 0) o.connect_timeout = s;
  if (!a.max_time.empty())
    if (double s = parse_seconds(a.max_time, "--max-time", "no limit"); s > 0) o.max_time = s;
  if (a.ipv4 && a.ipv6) throw Failure(Kind::Usage, "-4 and -6 cannot be used together");
  o.ip_family = a.ipv4 ? net::IpFamily::V4 : a.ipv6 ? net::IpFamily::V6 : net::IpFamily::Any;
  if (!a.proxy.empty()) {
    o.proxy = connect::parse_proxy(a.proxy);
    o.proxy->host = ascii_host(o.proxy->host, "-x " + a.proxy);
  }
  o.user_agent = std::string("tlslab/") + TLSLAB_VERSION;
  t.crlfile = a.crlfile;
  t.cert_status = a.cert_status;
  o.trace = a.trace;
  o.show_ca = a.show_ca;
  std::string path = !a.get.empty() ? a.get : o.target.path;
  auto body = request_body(a.data);
  bool wants_request = !path.empty() || body || !a.method.empty() || a.head || !a.output.empty();
  if (wants_request) {
    http::RequestSpec req;
    req.target = path.empty() ? "/" : path;
    if (req.target.front() != '/') req.target = "/" + req.target;
    req.method = !a.method.empty() ? a.method : a.head ? "HEAD" : body ? "POST" : "GET";
    req.host = connect::host_header(o.target);
    req.user_agent = o.user_agent;
    if (body) {
      req.body = *body;
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    // A URL's user:password@ is sent as Basic authentication, as curl sends it; -H Authorization
    // replaces it.
    if (o.target.user)
      req.headers.emplace_back("Authorization", http::basic_credentials(*o.target.user, o.target.password));
    for (const auto& h : a.headers) req.headers.push_back(http::parse_header_option(h));
    o.request = req;
    o.head_request = req.method == "HEAD";
  }
  // ALPN as curl offers it: with a request h2 first and HTTP/1.1 to fall back on (--http2 is the
  // default), only HTTP/1.1 with --http1.1; --alpn replaces the list. A plain handshake offers
  // nothing unless asked.
  if (!t.alpn.empty() && (a.http2 || a.http11))
    throw Failure(Kind::Usage, fmt::format("--alpn and {} cannot be used together", a.http2 ? "--http2" : "--http1.1"));
  if (t.alpn.empty() && (wants_request || a.http2 || a.http11))
    t.alpn = a.http11 ? std::vector<std::string>{"http/1.1"} : std::vector<std::string>{"h2", "http/1.1"};
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
  // On a terminal the Connection section appears line by line while connecting (a server that
  // never answers shows how far it got); files and pipes get the report in one piece.
  bool progressive = !a.json && !a.quiet && ::isatty(fileno(stream)) == 1;
  std::size_t progress_shown = 0;  // bytes of connect_progress()'s text already printed
  if (progressive) {
    options.on_progress = [&](const connect::ConnectReport& r) {
      auto text = report::connect_progress(r, color);
      fmt::print(stream, "{}", text.substr(std::min(progress_shown, text.size())));
      std::fflush(stream);
      progress_shown = text.size();
    };
  }
  if (!a.json && !a.quiet) {
    options.on_handshake = [&](const connect::ConnectReport& r) {
      if (progress_shown) fmt::print(stream, "\n");
      fmt::print(stream, "{}\n", report::connect_text(r, color, report::Part::Handshake, progress_shown > 0));
      std::fflush(stream);
      head_printed = true;
    };
  }
  options.interruptible = true;
  auto report = net::run_connect(options);
  if (a.json) {
    fmt::print("{}\n", report::connect_json(report).dump(2));
  } else if (!a.quiet) {
    std::fflush(stdout);
    if (body_on_stdout && report.response && report.response->body_bytes) fmt::print(stream, "\n");
    if (progress_shown && !head_printed) fmt::print(stream, "\n");
    fmt::print(
        stream, "{}",
        report::connect_text(report, color, head_printed ? report::Part::Rest : report::Part::All, progress_shown > 0));
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
      "HTTP: a request offers ALPN h2,http/1.1 as curl does and speaks HTTP/2 when the server picks h2\n"
      "(--http1.1 offers HTTP/1.1 only); the report says which version was used.\n\n"
      "The report goes to standard output, or to standard error when a response body goes to standard\n"
      "output (no -o). With --json, standard output holds only the JSON report. On a terminal the\n"
      "connection lines appear as they are known.\n\n"
      "Time limits: connection setup (resolving, TCP connect and the TLS handshake) is given 300 seconds\n"
      "unless --connect-timeout says otherwise, as curl does; there is no overall limit unless --max-time\n"
      "sets one. A timeout names the step it interrupted (exit 28). Ctrl-C stops the connection, prints\n"
      "what was learnt until then and exits 130.\n\n"
      "International host names are IDNA-encoded (bücher.de -> xn--bcher-kva.de) for DNS, SNI, the\n"
      "Host header and the certificate check; the report shows both forms.\n\n"
      "Trust: without --cacert/--capath, the system store /etc/ssl/certs, replaced by SSL_CERT_DIR\n"
      "(directories separated by ':') and extended by SSL_CERT_FILE, as OpenSSL and curl read them.");
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
  cmd->add_option("--crlfile", args->crlfile,
                  "Check every certificate of the chain against the CRLs in FILE (PEM); revoked: exit 60")
      ->type_name("FILE")
      ->group(verify);
  cmd->add_flag("--cert-status", args->cert_status,
                "Require a good stapled OCSP response for the server's certificate (exit 91 otherwise)")
      ->group(verify);
  auto* route = "Routing";
  cmd->add_option("--resolve", args->resolve, "HOST:PORT:ADDR — use ADDR for HOST:PORT (no /etc/hosts edit)")
      ->group(route);
  cmd->add_option("--connect-to", args->connect_to, "HOST1:PORT1:HOST2:PORT2 — connect there instead")->group(route);
  cmd->add_option("-x,--proxy", args->proxy,
                  "Go through this HTTP proxy with CONNECT: [http://][USER:PASSWORD@]HOST[:PORT], port 1080 by default")
      ->option_text("URL")
      ->group(route);
  cmd->add_flag("-4,--ipv4", args->ipv4, "Use IPv4 addresses only")->group(route);
  cmd->add_flag("-6,--ipv6", args->ipv6, "Use IPv6 addresses only")->group(route);
  cmd->add_option("--connect-timeout", args->connect_timeout,
                  "Seconds allowed to resolve, connect and finish the TLS handshake (default 300, as curl)")
      ->type_name("SECONDS")
      ->group(route);
  cmd->add_option("--max-time", args->max_time, "Seconds allowed for everything (default: no limit)")
      ->type_name("SECONDS")
      ->group(route);
  auto* proto = "Protocol";
  cmd->add_option("--tls-min", args->tls_min, "Lowest TLS version: 1.0, 1.1, 1.2, 1.3")->group(proto);
  cmd->add_option("--tls-max", args->tls_max, "Highest TLS version")->group(proto);
  cmd->add_option("--ciphers", args->ciphers, "TLS 1.2 and lower cipher list (OpenSSL syntax)")->group(proto);
  cmd->add_option("--ciphersuites", args->ciphersuites, "TLS 1.3 cipher suites")->group(proto);
  cmd->add_option("--groups", args->groups, "Key-exchange groups, e.g. X25519:P-256")->group(proto);
  cmd->add_option("--sigalgs", args->sigalgs, "Signature algorithms, e.g. ECDSA+SHA256:RSA-PSS+SHA256")->group(proto);
  cmd->add_option("--alpn", args->alpn, "ALPN protocols to offer (comma separated or repeated)")->group(proto);
  auto* http2 =
      cmd->add_flag("--http2", args->http2, "Offer HTTP/2 and HTTP/1.1 (ALPN h2,http/1.1; the default with a request)")
          ->group(proto);
  cmd->add_flag("--http1.1", args->http11, "Offer HTTP/1.1 only (ALPN http/1.1)")->group(proto)->excludes(http2);
  cmd->add_option("--cert", args->cert, "Client certificate (PEM, chain may follow)")->group(proto);
  cmd->add_option("--key", args->key, "Client key (default: in --cert)")->group(proto);
  auto* http = "HTTP";
  cmd->add_option("--get", args->get, "Send GET PATH after the handshake")->group(http);
  cmd->add_option("-X,--request", args->method, "HTTP method")->group(http);
  cmd->add_option("-H,--header", args->headers, "Extra header 'Name: value' ('Name:' removes a default)")->group(http);
  // The body's parts keep their command-line order across the three options (curl joins them with
  // '&'): CLI11 stores each option's values apart, so they are collected in parse order.
  auto* data = cmd->add_option("-d,--data",
                               "Request body (makes the method POST); @FILE reads FILE without its "
                               "newlines, @- standard input; repeated: joined with '&'")
                   ->option_text("DATA")
                   ->take_all()
                   ->group(http);
  auto* data_binary = cmd->add_option("--data-binary", "Request body; @FILE sends FILE's bytes as they are")
                          ->option_text("DATA")
                          ->take_all()
                          ->group(http);
  auto* data_raw =
      cmd->add_option("--data-raw", "Request body, '@' taken literally")->option_text("DATA")->take_all()->group(http);
  cmd->add_flag("-I,--head", args->head, "Send HEAD")->group(http);
  cmd->add_option("-o,--output", args->output, "Write the body to FILE (byte-exact, only when complete)")->group(http);
  cmd->add_flag("--fail", args->fail, "Exit 22 when the HTTP status is 400 or more")->group(http);
  cmd->add_option("--max-filesize", args->max_filesize, "Refuse bodies larger than BYTES (exit 63)")->group(http);
  auto* out = "Output";
  cmd->add_flag("--trace", args->trace,
                "Show every handshake message with its important fields, and HTTP/2 frames after the handshake")
      ->group(out);
  cmd->add_option("--keylog", args->keylog, "Append NSS key-log lines to FILE (also SSLKEYLOGFILE)")->group(out);
  cmd->add_flag("--pause", args->pause, "Wait for Enter after TCP connect and after the handshake")->group(out);
  cmd->add_flag("--json", args->json, "Print the report as JSON on standard output")->group(out);
  cmd->add_flag("-q,--quiet", args->quiet, "No report; only errors and the body")->group(out);
  cmd->callback([args, cmd, data, data_binary, data_raw] {
    std::map<const CLI::Option*, std::size_t> next;
    for (const auto* opt : cmd->parse_order()) {
      if (opt != data && opt != data_binary && opt != data_raw) continue;
      std::size_t i = next[opt]++;
      if (i < opt->results().size()) args->data.emplace_back(opt->get_name(), opt->results()[i]);
    }
    select([args] { return run(*args); });
  });
}

}  // namespace tlslab::cli
