// tlslab cert show — the certificate view `connect` prints, for files: PEM (one or more
// certificates) or DER, or standard input with "-".
#include <fmt/format.h>

#include <memory>

#include "base/files.hpp"
#include "cli/commands.hpp"
#include "pki/cert_info.hpp"
#include "report/cert_render.hpp"
#include "report/text.hpp"

namespace tlslab::cli {
namespace {

struct ShowOptions {
  std::string file;
  bool json = false;
};

int run_show(const ShowOptions& o) {
  bool stdin_input = o.file == "-";
  auto source = stdin_input ? std::string("standard input") : o.file;
  auto data = read_file(stdin_input ? "/dev/stdin" : o.file, "certificate file", Kind::Input);
  auto certs = pki::describe_certificates(data, source, Kind::Input);
  auto now = pki::now_epoch();
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& cert : certs) list.push_back(report::cert_json(cert, now));
    fmt::print("{}\n", nlohmann::json{{"source", source}, {"certificates", list}}.dump(2));
    return 0;
  }
  report::Text t(report::use_color(1));
  for (size_t i = 0; i < certs.size(); ++i) {
    auto title = certs.size() == 1 ? fmt::format("Certificate in {}", source)
                                   : fmt::format("Certificate {} of {} in {}", i + 1, certs.size(), source);
    t.heading(title);
    report::add_cert_rows(t, certs[i], now);
  }
  fmt::print("{}", t.str());
  return 0;
}

void setup_show(CLI::App& cert) {
  auto o = std::make_shared<ShowOptions>();
  auto* cmd = cert.add_subcommand("show", "Show certificates from a file: PEM (one or several) or DER");
  cmd->add_option("file", o->file, "the file; - reads standard input")->required();
  cmd->add_flag("--json", o->json, "print JSON (see docs/json.md)");
  cmd->callback([o] { select([o] { return run_show(*o); }); });
}

}  // namespace

void setup_cert(CLI::App& app) {
  auto* cert = app.add_subcommand("cert", "Look at certificate files");
  cert->require_subcommand(1);
  setup_show(*cert);
}

}  // namespace tlslab::cli
