#include "cli/commands.hpp"

namespace tlslab::cli {
void setup_connect(CLI::App& app) {
  auto* cmd = app.add_subcommand("connect", "Handshake with a TLS server and report everything about it");
  cmd->callback([] { select([] { return 0; }); });
}
}  // namespace tlslab::cli
