// tlslab — the command table and main. Each subcommand lives in its own file and registers
// itself through a {name, setup} entry; main only dispatches and maps failures to exit codes.
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "base/failure.hpp"
#include "cli/commands.hpp"
#include "cli/docs.hpp"
#include "cli/usage.hpp"

int main(int argc, char** argv) {
  using namespace tlslab;
  // The process ends right after its one command: skip OpenSSL's atexit cleanup, which frees every
  // provider, algorithm and name table one by one (about 5% of a whole `tlslab connect`, measured
  // with callgrind); the kernel takes the memory back anyway.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  CLI::App app{"tlslab — see, serve, issue and intercept TLS", "tlslab"};
  app.formatter(std::make_shared<cli::HelpFormatter>());  // subcommands inherit it when they are added
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.set_version_flag("--version", std::string("tlslab ") + TLSLAB_VERSION, "Print the version and exit");
  app.require_subcommand(0, 1);
  bool man = false, completion = false;
  app.add_flag("--man", man, "Print the manual page (roff)");
  app.add_flag("--bash-completion", completion, "Print the bash completion script");
  for (const auto& command : cli::commands()) command.setup(app);
  cli::group_commands(app);
  // The exit codes are said once, here and in the man page: set after the commands were added, so
  // they do not inherit it.
  app.footer(cli::exit_codes_help());
  std::vector<std::string> args(argv + 1, argv + argc);
  args = cli::help_request(app, args);
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", cli::usage_error(app, args, e).c_str());
    return exit_code(Kind::Usage);
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
