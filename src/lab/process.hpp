// lab processes: running tlslab's own subcommands as child processes, as a user would type them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tlslab::lab {

struct Outcome {
  int exit_code = -1;  // -1: killed (timeout)
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Children die with the lab: each is started with PR_SET_PDEATHSIG (SIGTERM when the lab ends,
// however it ends, even by SIGKILL) — except servers started to outlive it (--keep) — and while an
// Interruption is in place, SIGINT, SIGTERM or SIGHUP sends SIGTERM to every child still running
// before the lab itself ends.

// run starts argv (argv[0] is a path), feeds it no input, and collects its output until it exits
// or timeout passes (then it is killed).
[[nodiscard]] Outcome run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Background is a long-running child (a server); destroying it stops it (SIGTERM, then SIGKILL).
class Background {
 public:
  Background() = default;
  Background(Background&& other) noexcept;
  Background& operator=(Background&& other) noexcept;
  ~Background();

  // start launches argv with stdout and stderr going to log_file (so it can outlive us with
  // --keep, when may_outlive), and waits until a line of it contains `ready_marker` (returned), or it exits, or
  // timeout passes (nullopt, after stop()).
  std::optional<std::string> start(const std::vector<std::string>& argv, const std::string& log_file,
                                   const std::string& ready_marker, std::chrono::milliseconds timeout,
                                   bool may_outlive = false);
  // stop sends SIGTERM and waits (SIGKILL after a grace period); returns everything it printed.
  std::string stop();
  // output returns what it printed so far (stdout and stderr interleaved).
  std::string output();
  // release leaves the process running (--keep) and forgets it.
  pid_t release();
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// Interruption is the lab's handling of SIGINT, SIGTERM and SIGHUP while it lives: every child
// still running gets SIGTERM, `message` goes to standard error, and the lab ends by the signal
// (as if it had no handler). The previous handlers come back when it is destroyed.
class Interruption {
 public:
  explicit Interruption(std::string message);
  ~Interruption();
  Interruption(const Interruption&) = delete;
  Interruption& operator=(const Interruption&) = delete;
};

// Janitor removes a folder once the lab has ended, however it ended (a signal, SIGKILL, a crash):
// a small child process waits for the end of a pipe only the lab holds. The lab's own exit paths
// need do nothing more. Without one the folder stays.
class Janitor {
 public:
  explicit Janitor(const std::string& folder);
  ~Janitor();  // closes the pipe: the folder goes now
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;
  // finish closes the pipe and returns once the folder is gone.
  void finish();

 private:
  pid_t pid_ = -1;
  int pipe_ = -1;
};

// self_path returns the path of the running tlslab binary.
[[nodiscard]] std::string self_path();

// shell_quote renders argv as a command a person can paste into a shell.
[[nodiscard]] std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace tlslab::lab
