// The subcommand table: each command adds its CLI11 subcommand and sets the action run_selected()
// will call after parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace tlslab::cli {

struct Command {
  const char* name;
  void (*setup)(CLI::App& app);
};

// commands lists every subcommand, in --help order.
const std::vector<Command>& commands();

// select records the action of the subcommand that was parsed (called from a CLI11 callback).
void select(std::function<int()> action);

// run_selected runs it, printing a Failure as one "tlslab: ..." line on stderr; returns the exit code.
int run_selected();

// exit_codes_help is the exit code table shown in --help.
std::string exit_codes_help();

// Subcommand setups.
void setup_connect(CLI::App& app);
void setup_serve(CLI::App& app);
void setup_ca(CLI::App& app);
void setup_cert(CLI::App& app);
void setup_proxy(CLI::App& app);
void setup_lab(CLI::App& app);
void setup_scan(CLI::App& app);

}  // namespace tlslab::cli
