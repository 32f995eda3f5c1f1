// How the command line speaks to people: the --help layout (no parser notation), "tlslab help CMD",
// and command-line mistakes turned into one line that names the option, says what it expects and,
// for a near miss, what was probably meant.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tlslab::cli {

// HelpFormatter renders --help as people read it: "-k, --insecure", "--days N", "TARGET";
// defaults, repetition and required options said in words in the description column, never as
// CLI11's "TEXT=x", "{false}", "Needs:" or "REQUIRED".
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter();
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;
  std::string make_option_usage(const CLI::Option* opt) const override;
};

// group_commands lists every subcommand under "Commands:" in --help (CLI11 says "Subcommands").
void group_commands(CLI::App& app);

// metavar returns what an option's value is called in help and messages: FILE, DIR, N, HOST:PORT...
[[nodiscard]] std::string metavar(const CLI::Option& opt);

// help_request turns "help [CMD...]" into "CMD... --help"; any other args come back unchanged.
// An unknown command after "help" is left in place so the parser reports it.
[[nodiscard]] std::vector<std::string> help_request(const CLI::App& app, std::vector<std::string> args);

// usage_error returns the one line (without the newline) that explains why args (without the
// program name) did not parse: "tlslab connect: unknown option --cacrt; did you mean --cacert?".
[[nodiscard]] std::string usage_error(const CLI::App& app, const std::vector<std::string>& args,
                                      const CLI::ParseError& error);

// suggestion returns the candidate closest to word when it is close enough to be a typo
// (a small edit distance, or a unique prefix), else "".
[[nodiscard]] std::string suggestion(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace tlslab::cli
