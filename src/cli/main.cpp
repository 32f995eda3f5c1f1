// tlslab — the command table and main. Each subcommand lives in its own file and registers
// itself through a {name, setup} entry; main only dispatches and maps failures to exit codes.
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "base/failure.hpp"
#include "cli/commands.hpp"
#include "cli/docs.hpp"

int main(int argc, char** argv) {
  using namespace tlslab;
  // The process ends right after its one command: skip OpenSSL's atexit cleanup, which frees every
  // provider, algorithm and name table one by one (about 5% of a whole `tlslab connect`, measured
  // with callgrind); the kernel takes the memory back anyway.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  CLI::App app{"tlslab — see, serve, issue and intercept TLS", "tlslab"};
  app.set_version_flag("--version", std::string("tlslab ") + TLSLAB_VERSION);
  app.require_subcommand(0, 1);
  app.footer(cli::exit_codes_help());
  bool man = false, completion = false;
  app.add_flag("--man", man, "Print the manual page (roff)")->group("");
  app.add_flag("--bash-completion", completion, "Print the bash completion script")->group("");
  for (const auto& command : cli::commands()) command.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_code(Kind::Usage);
  }
  if (man || completion) {
    std::fputs((man ? cli::man_page(app, TLSLAB_VERSION) : cli::bash_completion(app)).c_str(), stdout);
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stderr);
    return exit_code(Kind::Usage);
  }
  return cli::run_selected();
}
