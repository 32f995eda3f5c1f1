// lab::run_lab — the whole TLS lab on one machine: each task runs the real tlslab commands (as
// child processes, exactly as a user would type them), narrates why, checks what came back and
// says PASS or FAIL.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::lab {

// Task is one part of the lab: the setup, then the tasks (2 is the heading of 2a-2c).
enum class Task { Setup, T1a, T1b, T1c, T1d, T2, T2a, T2b, T2c, T3 };

// to_string names a task as the output does: "setup", "1a" ... "2", "2a" ... "3".
[[nodiscard]] std::string_view to_string(Task task);

// parse_task reads a task one can ask for ("1a", "1b", "1c", "1d", "2a", "2b", "2c", "3"); none
// for any other name.
[[nodiscard]] std::optional<Task> parse_task(std::string_view name);

struct LabOptions {
  std::string dir;           // working folder ("" = a new temporary one, removed unless keep)
  std::optional<Task> only;  // run the setup and this task; none: all of them
  bool interactive = false;  // wait for Enter between tasks
  bool keep = false;         // leave the servers running at the end
  bool color = false;
  bool narrate = true;  // false with --json
};

struct StepResult {
  Task task = Task::Setup;
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

// run_lab runs the lab; narration goes to print as it happens.
[[nodiscard]] LabReport run_lab(const LabOptions& options, const std::function<void(std::string_view)>& print);

}  // namespace tlslab::lab
