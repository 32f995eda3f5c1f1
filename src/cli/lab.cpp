// tlslab lab: the whole TLS lab, end to end, on this machine.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/failure.hpp"
#include "cli/commands.hpp"
#include "lab/lab.hpp"
#include "report/text.hpp"

namespace tlslab::cli {
namespace {

struct LabArgs {
  lab::LabOptions options;
  std::string task = "all";
  bool json = false;
};

int run(LabArgs& a) {
  if (a.task != "all") {
    a.options.only = lab::parse_task(a.task);
    if (!a.options.only)
      throw Failure(Kind::Usage, fmt::format("--task {}: use 1a, 1b, 1c, 1d, 2a, 2b, 2c, 3 or all", a.task));
  }
  if (a.json && a.options.interactive) throw Failure(Kind::Usage, "--json and --interactive cannot be used together");
  a.options.color = !a.json && report::use_color(STDOUT_FILENO);
  a.options.narrate = !a.json;
  auto report = lab::run_lab(a.options, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  if (a.json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : report.steps)
      steps.push_back({{"task", lab::to_string(s.task)},
                       {"title", s.title},
                       {"command", s.command},
                       {"pass", s.pass},
                       {"observed", s.observed}});
    fmt::print(
        "{}\n",
        nlohmann::json{{"ok", report.ok()}, {"dir", report.dir}, {"steps", steps}, {"kept", report.kept}}.dump(2));
  }
  return report.ok() ? 0 : 1;
}

}  // namespace

void setup_lab(CLI::App& app) {
  auto a = std::make_shared<LabArgs>();
  auto* cmd = app.add_subcommand("lab", "Run the whole TLS lab locally, narrated, each step PASS or FAIL");
  cmd->footer(
      "Tasks: 1a handshake, 1b trusted CAs, 1c hostname check, 1d sending and getting data,\n"
      "       2a-2c one server with several names, 3 a man in the middle with a compromised CA.\n"
      "Everything runs on 127.0.0.1; nothing outside is contacted and /etc/hosts is not changed.\n"
      "Its servers end with it, also when it is interrupted (Ctrl-C, SIGTERM), unless --keep.\n"
      "Exit status 0 only if every step passed.");
  cmd->add_option("--dir", a->options.dir,
                  "Working folder, kept (default: a temporary one, removed when the lab ends, even if interrupted)");
  cmd->add_option("--task", a->task, "1a, 1b, 1c, 1d, 2a, 2b, 2c, 3 or all (default)");
  cmd->add_flag("--interactive", a->options.interactive, "Wait for Enter before each task");
  cmd->add_flag("--keep", a->options.keep, "Leave the servers running and say how to open them in a browser");
  cmd->add_flag("--json", a->json, "Print the results as JSON");
  cmd->callback([a] { select([a] { return run(*a); }); });
}

}  // namespace tlslab::cli
