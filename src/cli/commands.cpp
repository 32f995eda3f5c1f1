#include "cli/commands.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "base/failure.hpp"

namespace tlslab::cli {
namespace {
std::function<int()>& selected() {
  static std::function<int()> action;
  return action;
}
}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"connect", setup_connect}, {"serve", setup_serve}, {"ca", setup_ca},     {"cert", setup_cert},
      {"proxy", setup_proxy},     {"lab", setup_lab},     {"scan", setup_scan},
  };
  return table;
}

void select(std::function<int()> action) { selected() = std::move(action); }

int run_selected() {
  if (!selected()) return exit_code(Kind::Usage);
  try {
    return selected()();
  } catch (const Failure& f) {
    std::fflush(stdout);
    fmt::print(stderr, "tlslab: {}\n", f.what());
    return exit_code(f.kind());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "tlslab: internal error: {}\n", e.what());
    return exit_code(Kind::Generic);
  }
}

std::string exit_codes_help() {
  return "Exit codes:\n"
         "   0  success\n"
         "   1  other failure\n"
         "   2  usage error\n"
         "   3  malformed URL\n"
         "   5  could not resolve the proxy (-x)\n"
         "   6  could not resolve host\n"
         "   7  could not connect; or a listen address is in use\n"
         "  22  HTTP status >= 400 (with --fail)\n"
         "  23  could not write an output file\n"
         "  26  could not read or parse an input file\n"
         "  28  timeout (--connect-timeout, --max-time)\n"
         "  35  TLS handshake failed\n"
         "  56  failure receiving data (peer closed, garbage)\n"
         "  58  problem with the client certificate or key\n"
         "  60  certificate verification or hostname check failed\n"
         "  63  response larger than --max-filesize\n"
         "  73  refusing to overwrite an existing file\n"
         "  77  problem with the CA file or directory\n"
         "  82  could not read or parse the CRL file (--crlfile)\n"
         "  91  no good stapled OCSP response (--cert-status)\n"
         " 130  interrupted (Ctrl-C); connect reports what it learnt first\n";
}

}  // namespace tlslab::cli
