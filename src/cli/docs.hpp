// Documentation generated from the command-line definitions: `tlslab --man`, `--bash-completion`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tlslab::cli {

// man_page renders a man(7) page: every command and subcommand as its --help shows it.
[[nodiscard]] std::string man_page(const CLI::App& app, const std::string& version);

// bash_completion renders a bash completion script for the commands and their options.
[[nodiscard]] std::string bash_completion(const CLI::App& app);

}  // namespace tlslab::cli
