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
  // --keep), and waits until a line of it contains `ready_marker` (returned), or it exits, or
  // timeout passes (nullopt, after stop()).
  std::optional<std::string> start(const std::vector<std::string>& argv, const std::string& log_file,
                                   const std::string& ready_marker, std::chrono::milliseconds timeout);
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

// self_path returns the path of the running tlslab binary.
[[nodiscard]] std::string self_path();

// shell_quote renders argv as a command a person can paste into a shell.
[[nodiscard]] std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace tlslab::lab
