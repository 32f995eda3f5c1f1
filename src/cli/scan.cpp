// tlslab scan: options -> net::ScanOptions -> run_scan per target -> text, JSON, or JSON lines.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "cli/commands.hpp"
#include "cli/seconds.hpp"
#include "net/scan.hpp"
#include "report/scan_render.hpp"
#include "report/text.hpp"

namespace tlslab::cli {
namespace {

struct ScanArgs {
  std::string target, targets_file, servername, cacert, capath;
  std::vector<std::string> resolve;
  int concurrency = 8, delay_ms = 0;
  std::string timeout = "5";
  bool json = false, quiet = false;
};

std::vector<std::string> read_targets(const std::string& path) {
  std::istringstream in(read_file(path, "the targets file", Kind::Input));  // says why it cannot
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    auto end = line.find_last_not_of(" \t\r");
    out.push_back(line.substr(start, end - start + 1));
  }
  if (out.empty()) throw Failure(Kind::Input, fmt::format("the targets file {} lists no target", path));
  return out;
}

int run(const ScanArgs& a) {
  if (a.target.empty() == a.targets_file.empty())
    throw Failure(Kind::Usage, "give one target, or --targets FILE (not both)");
  if (a.concurrency < 1 || a.concurrency > 64) throw Failure(Kind::Usage, "--concurrency must be 1 to 64");
  if (a.delay_ms < 0) throw Failure(Kind::Usage, "--delay must be >= 0");
  double timeout = parse_seconds(a.timeout, "--timeout", "");
  auto targets = a.target.empty() ? read_targets(a.targets_file) : std::vector<std::string>{a.target};
  bool many = targets.size() > 1;
  bool tty = ::isatty(STDERR_FILENO) == 1 && !a.quiet;
  int status = 0;
  for (const auto& text : targets) {
    net::ScanOptions o;
    o.target = connect::parse_target(text);
    for (const auto& r : a.resolve) o.resolves.push_back(connect::parse_resolve(r));
    o.servername = a.servername;
    if (!a.cacert.empty()) o.cafile = a.cacert;
    if (!a.capath.empty()) o.capath = a.capath;
    o.concurrency = a.concurrency;
    o.delay_ms = a.delay_ms;
    o.timeout = timeout;
    if (tty)
      o.progress = [&text](int connections, int done, int groups) {
        int width = groups > 0 ? done * 30 / groups : 0;
        fmt::print(stderr, "\rscanning {} [{:<30}] {}/{} probe groups, {} connections", text, std::string(width, '#'),
                   done, groups, connections);
      };
    try {
      auto report = net::run_scan(o);
      if (tty) fmt::print(stderr, "\r\033[K");
      auto now = pki::now_epoch();
      if (a.json)
        fmt::print("{}\n", report::scan_json(report, now).dump(many ? -1 : 2));
      else
        fmt::print("{}{}", report::scan_text(report, report::use_color(STDOUT_FILENO), now), many ? "\n" : "");
      std::fflush(stdout);
    } catch (const Failure& f) {
      if (tty) fmt::print(stderr, "\r\033[K");
      if (f.kind() == Kind::Usage) throw;
      // With --json a target that cannot be scanned is a result too, so a program reading standard
      // output learns why; the message also goes to standard error.
      if (a.json) {
        nlohmann::json failed{{"target", text}, {"error", f.what()}, {"exit_code", exit_code(f.kind())}};
        fmt::print("{}\n", failed.dump(many ? -1 : 2));
        std::fflush(stdout);
      }
      if (!many) throw;
      // Many targets: one unreachable host is a line in the output, not the end of the run.
      fmt::print(stderr, "tlslab: {}: {}\n", text, f.what());
      status = exit_code(f.kind());
    }
  }
  return status;
}

}  // namespace

void setup_scan(CLI::App& app) {
  auto args = std::make_shared<ScanArgs>();
  auto* cmd = app.add_subcommand("scan", "Find what a TLS server supports and what is wrong with it, and grade it");
  cmd->footer(
      "Examples:\n"
      "  tlslab scan 127.0.0.1:4433\n"
      "  tlslab scan www.bank32.com:4433 --resolve www.bank32.com:4433:127.0.0.1 --cacert ca.pem\n"
      "  tlslab scan --targets hosts.txt --json > results.jsonl\n\n"
      "Exit status 0 when the server was scanned, whatever its grade; 6/7/28 when it cannot be reached\n"
      "or says nothing; 35 when the port does not speak TLS (plain HTTP, say). With --json such a target\n"
      "is still a result: {\"target\", \"error\", \"exit_code\"}.\n"
      "The rubric behind the grade is in docs/scan.md.");
  cmd->add_option("target", args->target, "HOST[:PORT] (default port 443)");
  cmd->add_option("--targets", args->targets_file, "Scan every HOST[:PORT] listed in FILE (one a line; # comments)");
  cmd->add_option("--resolve", args->resolve, "HOST:PORT:ADDR — use ADDR for HOST:PORT");
  cmd->add_option("--servername", args->servername, "SNI to send and name to check (default: the target host)");
  cmd->add_option("--cacert", args->cacert, "Trust the CA certificates in FILE instead of the system store");
  cmd->add_option("--capath", args->capath, "Trust the hashed CA directory DIR");
  cmd->add_option("--concurrency", args->concurrency, "Connections in flight at once (default 8)");
  cmd->add_option("--delay", args->delay_ms, "Milliseconds to wait before each connection (default 0)");
  cmd->add_option("--timeout", args->timeout, "Seconds allowed per connection (default 5)")->type_name("SECONDS");
  cmd->add_flag("--json", args->json, "JSON report (one line per target with --targets)");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  cmd->callback([args] { select([args] { return run(*args); }); });
}

}  // namespace tlslab::cli
