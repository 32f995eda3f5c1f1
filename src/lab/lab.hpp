// lab::run_lab — the whole TLS lab on one machine: each task runs the real tlslab commands (as
// child processes, exactly as a user would type them), narrates why, checks what came back and
// says PASS or FAIL.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::lab {

struct LabOptions {
  std::string dir;           // working folder ("" = a new temporary one, removed unless keep)
  std::string task = "all";  // 1a 1b 1c 1d 2a 2b 2c 3 all
  bool interactive = false;  // wait for Enter between tasks
  bool keep = false;         // leave the servers running at the end
  bool color = false;
  bool narrate = true;  // false with --json
};

struct StepResult {
  std::string task;  // "setup", "1a", ...
  std::string title;
  std::string command;  // the equivalent command line
  bool pass = false;
  std::string observed;  // what was seen, one or more lines
};

struct LabReport {
  std::string dir;
  std::vector<StepResult> steps;
  std::vector<std::string> kept;  // with --keep: what is still running and how to use it
  [[nodiscard]] bool ok() const;
};

// valid_task tells whether name is one of the task names.
[[nodiscard]] bool valid_task(const std::string& name);

// run_lab runs the lab; narration goes to print as it happens.
[[nodiscard]] LabReport run_lab(const LabOptions& options, const std::function<void(std::string_view)>& print);

}  // namespace tlslab::lab
